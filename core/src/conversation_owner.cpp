#include "conversation_owner.hpp"

#include <tern/wire/error_frame.hpp>

#include "tern/v1/events.pb.h"

namespace tern::core {

using wire::error_frame;

namespace {

// What the event says for the notification decision, with the mute settings in force now.
notice_basis basis_of(const v1::Frame& frame, const storage::append_event& entry,
                      std::shared_ptr<const mute_table> mutes) {
    notice_basis b;
    b.sender = entry.sender;
    b.is_message = entry.kind == storage::event_kind::message;
    b.mutes = std::move(mutes);
    if (frame.has_send()) {
        const auto& content = frame.send().content();
        b.flags = content.flags();
        b.mentions_all = content.mention_all();
        b.mentions.assign(content.mentions().begin(), content.mentions().end());
        std::sort(b.mentions.begin(), b.mentions.end());
        b.mentions.erase(std::unique(b.mentions.begin(), b.mentions.end()), b.mentions.end());
    }
    return b;
}

v1::Frame ack_frame(const storage::conv_id& conv, storage::seq_t seq, std::int64_t time,
                    bool duplicate) {
    v1::Frame f;
    auto* a = f.mutable_send_ack();
    to_proto(conv, *a->mutable_conv());
    a->set_seq(seq);
    a->set_server_time_ms(time);
    a->set_duplicate(duplicate);
    return f;
}

}  // namespace

conversation_owner::conversation_owner(const context& ctx, device_table& devices,
                                       receipts& receipts)
    : ctx_(ctx), devices_(devices), receipts_(receipts), shards_(ctx.routes.shard_count()) {}

std::uint64_t conversation_owner::group_id_for(const requester& who,
                                               const std::string& client_msg_id) {
    // The same on every build and node.
    auto h = stable_hash{}.feed(who.tenant).feed(who.user).feed(client_msg_id).value();
    h = (h & 0x7fff'ffff'ffff'ffffULL);
    return h == 0 ? 1 : h;
}

void conversation_owner::submit(event_request req) {
    storage::conv_id conv;
    if (req.kind->conv == nullptr) {  // a group creation: the group its request names
        conv = storage::conv_id::group(group_id_for(req.who, req.kind->client_msg_id(req.frame)));
    } else {
        auto c = to_conv_id(*req.kind->conv(req.frame));
        if (!c)
            return reply(ctx_.routes, req.reply, error_frame(0, c.error().code, c.error().message));
        conv = *c;
    }
    const conv_key key{req.who.tenant, conv};
    const auto owner = ctx_.routes.owner_of(key.tenant, key.conv);
    ctx_.routes.post(owner, [this, owner, key, req = std::move(req)]() mutable {
        own(owner, key, std::move(req));
    });
}

namespace {

v1::Frame reused_frame() {
    return error_frame(0, v1::CLIENT_MSG_ID_REUSED,
                       "client_msg_id already names a different request; use a new id");
}

// Whether a stored dedup record names the same request. Records from before the request's kind
// was kept name a conversation only (they have all expired a dedup_ttl after an upgrade).
bool same_request(const storage::dedup_record& rec, const conv_key& key,
                  const request_identity& identity) {
    if (rec.conv != key.conv) return false;
    if (rec.kind == 0) return true;
    return rec.kind == identity.kind && rec.fingerprint == identity.fingerprint;
}

}  // namespace

bool conversation_owner::answered_by_dedup(shard_convs& local, const conv_key& key,
                                           const dedup_key& dkey, const request_identity& identity,
                                           const event_request& req) {
    if (dkey.client_msg_id.empty()) return false;
    // A retry of a request still in flight waits for the original's outcome.
    if (auto p = local.pending.find(dkey); p != local.pending.end()) {
        if (p->second.identity != identity) {
            reply(ctx_.routes, req.reply, reused_frame());
        } else {
            p->second.waiters.push_back(req.reply);
        }
        return true;
    }
    // A retry of a committed request gets the original (conv, seq).
    auto found = ctx_.store.find_dedup(dkey.tenant, dkey.user, dkey.client_msg_id);
    if (!found) {
        ctx_.report.failed(failure::store_read_failed,
                           "a dedup lookup, tenant " + std::to_string(dkey.tenant));
        reply(ctx_.routes, req.reply, error_frame(0, v1::UNAVAILABLE, "store read failed"));
        return true;
    }
    if (!*found) return false;
    const auto& rec = **found;
    if (!same_request(rec, key, identity)) {
        reply(ctx_.routes, req.reply, reused_frame());
        return true;
    }
    reply(ctx_.routes, req.reply, ack_frame(rec.conv, rec.seq, event_time(key.tenant, rec), true));
    return true;
}

// On the owner shard: dedup, decide, commit.
void conversation_owner::own(std::size_t shard, const conv_key& key, event_request req) {
    const auto accepted_at = std::chrono::steady_clock::now();
    auto& local = shards_[shard];
    const dedup_key dkey{req.who.tenant, req.who.user, req.kind->client_msg_id(req.frame)};
    if (!local.fence.admits(req.who, key.conv, dkey.client_msg_id, ctx_.time.unix_ms())) {
        return reply(ctx_.routes, req.reply,
                     error_frame(0, v1::UNAVAILABLE,
                                 "an earlier request of this device waits for its retry; retry"));
    }
    const auto identity = identity_of(req.frame);
    if (answered_by_dedup(local, key, dkey, identity, req)) return;
    owned_conv* oc = load(local, key, req.reply);
    if (!oc) return;
    const auto target = req.kind->target_seq ? target_of(key, req.kind->target_seq(req.frame), *oc)
                                             : target_event{};
    const auto group_id = key.conv.type == storage::conv_type::group ? key.conv.id : 0;
    auto d = req.kind->decide(
        {req.who, req.frame, oc->state, target, group_id, ctx_.limit, ctx_.time.unix_ms()});
    if (!d) return reply(ctx_.routes, req.reply, error_frame(0, d.error().code, d.error().message));
    // Every stored event fits a Push and a page by itself: nothing is stored that could not be
    // delivered (the configuration's limits keep valid requests well within it).
    if (d->bytes->size() > ctx_.limit.max_event_bytes()) {
        ctx_.report.failed(
            failure::event_too_large,
            "a " + std::string(req.kind->name) + " of tenant " + std::to_string(key.tenant));
        return reply(ctx_.routes, req.reply,
                     error_frame(0, v1::CONTENT_TOO_LARGE, "the event would not fit a frame"));
    }
    d->dedup_kind = identity.kind;
    d->dedup_fingerprint = identity.fingerprint;
    auto basis = basis_of(req.frame, *d, oc->mutes);
    commit(shard, key, dkey, *oc, std::move(*d), std::move(basis), req.reply, accepted_at);
}

void conversation_owner::commit(std::size_t shard, const conv_key& key, const dedup_key& dkey,
                                owned_conv& oc, storage::append_event entry, notice_basis basis,
                                const reply_to& reply_to_sender,
                                std::chrono::steady_clock::time_point accepted_at) {
    const auto seq = entry.seq;
    const auto time = entry.server_time_ms;
    const auto recalls = entry.recalls;
    const auto sender = entry.sender;
    const auto entry_kind = entry.dedup_kind;
    const auto entry_fingerprint = entry.dedup_fingerprint;
    const requester who{key.tenant, entry.sender, entry.sender_device};
    auto event = entry.bytes;
    auto membership = entry.membership;  // applied to the cache once the writer took the entry
    auto done = [this, shard, key, dkey, event, sender, accepted_at,
                 basis = std::move(basis)](storage::entry_result r) mutable {
        // On the writer's thread, in commit order: the deliveries first, then the outcome.
        if (r) {
            ctx_.report.fanout(r->inbox.size());
            devices_.dispatch(key.tenant,
                              std::make_shared<const delivery>(delivery{
                                  event, std::move(r->inbox), accepted_at, std::move(basis)}));
            receipts_.announce_implicit_read(key.tenant, sender, r->cursors);
        }
        const auto ec = r ? boost::system::error_code{} : r.error();
        ctx_.routes.post(shard, [this, shard, key, dkey, ec] { settle(shard, key, dkey, ec); });
    };
    if (!ctx_.commits.try_submit(std::move(entry), std::move(done))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "a request of tenant " + std::to_string(key.tenant));
        shards_[shard].fence.refused(who, key.conv, dkey.client_msg_id, ctx_.time.unix_ms());
        return reply(ctx_.routes, reply_to_sender,
                     error_frame(0, v1::UNAVAILABLE, "the server is busy; retry with the same id"));
    }
    apply_membership(oc, seq, membership);
    ++oc.in_flight;
    if (recalls != 0) oc.recalls_in_flight.insert(recalls);
    shards_[shard].pending[dkey] = pending_event{
        {entry_kind, entry_fingerprint}, key.conv, seq, time, recalls, {reply_to_sender}};
}

// On the owner shard, once the entry is durable (or failed): answer everyone waiting.
void conversation_owner::settle(std::size_t shard, const conv_key& key, const dedup_key& dkey,
                                boost::system::error_code ec) {
    auto& local = shards_[shard];
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
        ctx_.report.failed(
            failure::commit_failed,
            "a conversation of tenant " + std::to_string(key.tenant) + ": " + ec.message());
        for (const auto& w : pending.waiters) {
            reply(ctx_.routes, w,
                  error_frame(0, code_of_storage_error(ec), "not stored; retry with the same id"));
        }
        return;
    }
    bool first = true;
    for (const auto& w : pending.waiters) {
        reply(ctx_.routes, w, ack_frame(pending.conv, pending.seq, pending.server_time_ms, !first));
        first = false;
    }
}

conversation_owner::owned_conv* conversation_owner::load(shard_convs& local, const conv_key& key,
                                                         const reply_to& r) {
    auto& oc = local.convs[key];
    if (oc.stale && oc.in_flight > 0) {
        reply(ctx_.routes, r, error_frame(0, v1::UNAVAILABLE, "conversation recovering; retry"));
        return nullptr;
    }
    if (oc.loaded && !oc.stale) return &oc;
    auto meta = ctx_.store.conversation(key.tenant, key.conv);
    auto members = ctx_.store.members(key.tenant, key.conv);
    if (!meta || !members) {
        ctx_.report.failed(failure::store_read_failed,
                           "a conversation's state, tenant " + std::to_string(key.tenant));
        reply(ctx_.routes, r, error_frame(0, v1::UNAVAILABLE, "store read failed; retry"));
        return nullptr;
    }
    const bool exists = meta->has_value();
    oc.state = conv_state{
        key.conv, exists, exists ? (*meta)->head_seq : 0, {}, exists ? (*meta)->owner : 0};
    auto mutes = std::make_shared<mute_table>();
    for (const auto& m : *members) {
        oc.state.members[m.user] = m.member_role;
        if (m.mute != storage::mute_setting{}) mutes->emplace_back(m.user, m.mute);  // ascending
    }
    oc.mutes = mutes->empty() ? nullptr : std::move(mutes);
    oc.member_ids.reset();
    oc.loaded = true;
    oc.stale = false;
    return &oc;
}

void conversation_owner::apply_membership(owned_conv& oc, storage::seq_t seq,
                                          const std::vector<storage::membership_change>& changes) {
    auto& st = oc.state;
    st.exists = true;
    st.head = seq;
    if (!changes.empty()) oc.member_ids.reset();
    for (const auto& change : changes) {
        if (!change.new_role) {
            st.members.erase(change.user);
            // The store drops the member record, and the setting with it.
            if (mute_of(oc.mutes.get(), change.user) != storage::mute_setting{}) {
                oc.mutes = with_mute(oc.mutes.get(), change.user, {});
            }
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

// The event a recall or edit names, as the owner knows it (committed, or recalled in flight).
target_event conversation_owner::target_of(const conv_key& key, storage::seq_t seq,
                                           const owned_conv& oc) {
    target_event t;
    auto events = ctx_.store.timeline(key.tenant, key.conv, seq, storage::direction::forward, 1);
    if (!events || events->empty() || events->front().seq != seq) return t;
    const auto& e = events->front();
    t.exists = true;
    t.sender = e.sender;
    t.server_time_ms = e.server_time_ms;
    t.kind = e.kind;
    t.recalled = e.recalled || oc.recalls_in_flight.contains(seq);
    return t;
}

std::int64_t conversation_owner::event_time(storage::tenant_id t,
                                            const storage::dedup_record& rec) {
    auto events = ctx_.store.timeline(t, rec.conv, rec.seq, storage::direction::forward, 1);
    return events && !events->empty() ? events->front().server_time_ms : 0;
}

// ---- typing ------------------------------------------------------------------------------------

void conversation_owner::submit_typing(const std::shared_ptr<device_port>& from,
                                       const v1::Frame& frame) {
    auto conv = to_conv_id(frame.typing().conv());
    if (!conv) {
        return answer(*from, frame.req_id(),
                      error_frame(0, conv.error().code, conv.error().message));
    }
    const auto& who = from->who();
    v1::Frame out;
    auto* typing = out.mutable_typing();
    *typing->mutable_conv() = frame.typing().conv();
    typing->set_typing(frame.typing().typing());
    typing->set_user_id(who.user);
    const conv_key key{who.tenant, *conv};
    const auto owner = ctx_.routes.owner_of(key.tenant, key.conv);
    ctx_.routes.post(owner, [this, owner, key, r = reply_to::of(from, frame.req_id()),
                             user = who.user, out = std::move(out)]() mutable {
        relay_typing(owner, key, r, user, std::move(out));
    });
}

// Typing indicators are ephemeral: never stored, and dropped for a device whose queue is busy.
void conversation_owner::relay_typing(std::size_t shard, const conv_key& key, const reply_to& from,
                                      storage::user_id user, v1::Frame frame) {
    auto* oc = load(shards_[shard], key, from);
    if (!oc) return;
    // A direct conversation's two users may type in it before its first message.
    const bool direct = key.conv.type == storage::conv_type::direct;
    const bool party = direct && (user == key.conv.id || user == key.conv.peer);
    if (!oc->state.members.contains(user) && !party) {
        return reply(ctx_.routes, from, error_frame(0, v1::NOT_MEMBER, "not a member"));
    }
    if (!oc->member_ids) {
        auto ids = std::make_shared<std::vector<storage::user_id>>();
        if (direct) {
            ids->push_back(key.conv.id);
            if (key.conv.peer != key.conv.id) ids->push_back(key.conv.peer);
        } else {
            ids->reserve(oc->state.members.size());
            for (const auto& [id, role] : oc->state.members) ids->push_back(id);
        }
        oc->member_ids = std::move(ids);
    }
    devices_.to_members(key.tenant, oc->member_ids, user,
                        std::make_shared<const v1::Frame>(std::move(frame)));
}

// ---- mute --------------------------------------------------------------------------------------

void conversation_owner::submit_mute(const std::shared_ptr<device_port>& from,
                                     const v1::Frame& frame) {
    const auto& req = frame.mute_conversation();
    const auto fail = [&](v1::ErrorCode code, const std::string& message) {
        answer(*from, frame.req_id(), error_frame(0, code, message));
    };
    auto conv = to_conv_id(req.conv());
    if (!conv) return fail(conv.error().code, conv.error().message);
    if (!v1::NotifyLevel_IsValid(req.level())) return fail(v1::INVALID_ARGUMENT, "unknown level");
    const storage::mute_setting mute{static_cast<storage::notify_level>(req.level()),
                                     req.until_ms()};
    if (mute.level == storage::notify_level::all && mute.until_ms != 0) {
        return fail(v1::INVALID_ARGUMENT, "until_ms needs a level that mutes something");
    }
    if (mute.until_ms < 0 || (mute.until_ms != 0 && mute.until_ms <= ctx_.time.unix_ms())) {
        return fail(v1::INVALID_ARGUMENT, "until_ms is in the past");
    }
    const conv_key key{from->who().tenant, *conv};
    const auto owner = ctx_.routes.owner_of(key.tenant, key.conv);
    ctx_.routes.post(
        owner, [this, owner, key, r = reply_to::of(from, frame.req_id()), user = from->who().user,
                mute] { set_mute(owner, key, r, user, mute); });
}

// On the owner shard: the setting takes effect for the events decided from now on; the caller is
// answered, and their devices told, once it is durable.
void conversation_owner::set_mute(std::size_t shard, const conv_key& key, const reply_to& from,
                                  storage::user_id user, storage::mute_setting mute) {
    auto* oc = load(shards_[shard], key, from);
    if (!oc) return;
    if (!oc->state.members.contains(user)) {
        const bool direct = key.conv.type == storage::conv_type::direct;
        if (direct && (user == key.conv.id || user == key.conv.peer)) {
            return reply(ctx_.routes, from,
                         error_frame(0, v1::NOT_FOUND, "the conversation has no messages yet"));
        }
        return reply(ctx_.routes, from, error_frame(0, v1::NOT_MEMBER, "not a member"));
    }
    auto done = [this, shard, key, from, user, mute](storage::entry_result r) {
        if (r) {
            reply(ctx_.routes, from, ok_frame(0));
            auto update = std::make_shared<v1::Frame>();
            auto* u = update->mutable_mute_update();
            to_proto(key.conv, *u->mutable_conv());
            u->set_level(static_cast<v1::NotifyLevel>(mute.level));
            u->set_until_ms(mute.until_ms);
            devices_.to_user(key.tenant, user, std::move(update));
        } else {
            reply(ctx_.routes, from,
                  error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
        }
        const auto ec = r ? boost::system::error_code{} : r.error();
        ctx_.routes.post(shard, [this, shard, key, ec] { mute_settled(shard, key, ec); });
    };
    if (!ctx_.commits.try_submit(storage::set_mute{key.tenant, key.conv, user, mute},
                                 std::move(done))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "a mute setting of tenant " + std::to_string(key.tenant));
        return reply(ctx_.routes, from,
                     error_frame(0, v1::UNAVAILABLE, "the server is busy; retry"));
    }
    oc->mutes = with_mute(oc->mutes.get(), user, mute);
    ++oc->in_flight;
}

void conversation_owner::mute_settled(std::size_t shard, const conv_key& key,
                                      boost::system::error_code ec) {
    auto& oc = shards_[shard].convs[key];
    --oc.in_flight;
    if (!ec) return;
    // The cached setting was never stored: read the conversation again once nothing is in flight.
    oc.stale = true;
    ctx_.report.failed(
        failure::commit_failed,
        "a mute setting of tenant " + std::to_string(key.tenant) + ": " + ec.message());
}

// ---- urgent acknowledgements -------------------------------------------------------------------

void conversation_owner::submit_urgent_ack(const std::shared_ptr<device_port>& from,
                                           const v1::Frame& frame) {
    const auto& req = frame.acknowledge_urgent();
    auto conv = to_conv_id(req.conv());
    if (!conv) {
        return answer(*from, frame.req_id(),
                      error_frame(0, conv.error().code, conv.error().message));
    }
    if (req.seq() == 0) {
        return answer(*from, frame.req_id(), error_frame(0, v1::INVALID_ARGUMENT, "no seq"));
    }
    const conv_key key{from->who().tenant, *conv};
    const auto owner = ctx_.routes.owner_of(key.tenant, key.conv);
    ctx_.routes.post(owner, [this, owner, key, r = reply_to::of(from, frame.req_id()),
                             ack = urgent_ack_key{req.seq(), from->who().user}] {
        acknowledge(owner, key, r, ack);
    });
}

// On the owner shard: checks what is acknowledged, commits the acknowledgement once per member
// and event (a retry while it is in flight waits for the same outcome; one after it is answered
// at once), and tells the sender's and the member's devices once it is durable.
void conversation_owner::acknowledge(std::size_t shard, const conv_key& key, const reply_to& from,
                                     urgent_ack_key ack) {
    auto& local = shards_[shard];
    auto* oc = load(local, key, from);
    if (!oc) return;
    const auto refuse = [&](v1::ErrorCode code, const std::string& message) {
        reply(ctx_.routes, from, error_frame(0, code, message));
    };
    if (!oc->state.members.contains(ack.user)) {
        if (!oc->state.exists) return refuse(v1::NOT_FOUND, "no such event");
        return refuse(v1::NOT_MEMBER, "not a member");
    }
    if (auto waiting = oc->acks_in_flight.find(ack); waiting != oc->acks_in_flight.end()) {
        waiting->second.push_back(from);
        return;
    }
    const auto failed_read = [&](const boost::system::error_code& ec) {
        ctx_.report.failed(failure::store_read_failed, "an urgent acknowledgement of tenant " +
                                                           std::to_string(key.tenant) + ": " +
                                                           ec.message());
        refuse(code_of_storage_error(ec), "the store could not be read; retry");
    };
    const auto events =
        ctx_.store.timeline(key.tenant, key.conv, ack.seq, storage::direction::forward, 1);
    if (!events) return failed_read(events.error());
    const auto member = ctx_.store.member(key.tenant, key.conv, ack.user);
    if (!member) return failed_read(member.error());
    // An event before the member joined is one they cannot see.
    if (events->empty() || events->front().seq != ack.seq || !*member ||
        (*member)->joined_seq > ack.seq) {
        return refuse(v1::NOT_FOUND, "no such event");
    }
    const auto& event = events->front();
    if (event.recalled) return refuse(v1::ALREADY_RECALLED, "the message was recalled");
    if (!is_urgent_message(event)) return refuse(v1::INVALID_ARGUMENT, "not an urgent message");
    if (event.sender == ack.user) {
        return refuse(v1::INVALID_ARGUMENT, "a sender does not acknowledge their own message");
    }
    const auto before = ctx_.store.urgent_acked(key.tenant, key.conv, ack.seq, ack.user);
    if (!before) return failed_read(before.error());
    if (*before) return reply(ctx_.routes, from, ok_frame(0));  // the first time stays

    const auto at_ms = ctx_.time.unix_ms();
    auto done = [this, shard, key, ack, at_ms, sender = event.sender](storage::entry_result r) {
        const auto ec = r ? boost::system::error_code{} : r.error();
        ctx_.routes.post(shard, [this, shard, key, ack, at_ms, sender, ec] {
            acknowledged(shard, key, ack, at_ms, sender, ec);
        });
    };
    if (!ctx_.commits.try_submit(
            storage::ack_urgent{key.tenant, key.conv, ack.seq, ack.user, at_ms}, std::move(done))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "an urgent acknowledgement of tenant " + std::to_string(key.tenant));
        return refuse(v1::UNAVAILABLE, "the server is busy; retry");
    }
    oc->acks_in_flight[ack].push_back(from);
    ++oc->in_flight;
}

void conversation_owner::acknowledged(std::size_t shard, const conv_key& key, urgent_ack_key ack,
                                      std::int64_t at_ms, storage::user_id sender,
                                      boost::system::error_code ec) {
    auto& oc = shards_[shard].convs[key];
    --oc.in_flight;
    auto node = oc.acks_in_flight.extract(ack);
    const auto& waiters = node.mapped();
    if (ec) {
        ctx_.report.failed(failure::commit_failed, "an urgent acknowledgement of tenant " +
                                                       std::to_string(key.tenant) + ": " +
                                                       ec.message());
        for (const auto& w : waiters) {
            reply(ctx_.routes, w, error_frame(0, code_of_storage_error(ec), "not stored; retry"));
        }
        return;
    }
    for (const auto& w : waiters) reply(ctx_.routes, w, ok_frame(0));
    auto event = std::make_shared<v1::Frame>();
    auto* e = event->mutable_urgent_acknowledged();
    to_proto(key.conv, *e->mutable_conv());
    e->set_seq(ack.seq);
    e->set_user_id(ack.user);
    e->set_at_ms(at_ms);
    const std::shared_ptr<const v1::Frame> shared = std::move(event);
    devices_.to_user(key.tenant, sender, shared);
    devices_.to_user(key.tenant, ack.user, shared);
}

}  // namespace tern::core
