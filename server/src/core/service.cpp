#include "core/service.hpp"

#include <chrono>
#include <functional>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/queries.hpp"
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
    std::uint64_t cursor = 0;  // the newest inbox_seq pushed or synced to the device
    bool catching_up = false;  // reading the store; live pushes wait for it
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
    std::unordered_map<user_key, std::vector<device_entry>, key_hash> online;
    std::unordered_map<conv_key, owned_conv, key_hash> convs;
    std::unordered_map<dedup_key, pending_event, key_hash> pending;
};

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

struct service::state {
    state(net::shard_pool& p, storage::store& s, storage::commit_writer& w, decide_limits d,
          net::connection_limits l)
        : shards(p), store(s), writer(w), decide(d), limits(l) {
        for (std::size_t i = 0; i < shards.size(); ++i) {
            per_shard.push_back(std::make_unique<shard_state>());
        }
    }

    net::shard_pool& shards;
    storage::store& store;
    storage::commit_writer& writer;
    decide_limits decide;
    net::connection_limits limits;
    std::vector<std::unique_ptr<shard_state>> per_shard;

    template <class F>
    void post(std::size_t shard, F&& f) {
        asio::post(shards.context(shard), std::forward<F>(f));
    }

    std::size_t owner_of(storage::tenant_id t, const conv_id& c) const {
        return key_hash{}(conv_key{t, c}) % shards.size();
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
        writer.submit(std::move(entry), [this, shard, key, dkey, event](storage::entry_result r) {
            // On the writer's thread, in commit order: deliveries first, then the outcome.
            if (r) {
                auto batch = std::make_shared<
                    const std::pair<storage::event_bytes, std::vector<storage::inbox_assignment>>>(
                    event, std::move(r->inbox));
                for (std::size_t i = 0; i < shards.size(); ++i) {
                    post(i, [this, i, tenant = key.tenant, batch] { deliver(i, tenant, *batch); });
                }
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
            spdlog::warn("commit failed for a conversation of tenant {}: {}", key.tenant,
                         ec.message());
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
    // new cursors. (Coalesced read counts for group senders are still to come.)
    void announce_receipts(storage::tenant_id tenant, storage::user_id reader,
                           const std::vector<storage::delivered_change>& changes) {
        for (const auto& change : changes) {
            if (change.conv.type != storage::conv_type::direct) continue;
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

    void send_to_user(std::size_t shard, const user_key& user, const v1::Frame& frame) {
        auto& local = *per_shard[shard];
        auto it = local.online.find(user);
        if (it == local.online.end()) return;
        for (auto& device : it->second) device.session->send(frame);
    }

    // ---- delivery side --------------------------------------------------------------------

    // On every shard: push a committed event to this shard's online devices of its recipients.
    void deliver(
        std::size_t shard, storage::tenant_id tenant,
        const std::pair<storage::event_bytes, std::vector<storage::inbox_assignment>>& batch) {
        auto& local = *per_shard[shard];
        for (const auto& [user, inbox_seq] : batch.second) {
            auto it = local.online.find({tenant, user});
            if (it == local.online.end()) continue;
            for (auto& device : it->second) {
                if (device.catching_up || inbox_seq <= device.cursor) continue;
                if (inbox_seq != device.cursor + 1) {
                    // A gap (a push lost or overtaken): the store has everything up to here.
                    start_catch_up(shard, {tenant, user}, device);
                    continue;
                }
                push(device, inbox_seq, batch.first);
            }
        }
    }

    void push(device_entry& device, std::uint64_t inbox_seq, const storage::event_bytes& event) {
        wire::out_frame out;
        if (wire::encode_push(inbox_seq, event, device.session->framing(), limits.max_frame_bytes,
                              out)) {
            return;
        }
        device.session->send(std::move(out));
        device.cursor = inbox_seq;
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
        const auto page_size = limits.sync_page_max;
        auto page = store.inbox_after(user.tenant, user.user, dev->cursor, page_size);
        if (!page) {
            session->close(v1::DISCONNECT_SERVER_ERROR, v1::UNAVAILABLE, "store read failed");
            return;
        }
        for (const auto& item : *page) {
            if (item.bytes && !session->has_room(item.bytes->size() + 16)) {
                // The device reads slower than the store pages: wait for its queue to drain
                // rather than overflow it (only live pushes may close a slow consumer).
                resume_catch_up_later(shard, user, weak);
                return;
            }
            if (item.bytes) {
                push(*dev, item.inbox_seq, item.bytes);
            } else {
                dev->cursor = item.inbox_seq;
            }
        }
        if (page->size() == page_size) {
            post(shard, [this, shard, user, weak] { catch_up(shard, user, weak); });
        } else {
            dev->catching_up = false;
        }
    }
};

service::service(net::shard_pool& shards, storage::store& store, storage::commit_writer& writer,
                 decide_limits decide, net::connection_limits limits)
    : state_(std::make_unique<state>(shards, store, writer, decide, limits)) {}

service::~service() = default;

void service::on_open(const std::shared_ptr<net::session>& s, const v1::Hello& hello,
                      v1::Welcome& welcome) {
    auto& st = *state_;
    const auto& who = s->who();
    const auto head = st.store.inbox_head(who.tenant, who.user);
    const auto stored = st.store.device_cursor(who.tenant, who.user, who.device);
    const std::uint64_t inbox_head = head ? *head : 0;
    std::uint64_t resume =
        hello.has_resume_inbox_seq() ? hello.resume_inbox_seq() : (stored ? *stored : 0);
    resume = std::min(resume, inbox_head);
    welcome.set_inbox_head(inbox_head);
    welcome.set_resume_from(resume);

    const user_key user{who.tenant, who.user};
    auto& devices = st.per_shard[s->shard()]->online[user];
    devices.push_back({s, resume, false});
    st.start_catch_up(s->shard(), user, devices.back());
}

void service::on_close(const std::shared_ptr<net::session>& s) {
    auto& local = *state_->per_shard[s->shard()];
    const user_key user{s->who().tenant, s->who().user};
    auto it = local.online.find(user);
    if (it == local.online.end()) return;
    std::erase_if(it->second, [&](const device_entry& d) { return d.session == s; });
    if (it->second.empty()) local.online.erase(it);
}

void service::on_request(const std::shared_ptr<net::session>& s, v1::Frame& frame) {
    auto& st = *state_;
    const auto who = s->who();
    const reply_to here{s->shard(), s, frame.req_id()};
    if (is_query(frame)) return s->send(answer_query(st.store, st.limits, who, frame));
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
        case v1::Frame::kPresenceUpdate:
            return s->send(error_frame(frame.req_id(), v1::UNAVAILABLE, "not served yet"));
        default:
            return s->send(error_frame(frame.req_id(), v1::UNKNOWN_REQUEST, "not a request"));
    }
}

}  // namespace tern::server::core
