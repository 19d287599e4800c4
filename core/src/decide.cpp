// The owner's decisions for messages (send, recall, edit) and what every decision shares; group
// operations are in decide_group.cpp.
#include "decide.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "decide_rules.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core {

namespace rules {

refusal refuse(v1::ErrorCode code, std::string message) { return {code, std::move(message)}; }

bool is_manager(role r) { return r == role::owner || r == role::admin; }

v1::Role role_to_proto(role r) {
    switch (r) {
        case role::member:
            return v1::ROLE_MEMBER;
        case role::admin:
            return v1::ROLE_ADMIN;
        case role::owner:
            return v1::ROLE_OWNER;
    }
    return v1::ROLE_UNSPECIFIED;
}

decided<void> check_client_msg_id(const std::string& id, const limits& limits) {
    if (id.empty() || id.size() > limits.max_client_msg_id_bytes) {
        return refuse(v1::INVALID_ARGUMENT, "client_msg_id must be 1 to 64 bytes");
    }
    return {};
}

decided<role> group_role(const requester& who, const conv_state& state) {
    if (state.conv.type != storage::conv_type::group) {
        return refuse(v1::INVALID_ARGUMENT, "not a group");
    }
    if (!state.exists) return refuse(v1::NOT_FOUND, "no such group");
    const auto it = state.members.find(who.user);
    if (it == state.members.end()) return refuse(v1::NOT_MEMBER, "not a member");
    return it->second;
}

v1::Event event_for(const requester& who, const storage::conv_id& conv, storage::seq_t seq,
                    std::int64_t now_ms, const std::string& client_msg_id) {
    v1::Event ev;
    to_proto(conv, *ev.mutable_conv());
    ev.set_seq(seq);
    ev.set_sender(who.user);
    ev.set_sender_device(who.device);
    ev.set_server_time_ms(now_ms);
    ev.set_client_msg_id(client_msg_id);
    return ev;
}

storage::append_event entry_for(const requester& who, const storage::conv_id& conv,
                                const v1::Event& ev, storage::event_kind kind,
                                const limits& limits) {
    storage::append_event e;
    e.tenant = who.tenant;
    e.conv = conv;
    e.seq = ev.seq();
    e.sender = who.user;
    e.sender_device = who.device;
    e.server_time_ms = ev.server_time_ms();
    e.kind = kind;
    e.client_msg_id = ev.client_msg_id();
    e.dedup_expires_ms = ev.server_time_ms() + limits.dedup_ttl.count();
    e.bytes = std::make_shared<const std::string>(ev.SerializeAsString());
    return e;
}

}  // namespace rules

decided<void> check_content_shape(const v1::Content& content, const limits& limits) {
    using rules::refuse;
    // An urgent message says why; nothing else carries a reason (the urgent desk checked who may
    // send it, urgent_desk.hpp).
    const bool urgent = (content.flags() & v1::MESSAGE_FLAG_URGENT) != 0;
    if (urgent == content.urgent_reason().empty() ||
        content.urgent_reason().size() > max_urgent_reason_bytes) {
        return refuse(v1::INVALID_ARGUMENT,
                      "urgent_reason: 1 to 200 bytes with MESSAGE_FLAG_URGENT, and only with it");
    }
    std::size_t size = 0;
    switch (content.body_case()) {
        case v1::Content::kText:
            if (content.text().empty()) return refuse(v1::INVALID_ARGUMENT, "empty text");
            size = content.text().size();
            break;
        case v1::Content::kCustom:
            if (content.custom().type().empty() || content.custom().type().size() > 64) {
                return refuse(v1::INVALID_ARGUMENT, "custom type must be 1 to 64 bytes");
            }
            size = content.custom().type().size() + content.custom().data().size();
            break;
        case v1::Content::BODY_NOT_SET:
            return refuse(v1::INVALID_ARGUMENT, "no content");
    }
    size += content.urgent_reason().size();  // part of the content's budget
    if (size > limits.max_content_bytes) return refuse(v1::CONTENT_TOO_LARGE, "content too large");
    if (static_cast<std::size_t>(content.mentions_size()) > limits.max_mentions) {
        return refuse(v1::INVALID_ARGUMENT, "too many mentions");
    }
    return {};
}

namespace {

using namespace rules;

decided<void> check_content(const v1::Content& content, const conv_state& state, role sender_role,
                            const limits& limits) {
    if (auto ok = check_content_shape(content, limits); !ok) return ok;
    for (auto user : content.mentions()) {
        if (!state.members.contains(user)) {
            return refuse(v1::INVALID_ARGUMENT, "mentioned user is not a member");
        }
    }
    if (content.mention_all() &&
        (state.conv.type != storage::conv_type::group || !is_manager(sender_role))) {
        return refuse(v1::PERMISSION_DENIED, "only group owners and admins mention all");
    }
    if (content.reply_to_seq() > state.head) {
        return refuse(v1::INVALID_ARGUMENT, "reply_to_seq beyond the head");
    }
    return {};
}

}  // namespace

void throw_exception_from_error(const refusal& r, const boost::source_location& /*loc*/) {
    throw std::runtime_error("refused: " + r.message);
}

decided<storage::conv_id> to_conv_id(const v1::ConvId& id) {
    switch (id.type()) {
        case v1::CONV_TYPE_DIRECT:
            if (id.id() == 0 || id.id() > id.peer()) {
                return refuse(v1::INVALID_ARGUMENT, "direct conversation ids: 0 < id <= peer");
            }
            return storage::conv_id::direct(id.id(), id.peer());
        case v1::CONV_TYPE_GROUP:
            if (id.id() == 0 || id.peer() != 0) {
                return refuse(v1::INVALID_ARGUMENT, "group conversation ids: id > 0, peer = 0");
            }
            return storage::conv_id::group(id.id());
        default:
            return refuse(v1::INVALID_ARGUMENT, "conversation type missing");
    }
}

void to_proto(const storage::conv_id& c, v1::ConvId& out) {
    out.set_type(c.type == storage::conv_type::direct ? v1::CONV_TYPE_DIRECT : v1::CONV_TYPE_GROUP);
    out.set_id(c.id);
    out.set_peer(c.peer);
}

decided<storage::append_event> decide_send(const requester& who, const v1::SendRequest& req,
                                           const conv_state& state, const limits& limits,
                                           std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    role sender_role = role::member;
    conv_state effective = state;
    std::vector<storage::membership_change> membership;
    if (state.conv.type == storage::conv_type::direct) {
        if (who.user != state.conv.id && who.user != state.conv.peer) {
            return refuse(v1::NOT_MEMBER, "not a member");
        }
        if (!state.exists) {
            // The first message creates the direct conversation with both users.
            membership.push_back({state.conv.id, role::member});
            effective.members[state.conv.id] = role::member;
            if (state.conv.peer != state.conv.id) {
                membership.push_back({state.conv.peer, role::member});
                effective.members[state.conv.peer] = role::member;
            }
        }
    } else {
        auto r = group_role(who, state);
        if (!r) return r.error();
        sender_role = *r;
    }
    if (auto ok = check_content(req.content(), effective, sender_role, limits); !ok) {
        return ok.error();
    }

    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    *ev.mutable_message()->mutable_content() = req.content();
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::message, limits);
    entry.counts_unread = (req.content().flags() & v1::MESSAGE_FLAG_NO_UNREAD) == 0;
    entry.urgent = (req.content().flags() & v1::MESSAGE_FLAG_URGENT) != 0;
    entry.membership = std::move(membership);
    return entry;
}

namespace {

// The caller's role in the conversation of a recall or edit, and the target's checks shared by
// both.
decided<role> check_target(const requester& who, const conv_state& state,
                           const target_event& target, std::uint64_t seq) {
    role caller = role::member;
    if (state.conv.type == storage::conv_type::group) {
        auto r = group_role(who, state);
        if (!r) return r.error();
        caller = *r;
    } else if (!state.exists || !state.members.contains(who.user)) {
        return refuse(v1::NOT_MEMBER, "not a member");
    }
    if (seq == 0 || !target.exists) return refuse(v1::NOT_FOUND, "no such event");
    if (target.kind != storage::event_kind::message) {
        return refuse(v1::INVALID_ARGUMENT, "only messages are recalled or edited");
    }
    if (target.recalled) return refuse(v1::ALREADY_RECALLED, "the message was recalled");
    return caller;
}

bool within_window(const target_event& target, const limits& limits, std::int64_t now_ms) {
    const std::chrono::milliseconds window = limits.recall_window;
    return now_ms - target.server_time_ms <= window.count();
}

}  // namespace

decided<storage::append_event> decide_recall(const requester& who, const v1::RecallRequest& req,
                                             const conv_state& state, const target_event& target,
                                             const limits& limits, std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    auto caller = check_target(who, state, target, req.seq());
    if (!caller) return caller.error();
    const bool own = target.sender == who.user;
    if (!is_manager(*caller) || state.conv.type != storage::conv_type::group) {
        if (!own)
            return refuse(v1::PERMISSION_DENIED, "only the sender or a group manager recalls");
        if (!within_window(target, limits, now_ms)) {
            return refuse(v1::WINDOW_EXPIRED, "the recall window has passed");
        }
    }
    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_recall()->set_target_seq(req.seq());
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::recall, limits);
    entry.recalls = req.seq();
    return entry;
}

decided<storage::append_event> decide_edit(const requester& who, const v1::EditRequest& req,
                                           const conv_state& state, const target_event& target,
                                           const limits& limits, std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    auto caller = check_target(who, state, target, req.seq());
    if (!caller) return caller.error();
    if (target.sender != who.user) return refuse(v1::PERMISSION_DENIED, "only the sender edits");
    if (!within_window(target, limits, now_ms)) {
        return refuse(v1::WINDOW_EXPIRED, "the edit window has passed");
    }
    if (auto ok = check_content(req.content(), state, *caller, limits); !ok) return ok.error();
    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_edit()->set_target_seq(req.seq());
    *ev.mutable_edit()->mutable_content() = req.content();
    return entry_for(who, state.conv, ev, storage::event_kind::edit, limits);
}

bool is_urgent_message(const storage::stored_event& e) {
    if (e.kind != storage::event_kind::message || !e.bytes) return false;
    v1::Event event;
    return event.ParseFromString(*e.bytes) && event.has_message() &&
           (event.message().content().flags() & v1::MESSAGE_FLAG_URGENT) != 0;
}

}  // namespace tern::core
