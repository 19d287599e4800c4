// The read-only answers that list users or conversations: who-read, who acknowledged an urgent
// message, the conversation list and group info. Each is a page, bounded by its limit and by the
// frame's byte budget, with a way to ask for the next one; the counts are always whole.
#include <algorithm>
#include <cstring>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "queries.hpp"
#include "query_support.hpp"

namespace tern::core {
namespace {

using wire::error_frame;

constexpr std::uint32_t who_read_page_default = 1'000;
constexpr std::uint32_t who_read_page_max = 1'000;
constexpr std::uint32_t list_page_default = 100;
constexpr std::uint32_t list_page_max = 500;
constexpr std::uint32_t members_page_default = 500;
constexpr std::uint32_t members_page_max = 1'000;

std::uint32_t page_size(std::uint32_t asked, std::uint32_t by_default, std::uint32_t most) {
    return asked == 0 ? by_default : std::min(asked, most);
}

// A varint's size: what one user id costs in a packed list.
std::size_t varint_bytes(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// ---- the conversation list's cursor: an opaque 25 bytes ----------------------------------------

void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get_u64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

std::string encode_cursor(const storage::conv_position& at) {
    std::string out;
    put_u64(out, static_cast<std::uint64_t>(at.last_event_ms));
    out.push_back(static_cast<char>(at.conv.type));
    put_u64(out, at.conv.id);
    put_u64(out, at.conv.peer);
    return out;
}

std::optional<storage::conv_position> decode_cursor(const std::string& bytes) {
    if (bytes.size() != 25) return std::nullopt;
    const auto type = static_cast<storage::conv_type>(static_cast<unsigned char>(bytes[8]));
    if (type != storage::conv_type::direct && type != storage::conv_type::group)
        return std::nullopt;
    return storage::conv_position{static_cast<std::int64_t>(get_u64(bytes.data())),
                                  {type, get_u64(bytes.data() + 9), get_u64(bytes.data() + 17)}};
}

void to_summary(const storage::conv_summary& c, v1::ConversationSummary& out) {
    to_proto(c.meta.conv, *out.mutable_conv());
    out.set_name(c.meta.name);
    out.set_head_seq(c.meta.head_seq);
    out.set_unread(c.unread);
    out.set_read_up_to(c.cursor.read_up_to);
    out.set_delivered_up_to(c.cursor.delivered_up_to);
    out.set_last_event_ms(c.meta.last_event_ms);
    out.set_role(static_cast<v1::Role>(static_cast<int>(c.member_role)));
    out.set_member_count(c.meta.member_count);
    out.set_notify(static_cast<v1::NotifyLevel>(c.mute.level));
    out.set_mute_until_ms(c.mute.until_ms);
}

// Both who-read lists, merged in ascending user id after `after`, one page of them.
void page_readers(const storage::who_read& readers, std::uint64_t after, std::uint32_t limit,
                  reply_budget& budget, v1::WhoReadReply& out) {
    auto r = std::upper_bound(readers.read.begin(), readers.read.end(), after);
    auto u = std::upper_bound(readers.unread.begin(), readers.unread.end(), after);
    std::uint32_t taken = 0;
    while (r != readers.read.end() || u != readers.unread.end()) {
        const bool from_read = u == readers.unread.end() || (r != readers.read.end() && *r < *u);
        const auto user = from_read ? *r : *u;
        if (taken == limit || budget.offer(varint_bytes(user)) != reply_budget::verdict::take) {
            out.set_has_more(true);
            return;
        }
        if (from_read) {
            out.add_read_users(user);
            ++r;
        } else {
            out.add_unread_users(user);
            ++u;
        }
        ++taken;
    }
}

// Both urgent-acknowledgement lists, merged in ascending user id after `after`, one page.
void page_acknowledgers(const storage::urgent_roll& roll, std::uint64_t after, std::uint32_t limit,
                        reply_budget& budget, v1::UrgentStatus& out) {
    auto a = std::upper_bound(
        roll.acknowledged.begin(), roll.acknowledged.end(), after,
        [](std::uint64_t user, const storage::urgent_ack& ack) { return user < ack.user; });
    auto w = std::upper_bound(roll.awaiting.begin(), roll.awaiting.end(), after);
    std::uint32_t taken = 0;
    while (a != roll.acknowledged.end() || w != roll.awaiting.end()) {
        const bool from_acked =
            w == roll.awaiting.end() || (a != roll.acknowledged.end() && a->user < *w);
        const auto cost = from_acked ? varint_bytes(a->user) +
                                           varint_bytes(static_cast<std::uint64_t>(a->at_ms)) + 4
                                     : varint_bytes(*w);
        if (taken == limit || budget.offer(cost) != reply_budget::verdict::take) {
            out.set_has_more(true);
            return;
        }
        if (from_acked) {
            auto* ack = out.add_acknowledged();
            ack->set_user_id(a->user);
            ack->set_at_ms(a->at_ms);
            ++a;
        } else {
            out.add_awaiting(*w);
            ++w;
        }
        ++taken;
    }
}

}  // namespace

v1::Frame answer_urgent_status(const storage::store& store, const limits& limits,
                               const requester& who, const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& q = request.urgent_status_request();
    auto conv = to_conv_id(q.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    const auto visible = timeline_of(store, who, req_id, *conv);
    if (visible.refused) return *visible.refused;
    if (q.seq() < visible.from) return error_frame(req_id, v1::NOT_FOUND, "no such event");
    auto events = store.timeline(who.tenant, *conv, q.seq(), storage::direction::forward, 1);
    if (!events) return store_failed(req_id);
    if (events->empty() || events->front().seq != q.seq()) {
        return error_frame(req_id, v1::NOT_FOUND, "no such event");
    }
    if (!is_urgent_message(events->front())) {
        return error_frame(req_id, v1::INVALID_ARGUMENT, "not an urgent message");
    }
    auto roll = store.urgent_acks(who.tenant, *conv, q.seq());
    if (!roll) return store_failed(req_id);
    if (!*roll) return error_frame(req_id, v1::NOT_FOUND, "no such event");
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* r = reply.mutable_urgent_status();
    *r->mutable_conv() = q.conv();
    r->set_seq(q.seq());
    r->set_sender(events->front().sender);
    r->set_acknowledged_count(static_cast<std::uint32_t>((*roll)->acknowledged.size()));
    r->set_awaiting_count(static_cast<std::uint32_t>((*roll)->awaiting.size()));
    reply_budget budget(limits);
    page_acknowledgers(**roll, q.after_user_id(),
                       page_size(q.limit(), who_read_page_default, who_read_page_max), budget, *r);
    return reply;
}

v1::Frame answer_who_read(const storage::store& store, const limits& limits, const requester& who,
                          const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& q = request.who_read();
    auto conv = to_conv_id(q.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    const auto visible = timeline_of(store, who, req_id, *conv);
    if (visible.refused) return *visible.refused;
    if (q.seq() < visible.from) return error_frame(req_id, v1::NOT_FOUND, "no such event");
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
        reply_budget budget(limits);
        page_readers(**readers, q.after_user_id(),
                     page_size(q.limit(), who_read_page_default, who_read_page_max), budget, *r);
    }
    return reply;
}

v1::Frame answer_list(const storage::store& store, const limits& limits, const requester& who,
                      const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& req = request.list_conversations();
    std::optional<storage::conv_position> after;
    if (!req.cursor().empty()) {
        after = decode_cursor(req.cursor());
        if (!after) return error_frame(req_id, v1::INVALID_ARGUMENT, "not a cursor of this list");
    }
    const auto limit = page_size(req.limit(), list_page_default, list_page_max);
    auto page = store.conversation_page(who.tenant, who.user, after, limit);
    if (!page) return store_failed(req_id);
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* out = reply.mutable_conversation_list();
    reply_budget budget(limits);
    bool more = page->has_more;
    for (const auto& c : page->items) {
        v1::ConversationSummary summary;
        to_summary(c, summary);
        const auto verdict = budget.offer(summary.ByteSizeLong());
        if (verdict == reply_budget::verdict::never_fits) {
            return does_not_fit(req_id, summary.ByteSizeLong());
        }
        if (verdict == reply_budget::verdict::full) {
            more = true;
            break;
        }
        *out->add_conversations() = std::move(summary);
    }
    out->set_has_more(more);
    if (more && !page->items.empty()) {
        const auto& last = page->items[static_cast<std::size_t>(out->conversations_size()) - 1];
        out->set_next_cursor(encode_cursor(storage::conv_position::of(last.meta)));
    }
    return reply;
}

v1::Frame answer_group_info(const storage::store& store, const limits& limits, const requester& who,
                            const v1::Frame& request) {
    const auto req_id = request.req_id();
    const auto& req = request.group_info_request();
    auto conv = to_conv_id(req.conv());
    if (!conv) return error_frame(req_id, conv.error().code, conv.error().message);
    auto meta = store.conversation(who.tenant, *conv);
    auto me = store.member(who.tenant, *conv, who.user);
    if (!meta || !me) return store_failed(req_id);
    // A group that does not exist and one the caller is not in look the same.
    if (!*meta || !*me) return error_frame(req_id, v1::NOT_MEMBER, "not a member");
    const auto limit = page_size(req.limit(), members_page_default, members_page_max);
    auto members = store.members_after(who.tenant, *conv, req.after_user_id(), limit + 1);
    if (!members) return store_failed(req_id);
    v1::Frame reply;
    reply.set_req_id(req_id);
    auto* info = reply.mutable_group_info();
    *info->mutable_conv() = req.conv();
    info->set_name((*meta)->name);
    info->set_owner((*meta)->owner);
    info->set_head_seq((*meta)->head_seq);
    info->set_created_ms((*meta)->created_ms);
    info->set_member_count((*meta)->member_count);
    info->set_history((*meta)->whole_history ? v1::HISTORY_WHOLE : v1::HISTORY_FROM_JOIN);
    reply_budget budget(limits);
    budget.offer(reply.ByteSizeLong());  // the group's own fields first
    for (const auto& m : *members) {
        v1::Member pm;
        pm.set_user_id(m.user);
        pm.set_role(static_cast<v1::Role>(static_cast<int>(m.member_role)));
        pm.set_joined_seq(m.joined_seq);
        if (static_cast<std::uint32_t>(info->members_size()) == limit ||
            budget.offer(pm.ByteSizeLong()) != reply_budget::verdict::take) {
            info->set_has_more(true);
            break;
        }
        *info->add_members() = pm;
    }
    return reply;
}

}  // namespace tern::core
