#include "core/service.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/presence.hpp"
#include "core/queries.hpp"
#include "core/read_counts.hpp"
#include "log_throttle.hpp"
#include "tern/v1/events.pb.h"
#include "tern/v1/frame.pb.h"

namespace tern::server::core {
namespace {

namespace asio = boost::asio;
using storage::conv_id;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::size_t mix(std::size_t seed, std::uint64_t v) {
    return seed ^
           (std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

struct conv_key {
    storage::tenant_id tenant;
    conv_id conv;
    friend bool operator==(const conv_key&, const conv_key&) = default;
};
struct user_key {
    storage::tenant_id tenant;
    storage::user_id user;
    friend bool operator==(const user_key&, const user_key&) = default;
};
struct dedup_key {
    storage::tenant_id tenant;
    storage::user_id user;
    std::string client_msg_id;
    friend bool operator==(const dedup_key&, const dedup_key&) = default;
};
struct key_hash {
    std::size_t operator()(const conv_key& k) const {
        return mix(mix(mix(k.tenant, static_cast<std::uint64_t>(k.conv.type)), k.conv.id),
                   k.conv.peer);
    }
    std::size_t operator()(const user_key& k) const { return mix(k.tenant, k.user); }
    std::size_t operator()(const dedup_key& k) const {
        return mix(mix(k.tenant, k.user), std::hash<std::string>{}(k.client_msg_id));
    }
};

// Where a reply goes: a session on its shard, and the request it answers.
struct reply_to {
    std::size_t shard;
    std::weak_ptr<net::session> session;
    std::uint64_t req_id;
};

// A device online on this shard, and how far its pushes have gone.
struct device_entry {
    std::shared_ptr<net::session> session;
    std::uint64_t cursor = 0;                // the newest inbox_seq pushed or synced to the device
    bool catching_up = false;                // reading the store; live pushes wait for it
    std::vector<storage::user_id> watching;  // presence followed, ascending
};

// Read cursors that moved in a group since its senders were last told: (after, up_to].
struct read_window {
    storage::seq_t after = 0;
    storage::seq_t up_to = 0;
};

// A conversation owned by this shard: decide's view of it.
struct owned_conv {
    conv_state state;
    bool loaded = false;
    bool stale = false;  // a commit failed: reload once nothing is in flight
    std::size_t in_flight = 0;
    std::set<storage::seq_t> recalls_in_flight;  // targets of recalls not yet committed
};

// A request whose entry is in the writer's hands, with every request waiting on the same id.
struct pending_event {
    conv_id conv;
    storage::seq_t seq = 0;
    std::int64_t server_time_ms = 0;
    storage::seq_t recalls = 0;     // a recall: its target
    std::vector<reply_to> waiters;  // the first one sent it; the others are retries
};

struct shard_state {
    explicit shard_state(asio::io_context& context) : read_count_timer(context) {}

    std::unordered_map<user_key, std::vector<device_entry>, key_hash> online;
    std::unordered_map<conv_key, owned_conv, key_hash> convs;
    std::unordered_map<dedup_key, pending_event, key_hash> pending;
    presence_registry presence;  // the users whose home is this shard
    // Groups owned here whose senders are due a read-count update, flushed by the timer.
    std::unordered_map<conv_key, read_window, key_hash> reads_to_count;
    asio::steady_timer read_count_timer;
    bool read_count_armed = false;
};

// How many recent messages of a group get read counts per update: older ones are rarely on
// screen, and who-read answers for any of them.
constexpr storage::seq_t read_count_window = 200;

constexpr std::size_t max_status_text_bytes = 128;

// An event-appending request on its way to the owner.
struct event_request {
    requester who;
    v1::Frame frame;
    reply_to reply;
    std::uint64_t group_id = 0;  // group_create: the id assigned on the session's shard
};

// The conversation an event-appending request names (group_create has none yet).
const v1::ConvId* conv_of(const v1::Frame& f) {
    switch (f.body_case()) {
        case v1::Frame::kSend:
            return &f.send().conv();
        case v1::Frame::kGroupAddMembers:
            return &f.group_add_members().conv();
        case v1::Frame::kGroupRemoveMembers:
            return &f.group_remove_members().conv();
        case v1::Frame::kGroupLeave:
            return &f.group_leave().conv();
        case v1::Frame::kGroupRename:
            return &f.group_rename().conv();
        case v1::Frame::kGroupSetRole:
            return &f.group_set_role().conv();
        case v1::Frame::kRecall:
            return &f.recall().conv();
        case v1::Frame::kEdit:
            return &f.edit().conv();
        default:
            return nullptr;
    }
}

const std::string& client_msg_id_of(const v1::Frame& f) {
    static const std::string none;
    switch (f.body_case()) {
        case v1::Frame::kSend:
            return f.send().client_msg_id();
        case v1::Frame::kGroupCreate:
            return f.group_create().client_msg_id();
        case v1::Frame::kGroupAddMembers:
            return f.group_add_members().client_msg_id();
        case v1::Frame::kGroupRemoveMembers:
            return f.group_remove_members().client_msg_id();
        case v1::Frame::kGroupLeave:
            return f.group_leave().client_msg_id();
        case v1::Frame::kGroupRename:
            return f.group_rename().client_msg_id();
        case v1::Frame::kGroupSetRole:
            return f.group_set_role().client_msg_id();
        case v1::Frame::kRecall:
            return f.recall().client_msg_id();
        case v1::Frame::kEdit:
            return f.edit().client_msg_id();
        default:
            return none;
    }
}

// Mirrors the store's membership rules on the owner's cached view (docs/storage.md).
void apply_membership(conv_state& st, const storage::append_event& e) {
    st.exists = true;
    st.head = e.seq;
    for (const auto& change : e.membership) {
        if (!change.new_role) {
            st.members.erase(change.user);
            if (st.owner == change.user) st.owner = 0;
            continue;
        }
        st.members[change.user] = *change.new_role;
        if (*change.new_role != storage::role::owner && st.owner == change.user) st.owner = 0;
        if (*change.new_role == storage::role::owner && st.owner != change.user) {
            if (auto prev = st.members.find(st.owner); prev != st.members.end()) {
                prev->second = storage::role::admin;
            }
            st.owner = change.user;
        }
    }
}

}  // namespace

// A committed event on its way to every shard's online recipients.
struct delivery {
    storage::event_bytes event;
    std::vector<storage::inbox_assignment> inbox;
    std::chrono::steady_clock::time_point accepted_at;  // the request's arrival at the owner
};

struct service::state {
    state(net::shard_pool& p, storage::store& s, storage::commit_writer& w, decide_limits d,
          net::connection_limits l, server::metrics& m)
        : shards(p), store(s), writer(w), decide(d), limits(l), metrics(m) {
        for (std::size_t i = 0; i < shards.size(); ++i) {
            per_shard.push_back(std::make_unique<shard_state>(shards.context(i)));
        }
    }

    net::shard_pool& shards;
    storage::store& store;
    storage::commit_writer& writer;
    decide_limits decide;
    net::connection_limits limits;
    server::metrics& metrics;
    std::vector<std::unique_ptr<shard_state>> per_shard;
    std::atomic<bool> draining{false};
    // A full disk fails every commit: one warning a second (tern_storage_commit_failures_total
    // counts them all).
    log_throttle commit_warnings{std::chrono::seconds(1)};

    static constexpr const char* draining_message = "the server is draining; reconnect";

    template <class F>
    void post(std::size_t shard, F&& f) {
        asio::post(shards.context(shard), std::forward<F>(f));
    }

    std::size_t owner_of(storage::tenant_id t, const conv_id& c) const {
        return key_hash{}(conv_key{t, c}) % shards.size();
    }

    // The shard that keeps a user's devices and presence.
    std::size_t home_of(storage::tenant_id t, storage::user_id u) const {
        return key_hash{}(user_key{t, u}) % shards.size();
    }

    // A group's id is derived from its creation request, (tenant, creator, client_msg_id), so a
    // retry names the same group and reaches the same owner, whose dedup answers it. 63 bits: a
    // collision inside one tenant is improbable enough that the owner merely refuses one.
    static std::uint64_t group_id_for(const requester& who, const std::string& client_msg_id) {
        // FNV-1a over the three, then the splitmix64 finalizer: the same on every build and node.
        std::uint64_t h = 0xcbf29ce484222325ULL;
        const auto feed = [&h](const void* data, std::size_t size) {
            const auto* p = static_cast<const unsigned char*>(data);
            for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
        };
        feed(&who.tenant, sizeof who.tenant);
        feed(&who.user, sizeof who.user);
        feed(client_msg_id.data(), client_msg_id.size());
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h = (h & 0x7fff'ffff'ffff'ffffULL);
        return h == 0 ? 1 : h;
    }

    // Sends `frame` to the session of `r`, on its shard (from any shard).
    void reply(const reply_to& r, v1::Frame frame) {
        frame.set_req_id(r.req_id);
        post(r.shard, [w = r.session, f = std::move(frame)] {
            if (auto s = w.lock()) s->send(f);
        });
    }

    // ---- owner side -----------------------------------------------------------------------

    owned_conv* load(shard_state& local, const conv_key& key, const reply_to& r) {
        auto& oc = local.convs[key];
        if (oc.stale && oc.in_flight > 0) {
            reply(r, error_frame(0, v1::UNAVAILABLE, "conversation recovering; retry"));
            return nullptr;
        }
        if (oc.loaded && !oc.stale) return &oc;
        auto meta = store.conversation(key.tenant, key.conv);
        auto members = store.members(key.tenant, key.conv);
        if (!meta || !members) {
            reply(r, error_frame(0, v1::UNAVAILABLE, "store read failed; retry"));
            return nullptr;
        }
        oc.state = conv_state{key.conv,
                              meta->has_value(),
                              meta->has_value() ? (*meta)->head_seq : 0,
                              {},
                              meta->has_value() ? (*meta)->owner : 0};
        for (const auto& m : *members) oc.state.members[m.user] = m.member_role;
        oc.loaded = true;
        oc.stale = false;
        return &oc;
    }

    // On the owner shard: dedup, decide, submit.
    void own(std::size_t shard, event_request req) {
        const auto accepted_at = std::chrono::steady_clock::now();
        auto& local = *per_shard[shard];
        const auto& frame = req.frame;
        conv_id conv;
        if (frame.has_group_create()) {
            conv = conv_id::group(req.group_id);
        } else {
            auto c = to_conv_id(*conv_of(frame));
            if (!c) return reply(req.reply, error_frame(0, c.error().code, c.error().message));
            conv = *c;
        }
        const conv_key key{req.who.tenant, conv};
        const dedup_key dkey{req.who.tenant, req.who.user, client_msg_id_of(frame)};

        // A retry of a request still in flight waits for the original's outcome.
        if (auto p = local.pending.find(dkey);
            p != local.pending.end() && !dkey.client_msg_id.empty()) {
            p->second.waiters.push_back(req.reply);
            return;
        }
        // A retry of a committed request gets the original (conv, seq).
        if (!dkey.client_msg_id.empty()) {
            auto found = store.find_dedup(req.who.tenant, req.who.user, dkey.client_msg_id);
            if (!found)
                return reply(req.reply, error_frame(0, v1::UNAVAILABLE, "store read failed"));
            if (*found) {
                const auto& rec = **found;
                if (!frame.has_group_create() && rec.conv != conv) {
                    return reply(req.reply,
                                 error_frame(0, v1::CLIENT_MSG_ID_REUSED,
                                             "client_msg_id used in another conversation"));
                }
                return reply(req.reply,
                             ack_frame(rec.conv, rec.seq, event_time(req.who.tenant, rec), true));
            }
        }

        owned_conv* oc = load(local, key, req.reply);
        if (!oc) return;
        const auto now = now_ms();
        decided<storage::append_event> d = [&]() -> decided<storage::append_event> {
            switch (frame.body_case()) {
                case v1::Frame::kSend:
                    return decide_send(req.who, frame.send(), oc->state, decide, now);
                case v1::Frame::kGroupCreate:
                    if (oc->state.exists) {
                        return refusal{v1::CLIENT_MSG_ID_REUSED, "use another client_msg_id"};
                    }
                    return decide_group_create(req.who, frame.group_create(), req.group_id, decide,
                                               now);
                case v1::Frame::kGroupAddMembers:
                    return decide_add_members(req.who, frame.group_add_members(), oc->state, decide,
                                              now);
                case v1::Frame::kGroupRemoveMembers:
                    return decide_remove_members(req.who, frame.group_remove_members(), oc->state,
                                                 decide, now);
                case v1::Frame::kGroupLeave:
                    return decide_leave(req.who, frame.group_leave(), oc->state, decide, now);
                case v1::Frame::kGroupRename:
                    return decide_rename(req.who, frame.group_rename(), oc->state, decide, now);
                case v1::Frame::kGroupSetRole:
                    return decide_set_role(req.who, frame.group_set_role(), oc->state, decide, now);
                case v1::Frame::kRecall:
                    return decide_recall(req.who, frame.recall(), oc->state,
                                         target_of(key, frame.recall().seq(), *oc), decide, now);
                case v1::Frame::kEdit:
                    return decide_edit(req.who, frame.edit(), oc->state,
                                       target_of(key, frame.edit().seq(), *oc), decide, now);
                default:
                    return refusal{v1::UNKNOWN_REQUEST, "not an event request"};
            }
        }();
        if (!d) return reply(req.reply, error_frame(0, d.error().code, d.error().message));

        auto entry = std::move(*d);
        apply_membership(oc->state, entry);
        ++oc->in_flight;
        if (entry.recalls != 0) oc->recalls_in_flight.insert(entry.recalls);
        local.pending[dkey] =
            pending_event{conv, entry.seq, entry.server_time_ms, entry.recalls, {req.reply}};
        auto event = entry.bytes;
        const auto sender = entry.sender;
        writer.submit(std::move(entry), [this, shard, key, dkey, event, sender,
                                         accepted_at](storage::entry_result r) {
            // On the writer's thread, in commit order: deliveries first, then the outcome.
            if (r) {
                metrics.fanout(r->inbox.size());
                auto batch = std::make_shared<const delivery>(
                    delivery{event, std::move(r->inbox), accepted_at});
                for (std::size_t i = 0; i < shards.size(); ++i) {
                    post(i, [this, i, tenant = key.tenant, batch] { deliver(i, tenant, *batch); });
                }
                announce_implicit_read(key.tenant, sender, r->cursors);
            }
            const auto ec = r ? boost::system::error_code{} : r.error();
            post(shard, [this, shard, key, dkey, ec] { settle(shard, key, dkey, ec); });
        });
    }

    // On the owner shard, once the entry is durable (or failed): answer everyone waiting.
    void settle(std::size_t shard, const conv_key& key, const dedup_key& dkey,
                boost::system::error_code ec) {
        auto& local = *per_shard[shard];
        auto& oc = local.convs[key];
        --oc.in_flight;
        auto p = local.pending.find(dkey);
        if (p == local.pending.end()) return;
        auto pending = std::move(p->second);
        local.pending.erase(p);
        if (pending.recalls != 0) oc.recalls_in_flight.erase(pending.recalls);
        if (ec) {
            // The store's head did not move: forget what was decided on top of it.
            oc.stale = true;
            if (std::uint64_t held = 0; commit_warnings.allow(held)) {
                spdlog::warn(
                    "commit failed for a conversation of tenant {}: {} ({} more since "
                    "the last of these warnings)",
                    key.tenant, ec.message(), held);
            }
            for (const auto& w : pending.waiters) {
                reply(w, error_frame(0, code_of_storage_error(ec),
                                     "not stored; retry with the same id"));
            }
            return;
        }
        bool first = true;
        for (const auto& w : pending.waiters) {
            reply(w, ack_frame(pending.conv, pending.seq, pending.server_time_ms, !first));
            first = false;
        }
    }

    // The event a recall or edit names, as the owner knows it (committed, or recalled in flight).
    target_event target_of(const conv_key& key, storage::seq_t seq, const owned_conv& oc) {
        target_event t;
        auto events = store.timeline(key.tenant, key.conv, seq, storage::direction::forward, 1);
        if (!events || events->empty() || events->front().seq != seq) return t;
        const auto& e = events->front();
        t.exists = true;
        t.sender = e.sender;
        t.server_time_ms = e.server_time_ms;
        t.kind = e.kind;
        t.recalled = e.recalled || oc.recalls_in_flight.contains(seq);
        return t;
    }

    v1::Frame ack_frame(const conv_id& conv, storage::seq_t seq, std::int64_t time,
                        bool duplicate) {
        v1::Frame f;
        auto* a = f.mutable_send_ack();
        to_proto(conv, *a->mutable_conv());
        a->set_seq(seq);
        a->set_server_time_ms(time);
        a->set_duplicate(duplicate);
        return f;
    }

    std::int64_t event_time(storage::tenant_id t, const storage::dedup_record& rec) {
        auto events = store.timeline(t, rec.conv, rec.seq, storage::direction::forward, 1);
        return events && !events->empty() ? events->front().server_time_ms : 0;
    }

    // ---- receipts ---------------------------------------------------------------------------

    // After an ack or a read mark: in a direct conversation the peer's devices learn the reader's
    // new cursors; in a group, a moved read cursor makes the senders of the messages it passed due
    // a coalesced read-count update.
    void announce_receipts(storage::tenant_id tenant, storage::user_id reader,
                           const std::vector<storage::delivered_change>& changes) {
        for (const auto& change : changes) {
            if (change.conv.type != storage::conv_type::direct) {
                if (change.cursor.read_up_to > change.previous_read_up_to) {
                    const auto owner = owner_of(tenant, change.conv);
                    post(owner, [this, owner, key = conv_key{tenant, change.conv},
                                 window = read_window{change.previous_read_up_to,
                                                      change.cursor.read_up_to}] {
                        note_read(owner, key, window);
                    });
                }
                continue;
            }
            const auto peer = change.conv.id == reader ? change.conv.peer : change.conv.id;
            if (peer == reader) continue;
            auto frame = std::make_shared<v1::Frame>();
            auto* update = frame->mutable_receipt_update();
            to_proto(change.conv, *update->mutable_conv());
            auto* cursor = update->add_cursors();
            cursor->set_user_id(reader);
            cursor->set_delivered_up_to(change.cursor.delivered_up_to);
            cursor->set_read_up_to(change.cursor.read_up_to);
            for (std::size_t i = 0; i < shards.size(); ++i) {
                post(i, [this, i, tenant, peer, frame] {
                    send_to_user(i, {tenant, peer}, *frame);
                });
            }
        }
    }

    // Typing indicators: ephemeral, never stored, dropped for a device whose queue is busy.
    void relay_typing(std::size_t shard, storage::tenant_id tenant,
                      const std::vector<storage::member_record>& members, storage::user_id from,
                      const v1::Frame& frame) {
        auto& local = *per_shard[shard];
        const auto size = frame.ByteSizeLong() + wire::length_prefix_size;
        for (const auto& m : members) {
            if (m.user == from) continue;
            auto it = local.online.find({tenant, m.user});
            if (it == local.online.end()) continue;
            for (auto& device : it->second) {
                if (device.session->has_room(size)) device.session->send(frame);
            }
        }
    }

    // Sending reads everything before the sender's event: others learn of it when that passed
    // events of theirs (not when a sender merely follows its own previous message).
    void announce_implicit_read(storage::tenant_id tenant, storage::user_id sender,
                                std::vector<storage::delivered_change>& changes) {
        std::erase_if(changes, [](const storage::delivered_change& c) {
            return c.cursor.read_up_to <= c.previous_read_up_to + 1;
        });
        if (!changes.empty()) announce_receipts(tenant, sender, changes);
    }

    // On the group's owner shard: remember the window until the next flush.
    void note_read(std::size_t shard, const conv_key& key, read_window window) {
        auto& local = *per_shard[shard];
        auto [it, fresh] = local.reads_to_count.try_emplace(key, window);
        if (!fresh) {
            it->second.after = std::min(it->second.after, window.after);
            it->second.up_to = std::max(it->second.up_to, window.up_to);
        }
        if (local.read_count_armed) return;
        local.read_count_armed = true;
        local.read_count_timer.expires_after(limits.read_count_interval);
        local.read_count_timer.async_wait([this, shard](const boost::system::error_code& ec) {
            if (!ec) flush_read_counts(shard);
        });
    }

    void flush_read_counts(std::size_t shard) {
        auto& local = *per_shard[shard];
        auto due = std::move(local.reads_to_count);
        local.reads_to_count.clear();
        local.read_count_armed = false;
        for (const auto& [key, window] : due) push_read_counts(key, window);
    }

    // One ReceiptUpdate per sender of a message in the window (its newest read_count_window
    // seqs), with the counts of all of them: O(members x window) per group per interval.
    void push_read_counts(const conv_key& key, const read_window& window) {
        const storage::seq_t first =
            std::max(window.after + 1, window.up_to > read_count_window
                                           ? window.up_to - read_count_window + 1
                                           : storage::seq_t{1});
        auto events = store.timeline(key.tenant, key.conv, first, storage::direction::forward,
                                     window.up_to - first + 1);
        auto members = store.member_cursors(key.tenant, key.conv);
        if (!events || !members) {
            spdlog::warn("read counts skipped for a group of tenant {}: store read failed",
                         key.tenant);
            return;
        }
        for (const auto& sender : count_reads(*events, *members)) {
            auto frame = std::make_shared<v1::Frame>();
            auto* update = frame->mutable_receipt_update();
            to_proto(key.conv, *update->mutable_conv());
            for (const auto& c : sender.counts) {
                auto* rc = update->add_read_counts();
                rc->set_seq(c.seq);
                rc->set_read(c.read);
                rc->set_members(c.members);
            }
            for (std::size_t i = 0; i < shards.size(); ++i) {
                post(i, [this, i, user = user_key{key.tenant, sender.sender}, frame] {
                    send_to_user(i, user, *frame);
                });
            }
        }
    }

    // ---- devices and presence ---------------------------------------------------------------

    // On the user's home shard: admit the device (replacing its previous connection) or refuse
    // it, then finish the handshake on the device's shard.
    void register_device(std::size_t home, const requester& who, const endpoint& where,
                         handshake_order order, std::optional<std::uint64_t> resume,
                         v1::Frame welcome) {
        auto& local = *per_shard[home];
        const presence_user user{who.tenant, who.user};
        auto admission = local.presence.admit(user, who.device, where, std::move(order),
                                              limits.max_devices_per_user, now_ms());
        if (admission.superseded) {
            post(where.shard, [w = where.session] {
                if (auto s = w.lock()) {
                    s->close(v1::DISCONNECT_REPLACED, v1::ERROR_CODE_UNSPECIFIED,
                             "the device has a later connection");
                }
            });
            return;
        }
        if (!admission.admitted) {
            post(where.shard,
                 [w = where.session, req_id = welcome.req_id(), max = limits.max_devices_per_user] {
                     auto s = w.lock();
                     if (!s) return;
                     const auto message = "the user has " + std::to_string(max) + " devices online";
                     s->send(error_frame(req_id, v1::TOO_MANY_DEVICES, message));
                     s->close(v1::DISCONNECT_TOO_MANY_DEVICES, v1::TOO_MANY_DEVICES, message);
                 });
            return;
        }
        if (admission.replaced) {
            post(admission.replaced->shard, [w = admission.replaced->session] {
                if (auto s = w.lock()) {
                    s->close(v1::DISCONNECT_REPLACED, v1::ERROR_CODE_UNSPECIFIED,
                             "the same device connected again");
                }
            });
        }
        if (admission.changed) announce_presence(home, user);
        post(where.shard, [this, who, where, resume, welcome = std::move(welcome)]() mutable {
            open_device(who, where, resume, std::move(welcome));
        });
    }

    // On the device's shard: the Welcome with the inbox position, then the catch-up.
    void open_device(const requester& who, const endpoint& where,
                     std::optional<std::uint64_t> resume_hint, v1::Frame welcome) {
        auto s = where.session.lock();
        if (!s) return unregister_device(who, where);
        const auto first = first_page(who, resume_hint);
        if (!first) {
            s->close(v1::DISCONNECT_SERVER_ERROR, v1::UNAVAILABLE, "store read failed");
            return unregister_device(who, where);
        }
        if (draining) {
            // Admitted by the home shard while the drain began: this shard's drain has listed
            // its devices already, so the device is refused here.
            s->close(v1::DISCONNECT_SERVER_DRAINING, v1::DRAINING, draining_message);
            return unregister_device(who, where);
        }
        welcome.mutable_welcome()->set_inbox_head(first->head);
        welcome.mutable_welcome()->set_resume_from(first->after);
        if (!s->admit(welcome)) return unregister_device(who, where);
        const user_key user{who.tenant, who.user};
        auto& devices = per_shard[where.shard]->online[user];
        devices.push_back({s, first->after, true, {}});
        // The first page now, not posted: its pushes join the Welcome in one write (the
        // connection's writer runs after this handler), a system call fewer per login.
        push_page(where.shard, user, s, devices.back(), first->items);
    }

    // The inbox head and the first page from where the device resumes: its hint, else the
    // cursor its Acks left. One read: the head usually comes with the page.
    storage::result<storage::inbox_page> first_page(const requester& who,
                                                    std::optional<std::uint64_t> resume_hint) {
        std::uint64_t from = 0;
        if (resume_hint) {
            from = *resume_hint;
        } else {
            const auto stored = store.device_cursor(who.tenant, who.user, who.device);
            if (!stored) return stored.error();
            from = *stored;
        }
        return store.inbox_page_after(who.tenant, who.user, from, limits.sync_page_max);
    }

    void unregister_device(const requester& who, const endpoint& where) {
        const auto home = home_of(who.tenant, who.user);
        post(home, [this, home, who, where] {
            const presence_user user{who.tenant, who.user};
            if (per_shard[home]->presence.remove(user, who.device, where, now_ms())) {
                announce_presence(home, user);
            }
        });
    }

    // On the user's home shard: the user's presence changed; tell every watcher, one post per
    // shard holding watchers.
    void announce_presence(std::size_t home, const presence_user& user) {
        auto& registry = per_shard[home]->presence;
        const auto& watchers = registry.watchers(user);
        if (watchers.empty()) return;
        auto frame = std::make_shared<v1::Frame>();
        *frame->mutable_presence_notify()->add_users() = registry.state(user, now_ms());
        std::vector<std::vector<std::weak_ptr<net::session>>> by_shard(shards.size());
        for (const auto& w : watchers) by_shard[w.shard].push_back(w.session);
        for (std::size_t i = 0; i < shards.size(); ++i) {
            if (by_shard[i].empty()) continue;
            post(i, [frame, sessions = std::move(by_shard[i])] {
                for (const auto& w : sessions) {
                    if (auto s = w.lock()) s->send(*frame);
                }
            });
        }
    }

    device_entry* device_of(const std::shared_ptr<net::session>& s) {
        auto& local = *per_shard[s->shard()];
        auto it = local.online.find({s->who().tenant, s->who().user});
        if (it == local.online.end()) return nullptr;
        for (auto& d : it->second) {
            if (d.session == s) return &d;
        }
        return nullptr;
    }

    void update_presence(const std::shared_ptr<net::session>& s, const v1::Frame& frame) {
        const auto& update = frame.presence_update();
        const auto status = update.status();
        if (status != v1::PRESENCE_ONLINE && status != v1::PRESENCE_AWAY &&
            status != v1::PRESENCE_DO_NOT_DISTURB) {
            return s->send(error_frame(frame.req_id(), v1::INVALID_ARGUMENT,
                                       "status must be ONLINE, AWAY or DO_NOT_DISTURB"));
        }
        if (update.status_text().size() > max_status_text_bytes) {
            return s->send(error_frame(frame.req_id(), v1::CONTENT_TOO_LARGE,
                                       "status_text is limited to 128 bytes"));
        }
        v1::Frame ok;
        ok.set_req_id(frame.req_id());
        ok.mutable_ok();
        s->send(ok);
        const auto& who = s->who();
        const auto home = home_of(who.tenant, who.user);
        post(home, [this, home, who, where = endpoint{s->shard(), s, s->id()}, status,
                    text = update.status_text()]() mutable {
            const presence_user user{who.tenant, who.user};
            if (per_shard[home]->presence.update(user, who.device, where, status, std::move(text),
                                                 now_ms())) {
                announce_presence(home, user);
            }
        });
    }

    // Follows (or stops following) users of the caller's tenant. Answered by Ok at once; each
    // home shard then sends the current state of its users (one PresenceNotify per home shard),
    // and every later change follows it on the same path, so nothing arrives out of order.
    void subscribe_presence(const std::shared_ptr<net::session>& s, const v1::Frame& frame) {
        auto* device = device_of(s);
        if (!device) return;
        const auto& req = frame.presence_subscribe();
        std::vector<storage::user_id> users(req.user_ids().begin(), req.user_ids().end());
        std::erase(users, storage::user_id{0});
        std::sort(users.begin(), users.end());
        users.erase(std::unique(users.begin(), users.end()), users.end());
        auto& watching = device->watching;
        std::vector<storage::user_id> merged;
        if (req.unsubscribe()) {
            std::set_difference(watching.begin(), watching.end(), users.begin(), users.end(),
                                std::back_inserter(merged));
        } else {
            std::set_union(watching.begin(), watching.end(), users.begin(), users.end(),
                           std::back_inserter(merged));
            if (merged.size() > limits.max_presence_subscriptions) {
                return s->send(error_frame(frame.req_id(), v1::INVALID_ARGUMENT,
                                           "at most " +
                                               std::to_string(limits.max_presence_subscriptions) +
                                               " presence subscriptions per connection"));
            }
        }
        watching = std::move(merged);
        v1::Frame ok;
        ok.set_req_id(frame.req_id());
        ok.mutable_ok();
        s->send(ok);
        follow(s->who().tenant, endpoint{s->shard(), s, s->id()}, users, !req.unsubscribe());
    }

    // Registers (or removes) `watcher` with the home shard of each of `users`; registering
    // answers with their current state.
    void follow(storage::tenant_id tenant, const endpoint& watcher,
                const std::vector<storage::user_id>& users, bool start) {
        std::vector<std::vector<storage::user_id>> by_home(shards.size());
        for (auto u : users) by_home[home_of(tenant, u)].push_back(u);
        for (std::size_t home = 0; home < shards.size(); ++home) {
            if (by_home[home].empty()) continue;
            post(home, [this, home, tenant, watcher, start, users = std::move(by_home[home])] {
                auto& registry = per_shard[home]->presence;
                auto frame = std::make_shared<v1::Frame>();
                auto* notify = frame->mutable_presence_notify();
                const auto now = now_ms();
                for (auto u : users) {
                    if (!start) {
                        registry.unwatch({tenant, u}, watcher);
                        continue;
                    }
                    registry.watch({tenant, u}, watcher);
                    *notify->add_users() = registry.state({tenant, u}, now);
                }
                if (!start) return;
                post(watcher.shard, [w = watcher.session, frame] {
                    if (auto s = w.lock()) s->send(*frame);
                });
            });
        }
    }

    void send_to_user(std::size_t shard, const user_key& user, const v1::Frame& frame) {
        auto& local = *per_shard[shard];
        auto it = local.online.find(user);
        if (it == local.online.end()) return;
        for (auto& device : it->second) device.session->send(frame);
    }

    // ---- administration -------------------------------------------------------------------

    // Runs `f(shard)` on every shard and waits for all, at most `wait`; false if a shard did
    // not answer in time. `f` is shared with the shards and must own what it writes to (a late
    // shard runs it after this returned). The caller is not a shard's thread, and the shards
    // run (the gateway stops its admin listener before its shards).
    template <class F>
    bool on_every_shard(F f, std::chrono::milliseconds wait) {
        struct pending {
            std::mutex mutex;
            std::condition_variable done;
            std::size_t left = 0;
        };
        auto p = std::make_shared<pending>();
        p->left = shards.size();
        auto work = std::make_shared<F>(std::move(f));
        for (std::size_t i = 0; i < shards.size(); ++i) {
            post(i, [i, p, work] {
                (*work)(i);
                std::lock_guard lock(p->mutex);
                if (--p->left == 0) p->done.notify_all();
            });
        }
        std::unique_lock lock(p->mutex);
        return p->done.wait_for(lock, wait, [&] { return p->left == 0; });
    }

    // Closes a shard's devices in even batches over `window`: all reconnect, not all at once.
    void drain_shard(std::size_t shard, std::chrono::milliseconds window) {
        auto sessions = std::make_shared<std::vector<std::weak_ptr<net::session>>>();
        for (const auto& [user, devices] : per_shard[shard]->online) {
            for (const auto& d : devices) sessions->push_back(d.session);
        }
        if (sessions->empty()) return;
        constexpr auto step = std::chrono::milliseconds(100);
        const std::size_t steps =
            std::clamp<std::size_t>(static_cast<std::size_t>(window / step), 1, sessions->size());
        const std::size_t per_step = (sessions->size() + steps - 1) / steps;
        auto timer = std::make_shared<asio::steady_timer>(shards.context(shard));
        close_batch(sessions, 0, per_step, window / steps, timer);
    }

    static void close_batch(std::shared_ptr<std::vector<std::weak_ptr<net::session>>> sessions,
                            std::size_t from, std::size_t per_step,
                            std::chrono::milliseconds interval,
                            std::shared_ptr<asio::steady_timer> timer) {
        const auto to = std::min(sessions->size(), from + per_step);
        for (auto i = from; i < to; ++i) {
            if (auto s = (*sessions)[i].lock()) {
                s->close(v1::DISCONNECT_SERVER_DRAINING, v1::DRAINING, draining_message);
            }
        }
        if (to == sessions->size()) return;
        timer->expires_after(interval);
        timer->async_wait([sessions, to, per_step, interval, timer](boost::system::error_code ec) {
            if (!ec) close_batch(sessions, to, per_step, interval, timer);
        });
    }

    // ---- delivery side --------------------------------------------------------------------

    // On every shard: push a committed event to this shard's online devices of its recipients.
    void deliver(std::size_t shard, storage::tenant_id tenant, const delivery& batch) {
        auto& local = *per_shard[shard];
        std::size_t pushed = 0;
        for (const auto& [user, inbox_seq] : batch.inbox) {
            auto it = local.online.find({tenant, user});
            if (it == local.online.end()) continue;
            for (auto& device : it->second) {
                if (device.catching_up || inbox_seq <= device.cursor) continue;
                if (inbox_seq != device.cursor + 1) {
                    // A gap (a push lost or overtaken): the store has everything up to here.
                    start_catch_up(shard, {tenant, user}, device);
                    continue;
                }
                if (push(device, inbox_seq, batch.event)) ++pushed;
            }
        }
        if (pushed != 0) {
            metrics.messages_delivered(pushed,
                                       std::chrono::steady_clock::now() - batch.accepted_at);
        }
    }

    // Whether the push was queued (false: it does not fit a frame, which decide() prevents).
    bool push(device_entry& device, std::uint64_t inbox_seq, const storage::event_bytes& event) {
        wire::out_frame out;
        if (wire::encode_push(inbox_seq, event, device.session->framing(), limits.max_frame_bytes,
                              out)) {
            return false;
        }
        device.session->send(std::move(out));
        device.cursor = inbox_seq;
        return true;
    }

    void start_catch_up(std::size_t shard, const user_key& user, device_entry& device) {
        device.catching_up = true;
        post(shard, [this, shard, user, s = std::weak_ptr<net::session>(device.session)] {
            catch_up(shard, user, s);
        });
    }

    void resume_catch_up_later(std::size_t shard, const user_key& user,
                               const std::weak_ptr<net::session>& weak) {
        auto timer = std::make_shared<asio::steady_timer>(shards.context(shard));
        timer->expires_after(std::chrono::milliseconds(5));
        timer->async_wait([this, shard, user, weak, timer](const boost::system::error_code& ec) {
            if (!ec) catch_up(shard, user, weak);
        });
    }

    // One page of the device's inbox from the store, then the next, until it is current.
    void catch_up(std::size_t shard, const user_key& user,
                  const std::weak_ptr<net::session>& weak) {
        auto& local = *per_shard[shard];
        const auto session = weak.lock();
        auto it = local.online.find(user);
        if (!session || it == local.online.end()) return;
        auto dev = std::find_if(it->second.begin(), it->second.end(),
                                [&](const device_entry& d) { return d.session == session; });
        if (dev == it->second.end()) return;
        if (session->closing()) return;
        auto page = store.inbox_after(user.tenant, user.user, dev->cursor, limits.sync_page_max);
        if (!page) {
            session->close(v1::DISCONNECT_SERVER_ERROR, v1::UNAVAILABLE, "store read failed");
            return;
        }
        push_page(shard, user, session, *dev, *page);
    }

    // Pushes a page read from the device's cursor on, then reads the next one; a page shorter
    // than the limit reached the head, and live deliveries take over.
    void push_page(std::size_t shard, const user_key& user,
                   const std::shared_ptr<net::session>& session, device_entry& dev,
                   const std::vector<storage::inbox_item>& page) {
        const std::weak_ptr<net::session> weak = session;
        for (const auto& item : page) {
            if (item.bytes && !session->has_room(item.bytes->size() + 16)) {
                // The device reads slower than the store pages: wait for its queue to drain
                // rather than overflow it (only live pushes may close a slow consumer).
                resume_catch_up_later(shard, user, weak);
                return;
            }
            if (item.bytes) {
                push(dev, item.inbox_seq, item.bytes);
            } else {
                dev.cursor = item.inbox_seq;
            }
        }
        if (page.size() == limits.sync_page_max) {
            post(shard, [this, shard, user, weak] { catch_up(shard, user, weak); });
        } else {
            dev.catching_up = false;
        }
    }
};

service::service(net::shard_pool& shards, storage::store& store, storage::commit_writer& writer,
                 decide_limits decide, net::connection_limits limits, server::metrics& metrics)
    : state_(std::make_unique<state>(shards, store, writer, decide, limits, metrics)) {}

service::~service() = default;

std::optional<std::vector<net::session_info>> service::sessions(std::uint64_t after_id,
                                                                std::size_t limit,
                                                                std::chrono::milliseconds wait) {
    auto& st = *state_;
    auto per_shard =
        std::make_shared<std::vector<std::vector<net::session_info>>>(st.shards.size());
    const bool answered = st.on_every_shard(
        [&st, per_shard, after_id](std::size_t shard) {
            auto& out = (*per_shard)[shard];
            for (const auto& [user, devices] : st.per_shard[shard]->online) {
                for (const auto& d : devices) {
                    if (d.session->id() > after_id) out.push_back(d.session->describe());
                }
            }
        },
        wait);
    if (!answered) return std::nullopt;
    std::vector<net::session_info> all;
    for (auto& part : *per_shard) {
        for (auto& info : part) all.push_back(std::move(info));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (all.size() > limit) all.resize(limit);
    return all;
}

std::optional<std::size_t> service::kick(storage::tenant_id tenant, storage::user_id user,
                                         std::optional<storage::device_id> device,
                                         std::chrono::milliseconds wait) {
    auto& st = *state_;
    auto counted = std::make_shared<std::atomic<std::size_t>>(0);
    const bool answered = st.on_every_shard(
        [&st, counted, tenant, user, device](std::size_t shard) {
            auto& kicked = *counted;
            const auto it = st.per_shard[shard]->online.find({tenant, user});
            if (it == st.per_shard[shard]->online.end()) return;
            // Copied: closing a session may change the list.
            auto devices = it->second;
            for (const auto& d : devices) {
                if (device && d.session->who().device != *device) continue;
                if (d.session->closing()) continue;
                d.session->close(v1::DISCONNECT_KICKED, v1::ERROR_CODE_UNSPECIFIED,
                                 "disconnected by an administrator");
                kicked.fetch_add(1, std::memory_order_relaxed);
            }
        },
        wait);
    const auto kicked = counted->load();
    if (kicked != 0) {
        spdlog::warn("admin kick: tenant {} user {}{}: {} connection(s) closed{}", tenant, user,
                     device ? " device " + std::to_string(*device) : std::string(), kicked,
                     answered ? "" : " (a shard had not answered yet)");
    }
    if (!answered) return std::nullopt;
    return kicked;
}

void service::drain(std::chrono::milliseconds window) {
    auto& st = *state_;
    if (st.draining.exchange(true)) return;
    for (std::size_t i = 0; i < st.shards.size(); ++i) {
        st.post(i, [&st, i, window] { st.drain_shard(i, window); });
    }
}

void service::on_open(const std::shared_ptr<net::session>& s, const v1::Hello& hello,
                      v1::Frame welcome) {
    auto& st = *state_;
    if (st.draining) {
        s->close(v1::DISCONNECT_SERVER_DRAINING, v1::DRAINING, state::draining_message);
        return;
    }
    const auto who = s->who();
    const auto home = st.home_of(who.tenant, who.user);
    std::optional<std::uint64_t> resume;
    if (hello.has_resume_inbox_seq()) resume = hello.resume_inbox_seq();
    st.post(home, [&st, home, who, where = endpoint{s->shard(), s, s->id()},
                   order = handshake_order{hello.client_instance(), hello.attempt()}, resume,
                   welcome = std::move(welcome)]() mutable {
        st.register_device(home, who, where, std::move(order), resume, std::move(welcome));
    });
}

void service::on_close(const std::shared_ptr<net::session>& s) {
    auto& st = *state_;
    auto& local = *st.per_shard[s->shard()];
    const auto who = s->who();
    const endpoint where{s->shard(), s, s->id()};
    st.unregister_device(who, where);
    auto it = local.online.find({who.tenant, who.user});
    if (it == local.online.end()) return;
    auto device = std::find_if(it->second.begin(), it->second.end(),
                               [&](const device_entry& d) { return d.session == s; });
    if (device == it->second.end()) return;
    if (!device->watching.empty()) st.follow(who.tenant, where, device->watching, false);
    it->second.erase(device);
    if (it->second.empty()) local.online.erase(it);
}

void service::on_request(const std::shared_ptr<net::session>& s, v1::Frame& frame) {
    auto& st = *state_;
    const auto who = s->who();
    const reply_to here{s->shard(), s, frame.req_id()};
    if (is_query(frame)) return s->send(answer_query(st.store, st.limits, who, frame));
    if (frame.has_send()) st.metrics.message_received();
    switch (frame.body_case()) {
        case v1::Frame::kSend:
        case v1::Frame::kGroupAddMembers:
        case v1::Frame::kGroupRemoveMembers:
        case v1::Frame::kGroupLeave:
        case v1::Frame::kGroupRename:
        case v1::Frame::kGroupSetRole:
        case v1::Frame::kRecall:
        case v1::Frame::kEdit: {
            auto conv = to_conv_id(*conv_of(frame));
            if (!conv)
                return s->send(
                    error_frame(frame.req_id(), conv.error().code, conv.error().message));
            const auto owner = st.owner_of(who.tenant, *conv);
            st.post(owner,
                    [&st, owner, req = event_request{who, std::move(frame), here, 0}]() mutable {
                        st.own(owner, std::move(req));
                    });
            return;
        }
        case v1::Frame::kGroupCreate: {
            const auto id = state::group_id_for(who, frame.group_create().client_msg_id());
            const auto owner = st.owner_of(who.tenant, conv_id::group(id));
            st.post(owner,
                    [&st, owner, req = event_request{who, std::move(frame), here, id}]() mutable {
                        st.own(owner, std::move(req));
                    });
            return;
        }
        case v1::Frame::kAck:
            st.writer.submit(
                storage::ack_inbox{who.tenant, who.user, who.device, frame.ack().inbox_seq()},
                [&st, who](storage::entry_result r) {
                    if (r) st.announce_receipts(who.tenant, who.user, r->cursors);
                });
            return;
        case v1::Frame::kMarkRead: {
            auto conv = to_conv_id(frame.mark_read().conv());
            if (!conv)
                return s->send(
                    error_frame(frame.req_id(), conv.error().code, conv.error().message));
            st.writer.submit(
                storage::mark_read{who.tenant, *conv, who.user, frame.mark_read().up_to_seq()},
                [&st, here, who](storage::entry_result r) {
                    v1::Frame f;
                    if (r) {
                        f.mutable_ok();
                        st.announce_receipts(who.tenant, who.user, r->cursors);
                    } else if (r.error() == storage::errc::invalid_entry) {
                        f = error_frame(0, v1::NOT_MEMBER, "not a member");
                    } else {
                        f = error_frame(0, code_of_storage_error(r.error()), "not stored; retry");
                    }
                    st.reply(here, std::move(f));
                });
            return;
        }
        case v1::Frame::kTyping: {
            auto conv = to_conv_id(frame.typing().conv());
            if (!conv)
                return s->send(
                    error_frame(frame.req_id(), conv.error().code, conv.error().message));
            auto members = st.store.members(who.tenant, *conv);
            if (!members)
                return s->send(error_frame(frame.req_id(), v1::UNAVAILABLE, "store read failed"));
            const bool is_member = std::any_of(members->begin(), members->end(),
                                               [&](const auto& m) { return m.user == who.user; });
            if (!is_member)
                return s->send(error_frame(frame.req_id(), v1::NOT_MEMBER, "not a member"));
            auto out = std::make_shared<v1::Frame>();
            auto* typing = out->mutable_typing();
            *typing->mutable_conv() = frame.typing().conv();
            typing->set_typing(frame.typing().typing());
            typing->set_user_id(who.user);
            auto shared_members =
                std::make_shared<const std::vector<storage::member_record>>(std::move(*members));
            for (std::size_t i = 0; i < st.shards.size(); ++i) {
                st.post(i, [&st, i, tenant = who.tenant, shared_members, from = who.user, out] {
                    st.relay_typing(i, tenant, *shared_members, from, *out);
                });
            }
            return;
        }
        case v1::Frame::kPresenceSubscribe:
            return st.subscribe_presence(s, frame);
        case v1::Frame::kPresenceUpdate:
            return st.update_presence(s, frame);
        default:
            return s->send(error_frame(frame.req_id(), v1::UNKNOWN_REQUEST, "not a request"));
    }
}

}  // namespace tern::server::core
