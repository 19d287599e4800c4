#include "urgent_desk.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "tern/v1/notifications.pb.h"

namespace tern::core {

using wire::error_frame;

namespace {

// A send not seen stored after this long failed: refused by its owner (not a member, say), or
// its commit failed. A commit answers in milliseconds; one that took longer and still succeeded
// would let one more urgent message through, the price of not holding a refused send's place
// longer.
constexpr std::int64_t in_flight_ms = 10'000;

}  // namespace

urgent_desk::urgent_desk(const context& ctx, device_table& devices, conversation_owner& owner)
    : ctx_(ctx), devices_(devices), owner_(owner), homes_(ctx.routes.shard_count()) {}

void urgent_desk::submit(event_request req) {
    const auto shard = ctx_.routes.home_of(req.who.tenant, req.who.user);
    ctx_.routes.post(
        shard, [this, shard, req = std::move(req)]() mutable { check(shard, std::move(req)); });
}

void urgent_desk::check(std::size_t shard, event_request req) {
    const auto& who = req.who;
    const auto refuse = [&](v1::ErrorCode code, const std::string& why) {
        reply(ctx_.routes, req.reply, error_frame(0, code, why));
    };
    const auto unavailable = [&] {
        ctx_.report.failed(failure::store_read_failed,
                           "an urgent send's budget, tenant " + std::to_string(who.tenant));
        refuse(v1::UNAVAILABLE, "store read failed; retry");
    };
    // The reason is the owner's to check with the rest of the content, but a send it would
    // refuse must not hold a place in the budget meanwhile.
    const auto& reason = req.frame.send().content().urgent_reason();
    if (reason.empty() || reason.size() > max_urgent_reason_bytes) {
        return refuse(v1::INVALID_ARGUMENT,
                      "urgent_reason: 1 to 200 bytes with MESSAGE_FLAG_URGENT, and only with it");
    }
    const auto policy = devices_.policy(who.tenant);
    if (!policy || !policy->may_send_urgent(who)) {
        return refuse(v1::PERMISSION_DENIED,
                      "urgent: your company's policy does not let you send urgent messages");
    }
    // A retry of a send already stored: its owner answers it, and it spends nothing.
    const auto& cmid = req.frame.send().client_msg_id();
    const auto stored = ctx_.store.find_dedup(who.tenant, who.user, cmid);
    if (!stored) return unavailable();
    if (*stored) return owner_.submit(std::move(req));

    const auto now_ms = ctx_.time.unix_ms();
    const user_key key{who.tenant, who.user};
    auto& pending = homes_[shard].pending[key];
    if (!prune(who, pending, now_ms)) return unavailable();
    const bool retry_on_its_way = std::any_of(
        pending.begin(), pending.end(), [&](const auto& p) { return p.client_msg_id == cmid; });
    if (!retry_on_its_way) {
        const auto sent = ctx_.store.urgent_sends(who.tenant, policy->budget_day_start(now_ms),
                                                  policy->urgent_budget, who.user);
        if (!sent) return unavailable();
        if (sent->size() + pending.size() >= policy->urgent_budget) {
            if (pending.empty()) homes_[shard].pending.erase(key);
            return refuse(v1::URGENT_BUDGET_SPENT, "urgent: your " +
                                                       std::to_string(policy->urgent_budget) +
                                                       " urgent messages for today are spent");
        }
        pending.push_back({cmid, now_ms});
    }
    owner_.submit(std::move(req));
}

bool urgent_desk::prune(const requester& who, std::vector<on_its_way>& pending,
                        std::int64_t now_ms) {
    bool read_ok = true;
    std::erase_if(pending, [&](const on_its_way& p) {
        if (now_ms - p.since_ms > in_flight_ms || now_ms < p.since_ms) return true;
        const auto stored = ctx_.store.find_dedup(who.tenant, who.user, p.client_msg_id);
        if (!stored) read_ok = false;
        return stored && stored->has_value();  // counted by the store's index now
    });
    return read_ok;
}

bool urgent_audit(const storage::store& store, storage::tenant_id tenant, std::int64_t from_ms,
                  std::size_t limit, v1::UrgentAudit& out) {
    // One more than asked: whether there is a next page, and where it starts.
    const auto sends = store.urgent_sends(tenant, from_ms, limit + 1);
    if (!sends) return false;
    for (std::size_t i = 0; i < sends->size() && i < limit; ++i) {
        const auto& s = (*sends)[i];
        auto& record = *out.add_records();
        record.set_time_ms(s.time_ms);
        to_proto(s.conv, *record.mutable_conv());
        record.set_seq(s.seq);
        record.set_sender(s.sender);
        const auto events = store.timeline(tenant, s.conv, s.seq, storage::direction::forward, 1);
        if (!events) return false;
        v1::Event event;
        if (!events->empty() && events->front().bytes &&
            event.ParseFromString(*events->front().bytes)) {
            record.set_reason(event.message().content().urgent_reason());
        }
    }
    if (sends->size() > limit) {
        // Records of the same millisecond as the first left out are read again from there.
        const auto next = (*sends)[limit].time_ms;
        out.set_next_from_ms(next);
        while (out.records_size() > 0 && out.records(out.records_size() - 1).time_ms() == next) {
            out.mutable_records()->RemoveLast();
        }
        if (out.records_size() == 0) {
            // A page of one millisecond only: give it whole rather than loop.
            out.Clear();
            return urgent_audit(store, tenant, from_ms, limit * 2, out);
        }
    }
    return true;
}

}  // namespace tern::core
