#include "queries.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core {
namespace {

using wire::error_frame;

// A page of events built to the frame's byte budget. Every event the owner stores fits a frame
// with its envelope (limits::max_event_bytes), so a page always takes its first event and is
// never empty while events remain. An event that does not fit (stored before that rule, or a
// bug) is refused with an error naming it: never a page silently dropped.
class page_budget {
public:
    explicit page_budget(const limits& l)
        : room_(l.max_frame_bytes - limits::event_envelope_bytes / 2) {}

    enum class verdict { take, full, never_fits };
    // Whether an event of `size` bytes joins the page.
    verdict offer(std::size_t size) {
        const auto cost = size + per_event;
        if (used_ + cost <= room_) {
            used_ += cost;
            return verdict::take;
        }
        return used_ == 0 ? verdict::never_fits : verdict::full;
    }

private:
    // A Push's or an Event's own tags, lengths and inbox_seq within a page.
    static constexpr std::size_t per_event = 24;
    std::size_t room_;
    std::size_t used_ = 0;
};

v1::Frame does_not_fit(std::uint64_t req_id, std::size_t bytes) {
    return error_frame(
        req_id, v1::INTERNAL,
        "a stored event of " + std::to_string(bytes) + " bytes does not fit a frame");
}

v1::Frame store_failed(std::uint64_t req_id) {
    return error_frame(req_id, v1::UNAVAILABLE, "store read failed");
}

// NOT_MEMBER unless `who` is a member of `conv`; nullopt when they are. The two users of a direct
// conversation are its members from the start, before its first message (they name it without
// asking the server).
std::optional<v1::Frame> refuse_non_member(const storage::store& store, const requester& who,
                                           std::uint64_t req_id, const storage::conv_id& conv) {
    if (conv.type == storage::conv_type::direct) {
        if (is_party(who, conv)) return std::nullopt;
        return error_frame(req_id, v1::NOT_MEMBER, "not a member");
    }
    auto member = store.member(who.tenant, conv, who.user);
    if (!member) return store_failed(req_id);
    if (!*member) return error_frame(req_id, v1::NOT_MEMBER, "not a member");
    return std::nullopt;
}

}  // namespace

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
    page_budget budget(limits);
    for (const auto& item : page->items) {
        const std::size_t size = item.bytes ? item.bytes->size() : 0;
        const auto verdict = budget.offer(size);
        if (verdict == page_budget::verdict::never_fits) return does_not_fit(req_id, size);
        if (verdict == page_budget::verdict::full) break;
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
    if (auto refused = refuse_non_member(store, who, req_id, *conv)) return *refused;
    const auto limit =
        std::min<std::uint32_t>(h.limit() == 0 ? 50 : h.limit(), limits.sync_page_max);
    const auto dir = h.direction() == v1::DIRECTION_FORWARD ? storage::direction::forward
                                                            : storage::direction::backward;
    auto events = store.timeline(who.tenant, *conv, h.from_seq(), dir, limit + 1);
    auto meta = store.conversation(who.tenant, *conv);
    if (!events || !meta) return store_failed(req_id);
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* page = reply.mutable_history_page();
    *page->mutable_conv() = h.conv();
    page->set_head_seq(*meta ? (*meta)->head_seq : 0);  // none: a direct one not begun
    page_budget budget(limits);
    std::size_t taken = 0;
    for (const auto& e : *events) {
        if (taken == limit) break;
        const auto verdict = budget.offer(e.bytes->size());
        if (verdict == page_budget::verdict::never_fits)
            return does_not_fit(req_id, e.bytes->size());
        if (verdict == page_budget::verdict::full) break;
        page->add_events()->ParseFromString(*e.bytes);
        ++taken;
    }
    page->set_has_more(taken < events->size());
    return reply;
}

v1::Frame answer_who_read(const storage::store& store, const limits&, const requester& who,
                          const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& q = request.who_read();
    auto conv = to_conv_id(q.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    if (auto refused = refuse_non_member(store, who, req_id, *conv)) return *refused;
    auto readers = store.readers(who.tenant, *conv, q.seq());
    if (!readers) return store_failed(req_id);
    if (!*readers) return error_frame(req_id, v1::NOT_FOUND, "no such event");
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* r = reply.mutable_who_read_reply();
    *r->mutable_conv() = q.conv();
    r->set_seq(q.seq());
    r->set_read_count(static_cast<std::uint32_t>((*readers)->read.size()));
    r->set_unread_count(static_cast<std::uint32_t>((*readers)->unread.size()));
    if (q.with_lists()) {
        for (auto u : (*readers)->read) r->add_read_users(u);
        for (auto u : (*readers)->unread) r->add_unread_users(u);
    }
    return reply;
}

v1::Frame answer_list(const storage::store& store, const limits&, const requester& who,
                      const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& req = request.list_conversations();
    auto list = store.conversations_of(who.tenant, who.user);
    if (!list) return store_failed(req_id);
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* out = reply.mutable_conversation_list();
    const std::size_t limit = req.limit() == 0 ? 100 : std::min<std::size_t>(req.limit(), 500);
    for (const auto& c : *list) {
        if (static_cast<std::size_t>(out->conversations_size()) == limit) {
            out->set_has_more(true);
            break;
        }
        auto* summary = out->add_conversations();
        to_proto(c.meta.conv, *summary->mutable_conv());
        summary->set_name(c.meta.name);
        summary->set_head_seq(c.meta.head_seq);
        summary->set_unread(c.unread);
        summary->set_read_up_to(c.cursor.read_up_to);
        summary->set_delivered_up_to(c.cursor.delivered_up_to);
        summary->set_last_event_ms(c.meta.last_event_ms);
        summary->set_role(static_cast<v1::Role>(static_cast<int>(c.member_role)));
        summary->set_member_count(c.meta.member_count);
    }
    return reply;
}

v1::Frame answer_group_info(const storage::store& store, const limits&, const requester& who,
                            const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& req = request.group_info_request();
    auto conv = to_conv_id(req.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    auto meta = store.conversation(who.tenant, *conv);
    auto members = store.members(who.tenant, *conv);
    if (!meta || !members) return store_failed(req_id);
    const bool is_member = std::any_of(members->begin(), members->end(),
                                       [&](const auto& m) { return m.user == who.user; });
    if (!*meta || !is_member) return error_frame(req_id, v1::NOT_MEMBER, "not a member");
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* info = reply.mutable_group_info();
    *info->mutable_conv() = req.conv();
    info->set_name((*meta)->name);
    info->set_owner((*meta)->owner);
    info->set_head_seq((*meta)->head_seq);
    info->set_created_ms((*meta)->created_ms);
    for (const auto& m : *members) {
        auto* pm = info->add_members();
        pm->set_user_id(m.user);
        pm->set_role(static_cast<v1::Role>(static_cast<int>(m.member_role)));
        pm->set_joined_seq(m.joined_seq);
    }
    return reply;
}

}  // namespace tern::core
