#include "queries.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "query_support.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core {

using wire::error_frame;

v1::Frame answer_sync(const storage::store& store, const limits& limits, const requester& who,
                      const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& req = request.sync();
    const auto limit = std::min<std::uint32_t>(
        req.limit() == 0 ? limits.sync_page_max : req.limit(), limits.sync_page_max);
    const auto page = store.inbox_page_after(who.tenant, who.user, req.after_inbox_seq(), limit);
    if (!page) return store_failed(req_id);
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* p = reply.mutable_sync_page();
    reply_budget budget(limits);
    for (const auto& item : page->items) {
        const std::size_t size = item.bytes ? item.bytes->size() : 0;
        const auto verdict = budget.offer(size);
        if (verdict == reply_budget::verdict::never_fits) return does_not_fit(req_id, size);
        if (verdict == reply_budget::verdict::full) break;
        auto* push = p->add_events();
        push->set_inbox_seq(item.inbox_seq);
        if (item.bytes) push->mutable_event()->ParseFromString(*item.bytes);
    }
    p->set_inbox_head(page->head);
    const auto last =
        p->events_size() > 0 ? p->events(p->events_size() - 1).inbox_seq() : req.after_inbox_seq();
    p->set_has_more(last < page->head);
    return reply;
}

v1::Frame answer_history(const storage::store& store, const limits& limits, const requester& who,
                         const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& h = request.history();
    auto conv = to_conv_id(h.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    const auto visible = timeline_of(store, who, req_id, *conv);
    if (visible.refused) return *visible.refused;
    const auto limit =
        std::min<std::uint32_t>(h.limit() == 0 ? 50 : h.limit(), limits.sync_page_max);
    const bool forward = h.direction() == v1::DIRECTION_FORWARD;
    // Nothing from before the caller joined: forward starts there at the earliest, backward
    // stops there.
    const auto from = forward ? std::max(h.from_seq(), visible.from) : h.from_seq();
    const bool before_joining = !forward && from != 0 && from < visible.from;
    auto events = before_joining ? storage::result<std::vector<storage::stored_event>>(
                                       std::vector<storage::stored_event>{})
                                 : store.timeline(who.tenant, *conv, from,
                                                  forward ? storage::direction::forward
                                                          : storage::direction::backward,
                                                  limit + 1);
    if (!events) return store_failed(req_id);
    std::erase_if(*events, [&](const auto& e) { return e.seq < visible.from; });
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* page = reply.mutable_history_page();
    *page->mutable_conv() = h.conv();
    page->set_head_seq(visible.meta ? visible.meta->head_seq : 0);  // none: a direct one not begun
    reply_budget budget(limits);
    std::size_t taken = 0;
    for (const auto& e : *events) {
        if (taken == limit) break;
        const auto verdict = budget.offer(e.bytes->size());
        if (verdict == reply_budget::verdict::never_fits)
            return does_not_fit(req_id, e.bytes->size());
        if (verdict == reply_budget::verdict::full) break;
        page->add_events()->ParseFromString(*e.bytes);
        ++taken;
    }
    page->set_has_more(taken < events->size());
    return reply;
}

}  // namespace tern::core
