#include "schedule_desk.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "conversation_owner.hpp"
#include "decide.hpp"
#include "decide_rules.hpp"
#include "keys.hpp"
#include "requests.hpp"
#include "user_profile.hpp"

namespace tern::core {

using wire::error_frame;

namespace {

// How far ahead a message may be scheduled: a year, and a day for a leap year.
constexpr std::int64_t max_ahead_ms = 366LL * 24 * 3600 * 1000;
// Due messages one poll hands out, at most (the next poll, a second later, takes the rest).
constexpr std::size_t poll_batch = 1'000;
// The release clock's pace: while anything is due (in flight, or refused for a moment), and at
// most this long between polls otherwise (each schedule arms a poll for its own time).
constexpr std::chrono::milliseconds busy_poll{1'000};
constexpr std::chrono::milliseconds idle_poll{60'000};
// Scheduled messages one sender may have waiting.
constexpr std::size_t max_scheduled_per_sender = 100;

// The sender of a release, as the conversation's owner sees it: a device of the sender's that is
// no connection. The owner's one answer (SendAck or Error) comes back to `answered` on the shard
// it names.
class release_port final : public device_port {
public:
    release_port(requester who, std::size_t shard, std::function<void(const v1::Frame&)> answered)
        : who_(std::move(who)), shard_(shard), answered_(std::move(answered)) {}

    const requester& who() const noexcept override { return who_; }
    std::size_t shard() const noexcept override { return shard_; }
    std::uint64_t id() const noexcept override { return 0; }
    bool admit(const v1::Frame&) override { return false; }
    void send(const v1::Frame& frame) override { answered_(frame); }
    bool push(std::uint64_t, const storage::event_bytes&, notice) override { return true; }
    bool has_room(std::size_t) const noexcept override { return true; }
    std::size_t queued_frames() const noexcept override { return 0; }
    bool closing() const noexcept override { return false; }
    void close(v1::DisconnectReason, v1::ErrorCode, std::string) override {}
    device_info describe() override { return {0, who_, shard_, "scheduled", {}, 0, 0, {}}; }

private:
    requester who_;
    std::size_t shard_;
    std::function<void(const v1::Frame&)> answered_;
};

// A refusal a later release may not meet: the store or the commit queue, not the message.
bool passing(v1::ErrorCode code) {
    return code == v1::UNAVAILABLE || code == v1::STORAGE_FULL || code == v1::TIMEOUT ||
           code == v1::INTERNAL || code == v1::RATE_LIMITED || code == v1::DRAINING;
}

v1::Frame refusal_frame(const refusal& r) { return error_frame(0, r.code, r.message); }

}  // namespace

schedule_desk::schedule_desk(const context& ctx, device_table& devices, conversation_owner& owner)
    : ctx_(ctx), devices_(devices), owner_(owner), homes_(ctx.routes.shard_count()) {}

std::uint64_t schedule_desk::id_for(storage::tenant_id tenant, storage::user_id sender,
                                    const std::string& client_msg_id) {
    // Not a group's id: another feed, so that the two never need to differ by luck.
    auto h = stable_hash{}.feed(tenant).feed(sender).feed(client_msg_id).feed(7).value();
    h &= 0x7fff'ffff'ffff'ffffULL;
    return h == 0 ? 1 : h;
}

void to_proto(const storage::scheduled_message& m, v1::ScheduledMessage& out) {
    out.set_schedule_id(m.id);
    to_proto(m.conv, *out.mutable_conv());
    out.set_client_msg_id(m.client_msg_id);
    // Stored as the device sent it, checked then: a record that no longer parses shows empty.
    (void)out.mutable_content()->ParseFromString(m.content);
    out.set_release_at_ms(m.release_at_ms);
    out.set_created_ms(m.created_ms);
}

// ---- requests ----------------------------------------------------------------------------------

void schedule_desk::on_request(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    const auto who = device->who();
    const auto home = ctx_.routes.home_of(who.tenant, who.user);
    ctx_.routes.post(home, [this, home, who, to = reply_to::of(device, frame.req_id()), frame] {
        switch (frame.body_case()) {
            case v1::Frame::kScheduleSend:
                return schedule(home, who, to, frame);
            case v1::Frame::kEditScheduled:
                return edit(home, who, to, frame);
            case v1::Frame::kCancelScheduled:
                return cancel(home, who, to, frame);
            default:
                return;  // the request table routes only these here
        }
    });
}

namespace {

using rules::refuse;

// Up to how far in the past a release time is taken as "now": the sender's clock and the
// request's way here.
constexpr std::int64_t past_tolerance_ms = 60'000;

// The release time asked for, checked: at most a year ahead; a time just past means now.
decided<std::int64_t> checked_time(std::int64_t at_ms, std::int64_t now_ms) {
    if (at_ms < now_ms - past_tolerance_ms) {
        return refuse(v1::INVALID_ARGUMENT, "release time: not in the past");
    }
    at_ms = std::max(at_ms, now_ms);
    if (at_ms - now_ms > max_ahead_ms) {
        return refuse(v1::INVALID_ARGUMENT, "release time: at most 366 days ahead");
    }
    return at_ms;
}

decided<void> checked_content(const v1::Content& content, const limits& limit) {
    if ((content.flags() & v1::MESSAGE_FLAG_URGENT) != 0) {
        return refuse(v1::INVALID_ARGUMENT,
                      "content: an urgent message is sent now, not scheduled");
    }
    return check_content_shape(content, limit);
}

}  // namespace

void schedule_desk::schedule(std::size_t home, const requester& who, const reply_to& to,
                             v1::Frame frame) {
    const auto& req = frame.schedule_send();
    const auto refused = [&](v1::ErrorCode code, const std::string& why) {
        reply(ctx_.routes, to, error_frame(0, code, why));
    };
    const auto unreadable = [&] {
        ctx_.report.failed(failure::store_read_failed,
                           "a scheduled message, tenant " + std::to_string(who.tenant));
        refused(v1::UNAVAILABLE, "store read failed; retry");
    };
    const auto conv = to_conv_id(req.conv());
    if (!conv) return reply(ctx_.routes, to, refusal_frame(conv.error()));
    if (req.client_msg_id().empty() ||
        req.client_msg_id().size() > ctx_.limit.max_client_msg_id_bytes) {
        return refused(v1::INVALID_ARGUMENT, "client_msg_id: 1 to 64 bytes");
    }
    if (auto ok = checked_content(req.content(), ctx_.limit); !ok) {
        return reply(ctx_.routes, to, refusal_frame(ok.error()));
    }
    // A member names the conversation (checked again at the release, by its owner).
    const auto is_member = [&](storage::user_id user) -> std::optional<bool> {
        if (conv->type == storage::conv_type::direct) return user == conv->id || user == conv->peer;
        const auto m = ctx_.store.member(who.tenant, *conv, user);
        if (!m) return std::nullopt;
        return m->has_value();
    };
    const auto sender_in = is_member(who.user);
    if (!sender_in) return unreadable();
    if (!*sender_in) return refused(v1::NOT_MEMBER, "not a member of the conversation");

    const auto now = ctx_.time.unix_ms();
    std::int64_t at = now;
    switch (req.release_case()) {
        case v1::ScheduleSend::kAtMs: {
            const auto t = checked_time(req.at_ms(), now);
            if (!t) return reply(ctx_.routes, to, refusal_frame(t.error()));
            at = *t;
            break;
        }
        case v1::ScheduleSend::kAtWorkStartOf: {
            const auto user = req.at_work_start_of();
            const auto in = is_member(user);
            if (!in) return unreadable();
            if (user == 0 || !*in) {
                return refused(v1::INVALID_ARGUMENT,
                               "at_work_start_of: a member of the conversation");
            }
            const auto stored = ctx_.store.user_settings(who.tenant, user);
            if (!stored) return unreadable();
            const auto profile =
                in_force(profile_of_stored(*stored), devices_.policy(who.tenant).get());
            if (profile && profile->hours && !profile->hours->at(now).working) {
                at = profile->hours->next_start(now);
                if (at == work_schedule::never_ms) {
                    return refused(v1::INVALID_ARGUMENT,
                                   "at_work_start_of: no work start within a year");
                }
            }
            break;
        }
        case v1::ScheduleSend::RELEASE_NOT_SET:
            return refused(v1::INVALID_ARGUMENT, "release: at_ms or at_work_start_of");
    }

    const auto id = id_for(who.tenant, who.user, req.client_msg_id());
    const key k{who.tenant, who.user, id};
    if (answered_busy(home, k, to)) return;
    const auto content = req.content().SerializeAsString();
    const auto existing = ctx_.store.scheduled(who.tenant, who.user, id);
    if (!existing) return unreadable();
    if (*existing) {
        // A retry: the stored message answers it, if it is the same one.
        const auto& m = **existing;
        if (m.conv != *conv || m.content != content) {
            return refused(v1::CLIENT_MSG_ID_REUSED,
                           "client_msg_id names another scheduled message");
        }
        v1::Frame out;
        to_proto(m, *out.mutable_scheduled_message());
        return reply(ctx_.routes, to, std::move(out));
    }
    const auto sent = ctx_.store.find_dedup(who.tenant, who.user, req.client_msg_id());
    const auto waiting = ctx_.store.scheduled_of(who.tenant, who.user);
    if (!sent || !waiting) return unreadable();
    if (*sent)
        return refused(v1::CLIENT_MSG_ID_REUSED, "client_msg_id: a message was sent with it");
    if (waiting->size() >= max_scheduled_per_sender) {
        return refused(v1::SCHEDULED_LIMIT, "at most 100 scheduled messages; cancel one");
    }
    storage::scheduled_message m{who.user, id, *conv, req.client_msg_id(), content, at, now};
    write(home, k, storage::put_scheduled{who.tenant, m},
          stored_then(to, who.tenant, m, v1::SCHEDULED_STATE_SCHEDULED));
}

void schedule_desk::edit(std::size_t home, const requester& who, const reply_to& to,
                         v1::Frame frame) {
    const auto& req = frame.edit_scheduled();
    const key k{who.tenant, who.user, req.schedule_id()};
    if (auto ok = checked_content(req.content(), ctx_.limit); !ok) {
        return reply(ctx_.routes, to, refusal_frame(ok.error()));
    }
    auto stored = changeable(home, k, to);
    if (!stored) return;
    auto m = std::move(*stored);
    m.content = req.content().SerializeAsString();
    if (req.has_release_at_ms()) {
        const auto t = checked_time(req.release_at_ms(), ctx_.time.unix_ms());
        if (!t) return reply(ctx_.routes, to, refusal_frame(t.error()));
        m.release_at_ms = *t;
    }
    write(home, k, storage::put_scheduled{who.tenant, m},
          stored_then(to, who.tenant, m, v1::SCHEDULED_STATE_EDITED));
}

void schedule_desk::cancel(std::size_t home, const requester& who, const reply_to& to,
                           v1::Frame frame) {
    const auto id = frame.cancel_scheduled().schedule_id();
    const key k{who.tenant, who.user, id};
    const auto stored = changeable(home, k, to);
    if (!stored) return;
    write(home, k, storage::remove_scheduled{who.tenant, who.user, id},
          [this, to, m = *stored, tenant = who.tenant](const storage::entry_result& r) {
              if (!r) {
                  return reply(
                      ctx_.routes, to,
                      error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
              }
              reply(ctx_.routes, to, ok_frame(0));
              tell(tenant, m, v1::SCHEDULED_STATE_CANCELLED);
          });
}

bool schedule_desk::answered_busy(std::size_t home, const key& k, const reply_to& to) {
    const auto& table = homes_[home];
    const auto b = table.busy.find(k);
    if (b == table.busy.end()) return false;
    if (b->second == doing::releasing) {
        reply(ctx_.routes, to, error_frame(0, v1::SCHEDULED_RELEASING, "it is being released"));
    } else {
        reply(ctx_.routes, to,
              error_frame(0, v1::UNAVAILABLE, "another change of it is in progress; retry"));
    }
    return true;
}

std::optional<storage::scheduled_message> schedule_desk::changeable(std::size_t home, const key& k,
                                                                    const reply_to& to) {
    if (answered_busy(home, k, to)) return std::nullopt;
    const auto& [tenant, sender, id] = k;
    auto stored = ctx_.store.scheduled(tenant, sender, id);
    if (!stored) {
        ctx_.report.failed(failure::store_read_failed,
                           "a scheduled message, tenant " + std::to_string(tenant));
        reply(ctx_.routes, to, error_frame(0, v1::UNAVAILABLE, "store read failed; retry"));
        return std::nullopt;
    }
    if (!*stored) {
        reply(ctx_.routes, to,
              error_frame(0, v1::NOT_FOUND, "no such scheduled message (released or cancelled)"));
        return std::nullopt;
    }
    return std::move(**stored);
}

std::function<void(const storage::entry_result&)> schedule_desk::stored_then(
    const reply_to& to, storage::tenant_id tenant, storage::scheduled_message m,
    v1::ScheduledState state) {
    return [this, to, tenant, m = std::move(m), state](const storage::entry_result& r) {
        if (!r) {
            return reply(ctx_.routes, to,
                         error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
        }
        v1::Frame out;
        to_proto(m, *out.mutable_scheduled_message());
        reply(ctx_.routes, to, std::move(out));
        tell(tenant, m, state);
        wake_at(m.release_at_ms);
    };
}

void schedule_desk::write(std::size_t home, const key& k, storage::log_entry entry,
                          std::function<void(const storage::entry_result&)> done) {
    homes_[home].busy[k] = doing::writing;
    auto finished = [this, home, k, done](storage::entry_result r) {
        ctx_.routes.post(home, [this, home, k] { homes_[home].busy.erase(k); });
        done(r);
    };
    if (!ctx_.commits.try_submit(std::move(entry), finished)) {
        ctx_.report.failed(failure::commit_queue_full,
                           "a scheduled message of tenant " + std::to_string(std::get<0>(k)));
        homes_[home].busy.erase(k);
        done(storage::entry_result{make_error_code(storage::errc::log_unavailable)});
    }
}

// ---- the release clock -------------------------------------------------------------------------

void schedule_desk::start() {
    ctx_.routes.post(0, [this] { poll(true); });
}

void schedule_desk::wake_at(std::int64_t release_at_ms) {
    const auto wait = std::max<std::int64_t>(0, release_at_ms - ctx_.time.unix_ms());
    ctx_.routes.post_after(0, std::chrono::milliseconds{wait}, [this] { poll(false); });
}

void schedule_desk::poll(bool loop) {
    const auto now = ctx_.time.unix_ms();
    auto next = idle_poll;
    const auto due = ctx_.store.scheduled_due(now, poll_batch);
    if (!due) {
        ctx_.report.failed(failure::store_read_failed, "the scheduled messages due");
        next = busy_poll;
    } else if (!due->empty()) {
        for (const auto& d : *due) {
            if (!ctx_.routes.serves(d.tenant)) continue;  // a cluster term: another partition's
            const auto home = ctx_.routes.home_of(d.tenant, d.sender);
            ctx_.routes.post(home, [this, home, d] { release(home, d); });
        }
        next = busy_poll;
    } else if (const auto first = ctx_.store.scheduled_due(INT64_MAX, 1);
               first && !first->empty()) {
        next = std::min(next, std::chrono::milliseconds{first->front().release_at_ms - now});
    }
    if (loop) ctx_.routes.post_after(0, next, [this] { poll(true); });
}

void schedule_desk::release(std::size_t home, const storage::scheduled_ref& due) {
    const key k{due.tenant, due.sender, due.id};
    auto& table = homes_[home];
    if (table.busy.contains(k)) return;  // being changed or released: the next poll sees
    const auto stored = ctx_.store.scheduled(due.tenant, due.sender, due.id);
    if (!stored) {
        return ctx_.report.failed(failure::store_read_failed,
                                  "a scheduled message, tenant " + std::to_string(due.tenant));
    }
    if (!*stored || (*stored)->release_at_ms > ctx_.time.unix_ms()) return;  // cancelled, moved
    const auto& m = **stored;
    v1::Frame send;
    auto& s = *send.mutable_send();
    to_proto(m.conv, *s.mutable_conv());
    s.set_client_msg_id(m.client_msg_id);
    if (!s.mutable_content()->ParseFromString(m.content)) {
        v1::Error why;
        why.set_code(v1::INTERNAL);
        why.set_message("the stored content is unreadable");
        table.busy[k] = doing::releasing;
        return finish(home, due.tenant, m, v1::SCHEDULED_STATE_FAILED, 0, &why);
    }
    table.busy[k] = doing::releasing;
    const requester who{due.tenant, due.sender, 0, {}};
    auto port = std::make_shared<release_port>(
        who, home,
        [this, home, m, tenant = due.tenant](const v1::Frame& a) { released(home, m, tenant, a); });
    table.releases[k] = port;
    owner_.submit(event_request{who, std::move(send), reply_to{home, port, 0},
                                find_request(v1::Frame::kSend)});
}

// On the sender's home shard: the owner's answer to a release.
void schedule_desk::released(std::size_t home, const storage::scheduled_message& m,
                             storage::tenant_id tenant, const v1::Frame& answer) {
    const key k{tenant, m.sender, m.id};
    auto& table = homes_[home];
    table.releases.erase(k);
    if (answer.has_send_ack()) {
        return finish(home, tenant, m, v1::SCHEDULED_STATE_RELEASED, answer.send_ack().seq(),
                      nullptr);
    }
    if (answer.has_error() && !passing(answer.error().code())) {
        return finish(home, tenant, m, v1::SCHEDULED_STATE_FAILED, 0, &answer.error());
    }
    table.busy.erase(k);  // busy for now: the next poll releases it again
}

// The release is over (sent, or refused for good): the record goes, then the sender hears.
void schedule_desk::finish(std::size_t home, storage::tenant_id tenant,
                           const storage::scheduled_message& m, v1::ScheduledState state,
                           std::uint64_t seq, const v1::Error* why) {
    const key k{tenant, m.sender, m.id};
    std::optional<v1::Error> reason;
    if (why) reason = *why;
    auto done = [this, home, k, tenant, m, state, seq, reason](storage::entry_result r) {
        // Still busy until now: an edit meanwhile would have been refused, so the record is the
        // one released.
        ctx_.routes.post(home, [this, home, k] { homes_[home].busy.erase(k); });
        if (!r) {
            // The next poll releases it again; the owner's dedup answers with the same seq.
            return ctx_.report.failed(
                failure::commit_failed,
                "removing a released scheduled message, tenant " + std::to_string(tenant));
        }
        tell(tenant, m, state, seq, reason ? &*reason : nullptr);
    };
    if (!ctx_.commits.try_submit(storage::remove_scheduled{tenant, m.sender, m.id}, done)) {
        ctx_.report.failed(
            failure::commit_queue_full,
            "removing a released scheduled message, tenant " + std::to_string(tenant));
        homes_[home].busy.erase(k);
    }
}

void schedule_desk::tell(storage::tenant_id tenant, const storage::scheduled_message& m,
                         v1::ScheduledState state, std::uint64_t seq, const v1::Error* why) {
    auto frame = std::make_shared<v1::Frame>();
    auto& u = *frame->mutable_scheduled_update();
    to_proto(m, *u.mutable_scheduled());
    u.set_state(state);
    u.set_seq(seq);
    if (why) {
        u.set_error_code(why->code());
        u.set_error(why->message());
    }
    devices_.to_user(tenant, m.sender, std::move(frame));
}

// ---- ListScheduled -----------------------------------------------------------------------------

v1::Frame answer_scheduled(const storage::store& store, const limits& /*limit*/,
                           const requester& who, const v1::Frame& frame) {
    auto listed = store.scheduled_of(who.tenant, who.user);
    if (!listed) {
        return error_frame(frame.req_id(), v1::UNAVAILABLE, "store read failed; retry");
    }
    std::sort(listed->begin(), listed->end(), [](const auto& a, const auto& b) {
        return std::tie(a.release_at_ms, a.id) < std::tie(b.release_at_ms, b.id);
    });
    v1::Frame out;
    out.set_req_id(frame.req_id());
    auto& list = *out.mutable_scheduled_list();
    for (const auto& m : *listed) to_proto(m, *list.add_scheduled());
    return out;
}

}  // namespace tern::core
