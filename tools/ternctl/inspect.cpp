#include "inspect.hpp"
#include <filesystem>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <tern/storage/rocks_store.hpp>

#include "tern/v1/events.pb.h"

namespace ternctl {
namespace {

namespace st = tern::storage;

struct inspect_args {
    CLI::App* inspect = nullptr;
    CLI::App* conv = nullptr;
    CLI::App* user = nullptr;
    CLI::App* device = nullptr;
    CLI::App* verify = nullptr;
    CLI::App* restore = nullptr;
    std::string checkpoint;  // restore --from
    std::string data_dir = "data/store";
    std::uint64_t tenant = 1;
    std::string direct;  // "A,B"
    std::uint64_t group = 0;
    std::uint64_t user_id = 0;
    std::uint64_t device_id = 0;
    std::uint64_t from = 0;
    std::uint64_t limit = 50;
};

inspect_args& args() {
    static inspect_args a;
    return a;
}

std::string time_of(std::int64_t ms) {
    const std::time_t seconds = ms / 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string conv_name(const st::conv_id& c) {
    if (c.type == st::conv_type::group) return "g:" + std::to_string(c.id);
    return "d:" + std::to_string(c.id) + "-" + std::to_string(c.peer);
}

const char* role_name(st::role r) {
    switch (r) {
        case st::role::owner:
            return "owner";
        case st::role::admin:
            return "admin";
        default:
            return "member";
    }
}

// One line about an event: its kind and, for messages and edits, the size of the content (the
// text itself is shown only with --bodies: support should not read messages by default).
std::string summary(const st::event_bytes& bytes, bool bodies) {
    if (!bytes) return "(no longer stored)";
    tern::v1::Event e;
    if (!e.ParseFromString(*bytes)) return "(undecodable)";
    const auto content = [&](const tern::v1::Content& c) {
        if (c.has_custom()) return "custom " + c.custom().type();
        return bodies ? "\"" + c.text() + "\""
                      : "text, " + std::to_string(c.text().size()) + " bytes";
    };
    switch (e.body_case()) {
        case tern::v1::Event::kMessage:
            return "message (" + content(e.message().content()) + ")";
        case tern::v1::Event::kRecall:
            return "recall #" + std::to_string(e.recall().target_seq());
        case tern::v1::Event::kEdit:
            return "edit #" + std::to_string(e.edit().target_seq()) + " (" +
                   content(e.edit().content()) + ")";
        case tern::v1::Event::kGroupCreated:
            return "group created \"" + e.group_created().name() + "\"";
        case tern::v1::Event::kMembersAdded:
            return "members added (" + std::to_string(e.members_added().user_ids_size()) + ")";
        case tern::v1::Event::kMembersRemoved:
            return "members removed (" + std::to_string(e.members_removed().user_ids_size()) + ")";
        case tern::v1::Event::kMemberLeft:
            return "member left";
        case tern::v1::Event::kRenamed:
            return "renamed \"" + e.renamed().name() + "\"";
        case tern::v1::Event::kRoleChanged:
            return "role of " + std::to_string(e.role_changed().user_id()) + " changed";
        case tern::v1::Event::kHistorySet:
            return e.history_set().history() == tern::v1::HISTORY_WHOLE
                       ? "history: new members read all of it"
                       : "history: new members read from their join";
        default:
            return "(unknown kind)";
    }
}

template <class T>
T must(st::result<T> r, const std::string& what) {
    if (!r) throw std::runtime_error(what + ": " + r.error().message());
    return std::move(*r);
}

st::conv_id conv_from_args() {
    auto& a = args();
    if (a.group != 0) return st::conv_id::group(a.group);
    const auto comma = a.direct.find(',');
    if (comma == std::string::npos) throw std::runtime_error("give --group ID or --direct A,B");
    return st::conv_id::direct(std::stoull(a.direct.substr(0, comma)),
                               std::stoull(a.direct.substr(comma + 1)));
}

std::unique_ptr<st::store> open_store() {
    st::rocks_options options;
    options.path = args().data_dir;
    options.create_if_missing = false;
    auto store = st::open_rocks_store(options);
    if (!store) {
        throw std::runtime_error(args().data_dir + ": " + store.error().message() +
                                 " (is ternd still running on it?)");
    }
    return std::move(*store);
}

bool bodies = false;

int inspect_conv(st::store& s) {
    const auto& a = args();
    const auto conv = conv_from_args();
    const auto meta = must(s.conversation(a.tenant, conv), "conversation");
    if (!meta) {
        std::cout << "no conversation " << conv_name(conv) << " in tenant " << a.tenant << "\n";
        return 1;
    }
    std::cout << "conversation " << conv_name(conv) << " tenant " << a.tenant << "\n"
              << "  name \"" << meta->name << "\" owner " << meta->owner << " head #"
              << meta->head_seq << " members " << meta->member_count << " created "
              << time_of(meta->created_ms) << " last event " << time_of(meta->last_event_ms)
              << "\n  members (user, role, joined, delivered, read):\n";
    for (const auto& [m, cursor] : must(s.member_cursors(a.tenant, conv), "members")) {
        std::cout << "    " << m.user << " " << role_name(m.member_role) << " #" << m.joined_seq
                  << " delivered #" << cursor.delivered_up_to << " read #" << cursor.read_up_to
                  << "\n";
    }
    const auto events =
        must(s.timeline(a.tenant, conv, a.from,
                        a.from == 0 ? st::direction::backward : st::direction::forward, a.limit),
             "timeline");
    std::cout << "  events (" << events.size() << "):\n";
    for (const auto& e : events) {
        std::cout << "    #" << e.seq << " " << time_of(e.server_time_ms) << " from " << e.sender
                  << ": " << summary(e.bytes, bodies) << (e.recalled ? " [recalled]" : "") << "\n";
    }
    return 0;
}

int inspect_user(st::store& s) {
    const auto& a = args();
    const auto head = must(s.inbox_head(a.tenant, a.user_id), "inbox head");
    std::cout << "user " << a.user_id << " tenant " << a.tenant << " inbox head " << head << "\n"
              << "  conversations (newest first):\n";
    for (const auto& c : must(s.conversations_of(a.tenant, a.user_id), "conversations")) {
        std::cout << "    " << conv_name(c.meta.conv) << " " << role_name(c.member_role)
                  << " head #" << c.meta.head_seq << " unread " << c.unread << " delivered #"
                  << c.cursor.delivered_up_to << " read #" << c.cursor.read_up_to << "\n";
    }
    const auto after = a.from > 0 ? a.from : (head > a.limit ? head - a.limit : 0);
    std::cout << "  inbox after " << after << ":\n";
    for (const auto& item : must(s.inbox_after(a.tenant, a.user_id, after, a.limit), "inbox")) {
        std::cout << "    " << item.inbox_seq << " -> " << conv_name(item.conv) << " #" << item.seq
                  << ": " << summary(item.bytes, bodies) << "\n";
    }
    return 0;
}

int inspect_device(st::store& s) {
    const auto& a = args();
    const auto cursor = must(s.device_cursor(a.tenant, a.user_id, a.device_id), "device cursor");
    const auto head = must(s.inbox_head(a.tenant, a.user_id), "inbox head");
    std::cout << "device " << a.device_id << " of user " << a.user_id << " tenant " << a.tenant
              << ": acknowledged up to inbox_seq " << cursor << " of " << head << " ("
              << head - std::min(cursor, head) << " behind)\n";
    return 0;
}

int inspect_verify(st::store& s) {
    const auto applied = must(s.applied_index(), "applied index");
    std::cout << "entries applied: " << applied << "\n";
    if (auto ok = s.verify(); !ok) {
        std::cout << "verify: FAILED: " << ok.error().message() << "\n";
        return 1;
    }
    std::cout << "verify: every derived record agrees with the timelines and membership\n";
    return 0;
}

// Copies a checkpoint into an empty data directory, then opens the copy as ternd would and
// prints what it holds: each partition's log position, from which a cluster node reads on.
int restore() {
    namespace fs = std::filesystem;
    const auto& a = args();
    const fs::path from = a.checkpoint;
    const fs::path to = a.data_dir;
    if (!fs::exists(from / "CURRENT")) {
        throw std::runtime_error(a.checkpoint + ": not a checkpoint (no CURRENT file)");
    }
    if (fs::exists(to) && !fs::is_empty(to)) {
        throw std::runtime_error(a.data_dir + " is not empty: move the old store away first");
    }
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive);
    auto store = open_store();
    if (const auto ok = store->verify(); !ok) {
        throw std::runtime_error(a.data_dir +
                                 ": the restored store does not verify: " + ok.error().message());
    }
    std::cout << "restored " << a.checkpoint << " into " << a.data_dir << "\n";
    int found = 0;
    for (std::uint32_t p = 0; p < 1024; ++p) {  // the partitions a config may have
        const auto position = store->position(p);
        if (!position) throw std::runtime_error("reading positions: " + position.error().message());
        if (!*position) continue;
        std::cout << "partition " << p << ": entry " << (*position)->sequence << ", digest "
                  << (*position)->digest << "\n";
        ++found;
    }
    if (found == 0) std::cout << "no log positions: a single node's store\n";
    std::cout << "start ternd on it: a cluster node reads each partition's log from there\n";
    return 0;
}

}  // namespace

void add_inspect(CLI::App& app) {
    auto& a = args();
    a.inspect = app.add_subcommand("inspect", "read a stopped store (support and debugging)");
    a.inspect->require_subcommand(1);
    a.inspect->add_option("--data", a.data_dir, "the store directory (server.data_dir)");
    a.inspect->add_option("--tenant", a.tenant, "tenant id");
    a.inspect->add_flag("--bodies", bodies, "show message texts (hidden by default)");

    a.conv = a.inspect->add_subcommand("conv", "a conversation: members, cursors, events");
    a.conv->add_option("--direct", a.direct, "the two users of a direct conversation: A,B");
    a.conv->add_option("--group", a.group, "a group id");
    a.conv->add_option("--from", a.from, "first seq (forward); 0: the newest, backward");
    a.conv->add_option("--limit", a.limit, "events to show");

    a.user = a.inspect->add_subcommand("user", "a user's conversations, unread counts, inbox");
    a.user->add_option("--user", a.user_id, "user id")->required();
    a.user->add_option("--after", a.from, "inbox entries after this inbox_seq");
    a.user->add_option("--limit", a.limit, "inbox entries to show");

    a.device = a.inspect->add_subcommand("device", "a device's acknowledged inbox cursor");
    a.device->add_option("--user", a.user_id, "user id")->required();
    a.device->add_option("--device", a.device_id, "device id")->required();

    a.verify = a.inspect->add_subcommand("verify", "check every derived record; count entries");

    a.restore = app.add_subcommand(
        "restore", "copy a checkpoint (ternctl checkpoint) into an empty data directory");
    a.restore->add_option("--from", a.checkpoint, "the checkpoint directory")->required();
    a.restore->add_option("--data", a.data_dir, "the new store directory (server.data_dir)")
        ->required();
}

bool inspect_parsed() {
    return (args().inspect && args().inspect->parsed()) ||
           (args().restore && args().restore->parsed());
}

int run_inspect() {
    if (args().restore->parsed()) return restore();
    auto store = open_store();
    auto& a = args();
    if (a.conv->parsed()) return inspect_conv(*store);
    if (a.user->parsed()) return inspect_user(*store);
    if (a.device->parsed()) return inspect_device(*store);
    return inspect_verify(*store);
}

}  // namespace ternctl
