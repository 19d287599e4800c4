// tern-chat: a terminal client on libtern. Lines in, events out, so it works both at a terminal
// and in a pipe (scripts and tests drive it the same way).
//
//   tern-chat --endpoint tcp://127.0.0.1:7400 --token "$TOKEN"
//   tern-chat --key data/keys/dev.key --kid dev --tenant 1 --user 1 --device 1
//
// Input: a command (below) or text, sent to the open conversation. Output: one line per event,
// starting with a word that says what it is (state, msg, sent, receipt, reads, who, presence,
// typing, conv, member, error). At the end of input it waits for unacknowledged sends, then exits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <tern/client/client.hpp>
#include <tern/tooling/tokens.hpp>

namespace tc = tern::client;
using namespace std::chrono_literals;

namespace {

constexpr const char* help_text = R"(commands:
  /list                       conversations, with unread counts
  /open USER                  open the direct chat with USER
  /opengroup ID               open group ID
  /group NAME USER,USER,...   create a group with these members, and open it
  /add USER,...  /remove USER,...  /rename NAME  /leave  /role USER member|admin|owner
  /info                       the open group's members
  /history [N]                the last N events of the open conversation (default 20)
  /read                       mark the open conversation read
  /who SEQ                    who read message SEQ ("read by 3 of 5")
  /recall SEQ  /edit SEQ TEXT
  /sub USER,...               follow their presence
  /status online|away|dnd [TEXT]
  /typing                     tell the others you are typing
  /mute all|mentions|nothing [MINUTES]   which messages of the open conversation notify you
  /dnd MINUTES                do-not-disturb for that long (0: off)
  /urgent REASON | TEXT       send TEXT urgent (past mute and quiet hours), if your company lets you
  /ack [SEQ]                  acknowledge urgent message SEQ (default: the last one you received here)
  /acks SEQ                   who acknowledged your urgent message SEQ, and who not yet
  /schedule MINUTES TEXT      send TEXT to the open conversation in MINUTES (it takes its place then)
  /schedule start [USER] TEXT send it at USER's next work start (default: the direct chat's peer)
  /scheduled                  your scheduled messages, the earliest first
  /reschedule ID TEXT         change a scheduled message's text   /unschedule ID  cancel it
  /help  /quit
anything else is sent to the open conversation)";

std::string conv_name(const tc::conv_id& c) {
    if (c.type == tc::conv_type::group) return "g:" + std::to_string(c.id);
    return "d:" + std::to_string(c.id) + "-" + std::to_string(c.peer);
}

const char* status_name(tc::presence_status s) {
    switch (s) {
        case tc::presence_status::online:
            return "online";
        case tc::presence_status::away:
            return "away";
        case tc::presence_status::do_not_disturb:
            return "dnd";
        default:
            return "offline";
    }
}

const char* level_name(tc::notify_level l) {
    switch (l) {
        case tc::notify_level::mentions:
            return "mentions";
        case tc::notify_level::nothing:
            return "nothing";
        default:
            return "all";
    }
}

const char* state_name(tc::connection_state s) {
    switch (s) {
        case tc::connection_state::connecting:
            return "connecting";
        case tc::connection_state::connected:
            return "connected";
        case tc::connection_state::disconnected:
            return "disconnected";
        default:
            return "stopped";
    }
}

std::vector<tc::user_id> parse_users(const std::string& list) {
    std::vector<tc::user_id> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) out.push_back(std::stoull(item));
    }
    return out;
}

std::string describe(const tc::event& e) {
    switch (e.kind) {
        case tc::event_kind::message:
            return e.content.custom_type.empty() ? e.content.text
                                                 : "[" + e.content.custom_type + "]";
        case tc::event_kind::recall:
            return "(recalled #" + std::to_string(e.target_seq) + ")";
        case tc::event_kind::edit:
            return "(edited #" + std::to_string(e.target_seq) + ") " + e.content.text;
        case tc::event_kind::group_created:
            return "(created group \"" + e.name + "\")";
        case tc::event_kind::members_added:
        case tc::event_kind::members_removed: {
            std::string users;
            for (auto u : e.users) users += (users.empty() ? "" : ",") + std::to_string(u);
            return std::string(e.kind == tc::event_kind::members_added ? "(added " : "(removed ") +
                   users + ")";
        }
        case tc::event_kind::member_left:
            return "(left)";
        case tc::event_kind::renamed:
            return "(renamed to \"" + e.name + "\")";
        case tc::event_kind::role_changed:
            return "(role of " + std::to_string(e.users.empty() ? 0 : e.users[0]) + " changed)";
        case tc::event_kind::history_set:
            return e.whole_history ? "(new members now read the whole history)"
                                   : "(new members now read from when they join)";
    }
    return {};
}

// Prints what the SDK reports, one line each; tracks what the commands need.
class chat final : public tc::listener {
public:
    void on_state(const tc::state_change& s) override {
        std::lock_guard lock(mutex_);
        std::cout << "state " << state_name(s.state);
        if (!s.message.empty()) std::cout << " (" << s.message << ")";
        std::cout << std::endl;
        state_ = s.state;
        changed_.notify_all();
    }
    void on_event(const tc::event& e) override {
        std::lock_guard lock(mutex_);
        heads_[e.conv] = std::max(heads_[e.conv], e.seq);
        // The server's notification decision: no tag for an alert (or a caught-up event).
        const char* tag = e.notice == tc::notice::silent ? " [silent]"
                          : e.notice == tc::notice::none ? " [quiet]"
                                                         : "";
        const auto urgent = (e.content.flags & tc::flag_urgent) != 0
                                ? " [URGENT: " + e.content.urgent_reason + "]"
                                : std::string();
        std::cout << "msg " << conv_name(e.conv) << " #" << e.seq << " " << e.sender << ": "
                  << describe(e) << urgent << tag << std::endl;
        if (!urgent.empty() && e.kind == tc::event_kind::message) last_urgent_[e.conv] = e.seq;
    }
    void on_urgent_acknowledged(const tc::urgent_acknowledged& a) override {
        std::lock_guard lock(mutex_);
        std::cout << "acked " << conv_name(a.conv) << " #" << a.seq << " by " << a.user
                  << std::endl;
    }
    void on_scheduled(const tc::scheduled_update& u) override {
        static constexpr const char* names[] = {"scheduled", "edited", "cancelled", "released",
                                                "failed"};
        std::lock_guard lock(mutex_);
        std::cout << "schedule " << u.message.id << " " << names[static_cast<int>(u.what)] << " "
                  << conv_name(u.message.conv);
        if (u.what == tc::scheduled_update::state::released) std::cout << " #" << u.seq;
        if (u.what == tc::scheduled_update::state::failed) {
            std::cout << " " << tc::to_string(u.failure) << " " << u.failure_text;
        }
        std::cout << std::endl;
    }
    void on_digest(const tc::digest& d) override {
        std::lock_guard lock(mutex_);
        std::cout << "digest " << d.messages << (d.messages == 1 ? " message in " : " messages in ")
                  << d.conversation_count
                  << (d.conversation_count == 1 ? " conversation" : " conversations");
        if (d.mentions > 0) std::cout << ", " << d.mentions << " mentioning you";
        std::cout << " while you were off:";
        for (const auto& c : d.conversations) {
            std::cout << " " << conv_name(c.conv) << " (" << c.messages << ")";
        }
        std::cout << std::endl;
    }
    void on_settings(const tc::notification_settings& s) override {
        std::lock_guard lock(mutex_);
        std::cout << "settings dnd "
                  << (s.dnd_until_ms == 0 ? "off" : "until " + std::to_string(s.dnd_until_ms))
                  << (s.hours ? " hours " + s.hours->start + "-" + s.hours->end + " " +
                                    s.hours->time_zone
                              : "")
                  << std::endl;
    }
    void on_mute(const tc::mute_update& m) override {
        std::lock_guard lock(mutex_);
        std::cout << "mute " << conv_name(m.conv) << " " << level_name(m.level);
        if (m.until_ms != 0) std::cout << " until " << m.until_ms;
        std::cout << std::endl;
    }
    void on_receipt(const tc::receipt_update& u) override {
        std::lock_guard lock(mutex_);
        for (const auto& c : u.cursors) {
            std::cout << "receipt " << conv_name(u.conv) << " user " << c.user << " delivered #"
                      << c.delivered_up_to << " read #" << c.read_up_to << std::endl;
        }
        for (const auto& r : u.read_counts) {
            std::cout << "reads " << conv_name(u.conv) << " #" << r.seq << " read by " << r.read
                      << " of " << r.members << std::endl;
        }
    }
    void on_presence(const std::vector<tc::presence>& users) override {
        std::lock_guard lock(mutex_);
        for (const auto& p : users) {
            std::cout << "presence " << p.user << " " << status_name(p.status);
            if (!p.text.empty()) std::cout << " \"" << p.text << "\"";
            std::cout << std::endl;
        }
    }
    void on_typing(const tc::typing& t) override {
        if (!t.active) return;
        std::lock_guard lock(mutex_);
        std::cout << "typing " << conv_name(t.conv) << " " << t.user << std::endl;
    }

    // Prints a line from a completion.
    void print(const std::string& line) {
        std::lock_guard lock(mutex_);
        std::cout << line << std::endl;
    }
    void print_error(const tc::error& e) {
        print(std::string("error ") + tc::to_string(e.code) + " " + e.message);
    }

    // Waits until connected or stopped; true when connected.
    bool wait_connected(std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout, [&] {
            return state_ == tc::connection_state::connected ||
                   state_ == tc::connection_state::stopped;
        });
        return state_ == tc::connection_state::connected;
    }

    tc::seq_t head(const tc::conv_id& conv) {
        std::lock_guard lock(mutex_);
        return heads_[conv];
    }
    // The last urgent message received in `conv` (0: none).
    tc::seq_t last_urgent(const tc::conv_id& conv) {
        std::lock_guard lock(mutex_);
        const auto it = last_urgent_.find(conv);
        return it == last_urgent_.end() ? 0 : it->second;
    }
    void saw(const tc::conv_id& conv, tc::seq_t seq) {
        std::lock_guard lock(mutex_);
        heads_[conv] = std::max(heads_[conv], seq);
    }

    // Sends in flight, so that the end of input can wait for them.
    void started() {
        std::lock_guard lock(mutex_);
        ++in_flight_;
    }
    void finished() {
        std::lock_guard lock(mutex_);
        --in_flight_;
        changed_.notify_all();
    }
    bool drain(std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    tc::connection_state state_ = tc::connection_state::connecting;
    std::map<tc::conv_id, tc::seq_t> heads_;
    std::map<tc::conv_id, tc::seq_t> last_urgent_;
    int in_flight_ = 0;
};

// A development token minted from a signing key (what ternctl token does).
std::string mint(const std::string& key_file, const std::string& kid, std::uint64_t tenant,
                 std::uint64_t user, std::uint64_t device) {
    auto key = tern::auth::signing_key::from_private_pem_file(kid, key_file);
    if (!key) throw std::runtime_error(key_file + ": " + key.error().message());
    auto token = tern::tooling::device_token(*key, tenant, user, device, std::chrono::hours(24));
    if (!token) throw std::runtime_error("signing failed: " + token.error().message());
    return *token;
}

// Runs the commands of one input line against the client.
class commands {
public:
    commands(tc::client& client, chat& out) : client_(client), out_(out) {}

    void run(const std::string& line) {
        if (line.empty()) return;
        if (line[0] != '/') return send_text(line);
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        std::string rest;
        std::getline(in >> std::ws, rest);
        try {
            dispatch(cmd, rest);
        } catch (const std::exception&) {
            out_.print("error INVALID_ARGUMENT bad arguments to " + cmd + " (see /help)");
        }
    }

private:
    void dispatch(const std::string& cmd, const std::string& rest) {
        const auto me = client_.user();
        if (cmd == "/help") return out_.print(help_text);
        if (cmd == "/list") return list();
        if (cmd == "/open") return open(tc::conv_id::direct(me, std::stoull(rest)));
        if (cmd == "/opengroup") return open(tc::conv_id::group(std::stoull(rest)));
        if (cmd == "/group") return create_group(rest);
        if (cmd == "/sub") return client_.subscribe_presence(parse_users(rest), report_ok("sub"));
        if (cmd == "/status") return status(rest);
        if (cmd == "/dnd") return dnd(rest);
        if (cmd == "/scheduled") return scheduled();
        if (cmd == "/unschedule") {
            return client_.cancel_scheduled(std::stoull(rest), report_ok("unschedule " + rest));
        }
        if (cmd == "/reschedule") return reschedule(rest);
        if (!open_) return out_.print("error INVALID_ARGUMENT open a conversation first");
        const auto conv = *open_;
        if (cmd == "/add") return (void)client_.add_members(conv, parse_users(rest), acked());
        if (cmd == "/remove") return (void)client_.remove_members(conv, parse_users(rest), acked());
        if (cmd == "/rename") return (void)client_.rename_group(conv, rest, acked());
        if (cmd == "/leave") return (void)client_.leave_group(conv, acked());
        if (cmd == "/role") return set_role(conv, rest);
        if (cmd == "/info") return info(conv);
        if (cmd == "/history") return history(conv, rest.empty() ? 20 : std::stoul(rest));
        if (cmd == "/read") return client_.mark_read(conv, out_.head(conv), report_ok("read"));
        if (cmd == "/who") return who(conv, std::stoull(rest));
        if (cmd == "/recall") return (void)client_.recall(conv, std::stoull(rest), acked());
        if (cmd == "/edit") return edit(conv, rest);
        if (cmd == "/typing") return client_.set_typing(conv, true);
        if (cmd == "/mute") return mute(conv, rest);
        if (cmd == "/urgent") return urgent(conv, rest);
        if (cmd == "/ack") return acknowledge(conv, rest);
        if (cmd == "/acks") return acks(conv, std::stoull(rest));
        if (cmd == "/schedule") return schedule(conv, rest);
        out_.print("error INVALID_ARGUMENT unknown command " + cmd + " (see /help)");
    }

    // "/urgent REASON | TEXT".
    void urgent(const tc::conv_id& conv, const std::string& rest) {
        const auto bar = rest.find(" | ");
        if (bar == std::string::npos || bar == 0 || bar + 3 >= rest.size()) {
            return out_.print("error INVALID_ARGUMENT /urgent REASON | TEXT");
        }
        (void)client_.send(conv, tc::content::urgent(rest.substr(bar + 3), rest.substr(0, bar)),
                           acked());
    }

    // "/schedule MINUTES TEXT" or "/schedule start [USER] TEXT".
    void schedule(const tc::conv_id& conv, const std::string& rest) {
        std::istringstream in(rest);
        std::string when;
        in >> when;
        tc::release_time at;
        if (when == "start") {
            std::string first;
            const auto before_user = in.tellg();
            in >> first;
            if (!first.empty() && std::all_of(first.begin(), first.end(), ::isdigit)) {
                at = tc::release_time::work_start_of(std::stoull(first));
            } else {
                in.clear();
                in.seekg(before_user);
                const auto me = client_.user();
                if (conv.type != tc::conv_type::direct) {
                    return out_.print(
                        "error INVALID_ARGUMENT /schedule start USER TEXT in a group");
                }
                at = tc::release_time::work_start_of(conv.id == me ? conv.peer : conv.id);
            }
        } else {
            const auto minutes = std::stoll(when);
            at = tc::release_time::at(now_ms() + minutes * 60'000);
        }
        std::string text;
        std::getline(in >> std::ws, text);
        if (text.empty()) return out_.print("error INVALID_ARGUMENT /schedule MINUTES TEXT");
        client_.schedule_send(
            conv, tc::content::from_text(text), at, [this](tc::result<tc::scheduled_message> r) {
                if (!r) return out_.print_error(r.err());
                out_.print("ok schedule " + std::to_string(r->id) + " \"" + r->body.text + "\"");
            });
    }

    void scheduled() {
        client_.list_scheduled([this](tc::result<std::vector<tc::scheduled_message>> r) {
            if (!r) return out_.print_error(r.err());
            std::string line = "scheduled " + std::to_string(r->size()) + ":";
            for (const auto& m : r.value()) {
                line += " " + std::to_string(m.id) + " " + conv_name(m.conv) + " at " +
                        std::to_string(m.release_at_ms) + " \"" + m.body.text + "\"";
            }
            out_.print(line);
        });
    }

    // "/reschedule ID TEXT".
    void reschedule(const std::string& rest) {
        const auto space = rest.find(' ');
        if (space == std::string::npos)
            return out_.print("error INVALID_ARGUMENT /reschedule ID TEXT");
        client_.edit_scheduled(std::stoull(rest.substr(0, space)),
                               tc::content::from_text(rest.substr(space + 1)), std::nullopt,
                               [this](tc::result<tc::scheduled_message> r) {
                                   if (!r) return out_.print_error(r.err());
                                   out_.print("ok reschedule " + std::to_string(r->id));
                               });
    }

    static std::int64_t now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    // "/ack [SEQ]": without a seq, the last urgent message received in the conversation.
    void acknowledge(const tc::conv_id& conv, const std::string& rest) {
        const tc::seq_t seq = rest.empty() ? out_.last_urgent(conv) : std::stoull(rest);
        if (seq == 0)
            return out_.print("error INVALID_ARGUMENT no urgent message here to acknowledge");
        client_.acknowledge_urgent(conv, seq, report_ok("ack #" + std::to_string(seq)));
    }

    // "acks CONV #SEQ 2 of 3: 2 (at ms) ... waiting: 4".
    void acks(const tc::conv_id& conv, tc::seq_t seq) {
        client_.urgent_status(conv, seq, [this](tc::result<tc::urgent_status> r) {
            if (!r) return out_.print_error(r.err());
            const auto total = r->acknowledged.size() + r->awaiting.size();
            std::string line = "acks " + conv_name(r->conv) + " #" + std::to_string(r->seq) + " " +
                               std::to_string(r->acknowledged.size()) + " of " +
                               std::to_string(total) + ":";
            for (const auto& a : r->acknowledged) line += " " + std::to_string(a.user);
            line += " waiting:";
            for (const auto u : r->awaiting) line += " " + std::to_string(u);
            out_.print(line);
        });
    }

    void send_text(const std::string& text) {
        if (!open_) return out_.print("error INVALID_ARGUMENT open a conversation first");
        (void)client_.send(*open_, tc::content::from_text(text), acked());
    }

    // A completion for event-appending requests: "sent CONV #SEQ" or the error.
    tc::callback<tc::sent> acked() {
        out_.started();
        return [this](tc::result<tc::sent> r) {
            if (r) {
                out_.saw(r->conv, r->seq);
                out_.print("sent " + conv_name(r->conv) + " #" + std::to_string(r->seq));
            } else {
                out_.print_error(r.err());
            }
            out_.finished();
        };
    }
    tc::callback<tc::ok> report_ok(const std::string& what) {
        return [this, what](tc::result<tc::ok> r) {
            if (!r)
                out_.print_error(r.err());
            else
                out_.print("ok " + what);
        };
    }

    void open(const tc::conv_id& conv) {
        open_ = conv;
        out_.print("conv " + conv_name(conv));
    }

    void create_group(const std::string& rest) {
        std::istringstream in(rest);
        std::string name, members;
        in >> name >> members;
        out_.started();
        client_.create_group(name, parse_users(members), [this](tc::result<tc::sent> r) {
            if (r) {
                open_ = r->conv;  // on the callback thread; commands read it after /group
                out_.print("conv " + conv_name(r->conv));
            } else {
                out_.print_error(r.err());
            }
            out_.finished();
        });
        out_.drain(30s);  // the next line may use the group
    }

    void status(const std::string& rest) {
        std::istringstream in(rest);
        std::string word, text;
        in >> word;
        std::getline(in >> std::ws, text);
        const auto s = word == "away"  ? tc::presence_status::away
                       : word == "dnd" ? tc::presence_status::do_not_disturb
                                       : tc::presence_status::online;
        client_.set_presence(s, text, report_ok("status"));
    }

    // Keeps the working hours and off-hours choice: reads the settings, changes the one field.
    void dnd(const std::string& rest) {
        const auto minutes = rest.empty() ? 0 : std::stoll(rest);
        client_.get_notification_settings([this, minutes](tc::result<tc::notification_settings> r) {
            if (!r) return out_.print_error(r.err());
            auto s = r.value();
            s.dnd_until_ms = minutes <= 0
                                 ? 0
                                 : std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch() +
                                       std::chrono::minutes(minutes))
                                       .count();
            client_.set_notification_settings(s, report_ok("dnd"));
        });
    }

    void mute(const tc::conv_id& conv, const std::string& rest) {
        std::istringstream in(rest);
        std::string word;
        std::int64_t minutes = 0;
        in >> word >> minutes;
        const auto level = word == "nothing"    ? tc::notify_level::nothing
                           : word == "mentions" ? tc::notify_level::mentions
                                                : tc::notify_level::all;
        const auto until = minutes > 0 && level != tc::notify_level::all
                               ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch() +
                                     std::chrono::minutes(minutes))
                                     .count()
                               : 0;
        client_.mute(conv, level, until, report_ok("mute"));
    }

    void set_role(const tc::conv_id& conv, const std::string& rest) {
        std::istringstream in(rest);
        tc::user_id user = 0;
        std::string word;
        in >> user >> word;
        const auto r = word == "owner"   ? tc::role::owner
                       : word == "admin" ? tc::role::admin
                                         : tc::role::member;
        (void)client_.set_role(conv, user, r, acked());
    }

    void edit(const tc::conv_id& conv, const std::string& rest) {
        std::istringstream in(rest);
        tc::seq_t seq = 0;
        in >> seq;
        std::string text;
        std::getline(in >> std::ws, text);
        (void)client_.edit(conv, seq, tc::content::from_text(text), acked());
    }

    void list() {
        client_.list_conversations(100, [this](tc::result<tc::conversation_list> r) {
            if (!r) return out_.print_error(r.err());
            for (const auto& c : r->conversations) {
                out_.print("conv " + conv_name(c.conv) +
                           (c.name.empty() ? "" : " \"" + c.name + "\"") + " unread " +
                           std::to_string(c.unread) + " head #" + std::to_string(c.head_seq) +
                           (c.notify == tc::notify_level::all
                                ? ""
                                : std::string(" muted ") + level_name(c.notify)));
            }
            out_.print("ok list");
        });
    }

    void info(const tc::conv_id& conv) {
        client_.group_info(conv, [this](tc::result<tc::group_info> r) {
            if (!r) return out_.print_error(r.err());
            for (const auto& m : r->members) {
                out_.print("member " + std::to_string(m.user) +
                           (m.role == tc::role::owner   ? " owner"
                            : m.role == tc::role::admin ? " admin"
                                                        : " member"));
            }
            out_.print("ok info \"" + r->name + "\"");
        });
    }

    void history(const tc::conv_id& conv, std::uint32_t n) {
        client_.history(conv, 0, false, n, [this](tc::result<tc::history_page> r) {
            if (!r) return out_.print_error(r.err());
            for (auto it = r->events.rbegin(); it != r->events.rend(); ++it) {
                out_.print("msg " + conv_name(it->conv) + " #" + std::to_string(it->seq) + " " +
                           std::to_string(it->sender) + ": " + describe(*it));
            }
            out_.print("ok history");
        });
    }

    void who(const tc::conv_id& conv, tc::seq_t seq) {
        client_.who_read(conv, seq, true, [this](tc::result<tc::who_read> r) {
            if (!r) return out_.print_error(r.err());
            std::string readers;
            for (auto u : r->read_users)
                readers += (readers.empty() ? "" : ",") + std::to_string(u);
            out_.print("who #" + std::to_string(r->seq) + " read by " +
                       std::to_string(r->read_count) + " of " +
                       std::to_string(r->read_count + r->unread_count) +
                       (readers.empty() ? "" : ": " + readers));
        });
    }

    tc::client& client_;
    chat& out_;
    std::optional<tc::conv_id> open_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tern-chat: a terminal client for Tern"};
    std::string endpoint = "tcp://127.0.0.1:7400";
    std::string token, key_file, kid = "dev", ca_file;
    std::uint64_t tenant = 1, user = 0, device = 1;
    bool insecure = false;
    int linger = 10;
    app.add_option("--endpoint", endpoint, "tcp://, tls://, ws:// or wss:// host:port[/path]");
    app.add_option("--token", token, "a token (ternctl token)");
    app.add_option("--key", key_file, "or mint one with this signing key (development)");
    app.add_option("--kid", kid, "the key's id");
    app.add_option("--tenant", tenant, "with --key");
    app.add_option("--user", user, "with --key");
    app.add_option("--device", device, "with --key");
    app.add_option("--ca-file", ca_file, "trust this certificate (tls and wss)");
    app.add_flag("--insecure", insecure, "do not verify the server's certificate");
    app.add_option("--linger", linger, "seconds to wait for unacknowledged sends at the end");
    CLI11_PARSE(app, argc, argv);

    const auto where = tc::endpoint::parse(endpoint);
    if (!where) {
        std::cerr << "tern-chat: bad --endpoint " << endpoint << "\n";
        return 2;
    }
    try {
        if (token.empty() && !key_file.empty()) {
            if (user == 0) throw std::runtime_error("--user is needed with --key");
            token = mint(key_file, kid, tenant, user, device);
        }
    } catch (const std::exception& e) {
        std::cerr << "tern-chat: " << e.what() << "\n";
        return 2;
    }
    if (token.empty()) {
        std::cerr << "tern-chat: give --token, or --key with --user\n";
        return 2;
    }

    tc::options options;
    options.endpoints = {*where};
    options.token_provider = [token] { return token; };
    options.tls.ca_file = ca_file;
    options.tls.verify_peer = !insecure;
    options.platform = tc::platform::linux_desktop;
    options.app_version = "tern-chat/0.1";
    auto out = std::make_shared<chat>();
    tc::client client(options, out);
    client.connect();
    if (!out->wait_connected(30s)) {
        std::cerr << "tern-chat: could not connect to " << endpoint << "\n";
        return 1;
    }
    out->print("me " + std::to_string(client.user()));

    commands run(client, *out);
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "/quit") break;
        run.run(line);
    }
    if (!out->drain(std::chrono::seconds(linger))) {
        std::cerr << "tern-chat: some sends were not acknowledged\n";
        return 1;
    }
    return 0;
}
