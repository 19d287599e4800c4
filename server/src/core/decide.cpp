#include "decide.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <vector>

#include "tern/v1/events.pb.h"

namespace tern::server::core {
namespace {

using storage::role;

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

decided<void> check_client_msg_id(const std::string& id, const decide_limits& limits) {
    if (id.empty() || id.size() > limits.max_client_msg_id_bytes) {
        return refuse(v1::INVALID_ARGUMENT, "client_msg_id must be 1 to 64 bytes");
    }
    return {};
}

// The caller's role in an existing group, or why it has none.
decided<role> group_role(const requester& who, const conv_state& state) {
    if (state.conv.type != storage::conv_type::group) {
        return refuse(v1::INVALID_ARGUMENT, "not a group");
    }
    if (!state.exists) return refuse(v1::NOT_FOUND, "no such group");
    const auto it = state.members.find(who.user);
    if (it == state.members.end()) return refuse(v1::NOT_MEMBER, "not a member");
    return it->second;
}

// The common checks of a membership change by a manager: the id, a group, an owner or admin, and
// the list of users.
struct manager_request {
    role caller;
    std::vector<storage::user_id> users;
};

// A list of user ids from a request: non-empty, bounded, non-zero, deduplicated, ascending.
decided<std::vector<storage::user_id>> user_list(
    const google::protobuf::RepeatedField<std::uint64_t>& ids, const decide_limits& limits) {
    if (ids.empty()) return refuse(v1::INVALID_ARGUMENT, "no user ids");
    if (static_cast<std::size_t>(ids.size()) > limits.max_users_per_request) {
        return refuse(v1::INVALID_ARGUMENT, "too many user ids in one request");
    }
    std::set<storage::user_id> unique;
    for (auto id : ids) {
        if (id == 0) return refuse(v1::INVALID_ARGUMENT, "user id 0");
        unique.insert(id);
    }
    return std::vector<storage::user_id>(unique.begin(), unique.end());
}

decided<manager_request> check_manager_request(
    const requester& who, const std::string& client_msg_id, const conv_state& state,
    const google::protobuf::RepeatedField<std::uint64_t>& ids, const decide_limits& limits,
    const char* denied) {
    if (auto ok = check_client_msg_id(client_msg_id, limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();
    if (!is_manager(*r)) return refuse(v1::PERMISSION_DENIED, denied);
    auto users = user_list(ids, limits);
    if (!users) return users.error();
    return manager_request{*r, std::move(*users)};
}

decided<void> check_group_name(const std::string& name, const decide_limits& limits) {
    if (name.empty() || name.size() > limits.max_group_name_bytes) {
        return refuse(v1::INVALID_ARGUMENT, "group name must be 1 to 256 bytes");
    }
    return {};
}

// The parts every event shares.
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

// The entry for `ev`, with the event encoded once into the bytes every recipient will share.
storage::append_event entry_for(const requester& who, const storage::conv_id& conv,
                                const v1::Event& ev, storage::event_kind kind,
                                const decide_limits& limits) {
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

decided<void> check_content(const v1::Content& content, const conv_state& state, role sender_role,
                            const decide_limits& limits) {
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
    if (size > limits.max_content_bytes) return refuse(v1::CONTENT_TOO_LARGE, "content too large");
    if (static_cast<std::size_t>(content.mentions_size()) > limits.max_mentions) {
        return refuse(v1::INVALID_ARGUMENT, "too many mentions");
    }
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
                                           const conv_state& state, const decide_limits& limits,
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
    entry.membership = std::move(membership);
    return entry;
}

decided<storage::append_event> decide_group_create(const requester& who, const v1::GroupCreate& req,
                                                   std::uint64_t group_id,
                                                   const decide_limits& limits,
                                                   std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    if (auto ok = check_group_name(req.name(), limits); !ok) return ok.error();
    if (group_id == 0) return refuse(v1::INTERNAL, "no group id assigned");
    std::set<storage::user_id> others;
    for (auto id : req.member_ids()) {
        if (id == 0) return refuse(v1::INVALID_ARGUMENT, "user id 0");
        if (id != who.user) others.insert(id);
    }
    if (others.size() + 1 > limits.max_group_members) {
        return refuse(v1::GROUP_FULL, "more members than the group limit");
    }

    const auto conv = storage::conv_id::group(group_id);
    auto ev = event_for(who, conv, 1, now_ms, req.client_msg_id());
    auto* created = ev.mutable_group_created();
    created->set_name(req.name());
    auto add = [&](storage::user_id u, role r) {
        auto* m = created->add_members();
        m->set_user_id(u);
        m->set_role(role_to_proto(r));
        m->set_joined_seq(1);
    };
    add(who.user, role::owner);
    for (auto u : others) add(u, role::member);

    auto entry = entry_for(who, conv, ev, storage::event_kind::group_created, limits);
    entry.membership.push_back({who.user, role::owner});
    for (auto u : others) entry.membership.push_back({u, role::member});
    entry.new_name = req.name();
    return entry;
}

decided<storage::append_event> decide_add_members(const requester& who,
                                                  const v1::GroupAddMembers& req,
                                                  const conv_state& state,
                                                  const decide_limits& limits,
                                                  std::int64_t now_ms) {
    auto checked = check_manager_request(who, req.client_msg_id(), state, req.user_ids(), limits,
                                         "only owners and admins add");
    if (!checked) return checked.error();
    std::vector<storage::user_id> added;
    for (auto u : checked->users) {
        if (!state.members.contains(u)) added.push_back(u);
    }
    if (added.empty()) return refuse(v1::INVALID_ARGUMENT, "all are members already");
    if (state.members.size() + added.size() > limits.max_group_members) {
        return refuse(v1::GROUP_FULL, "the group is full");
    }

    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    for (auto u : added) ev.mutable_members_added()->add_user_ids(u);
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::members_added, limits);
    for (auto u : added) entry.membership.push_back({u, role::member});
    return entry;
}

decided<storage::append_event> decide_remove_members(const requester& who,
                                                     const v1::GroupRemoveMembers& req,
                                                     const conv_state& state,
                                                     const decide_limits& limits,
                                                     std::int64_t now_ms) {
    auto checked = check_manager_request(who, req.client_msg_id(), state, req.user_ids(), limits,
                                         "only owners and admins remove");
    if (!checked) return checked.error();
    const role caller = checked->caller;
    std::vector<storage::user_id> removed;
    for (auto u : checked->users) {
        const auto it = state.members.find(u);
        if (it == state.members.end()) continue;
        if (u == who.user) return refuse(v1::INVALID_ARGUMENT, "use leave to leave a group");
        if (it->second == role::owner)
            return refuse(v1::PERMISSION_DENIED, "cannot remove the owner");
        if (it->second == role::admin && caller != role::owner) {
            return refuse(v1::PERMISSION_DENIED, "only the owner removes admins");
        }
        removed.push_back(u);
    }
    if (removed.empty()) return refuse(v1::INVALID_ARGUMENT, "none of them is a member");

    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    for (auto u : removed) ev.mutable_members_removed()->add_user_ids(u);
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::members_removed, limits);
    for (auto u : removed) entry.membership.push_back({u, std::nullopt});
    return entry;
}

decided<storage::append_event> decide_leave(const requester& who, const v1::GroupLeave& req,
                                            const conv_state& state, const decide_limits& limits,
                                            std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();

    // An owner who leaves hands the group to an admin, or else to a member (the lowest user id,
    // so every replica decides alike); the last member leaves an empty group.
    storage::user_id successor = 0;
    if (*r == role::owner) {
        for (const auto& [u, ur] : state.members) {
            if (u == who.user) continue;
            if (ur == role::admin) {
                successor = u;
                break;
            }
            if (successor == 0) successor = u;
        }
    }
    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_member_left()->set_new_owner(successor);
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::member_left, limits);
    entry.membership.push_back({who.user, std::nullopt});
    if (successor != 0) entry.membership.push_back({successor, role::owner});
    return entry;
}

decided<storage::append_event> decide_rename(const requester& who, const v1::GroupRename& req,
                                             const conv_state& state, const decide_limits& limits,
                                             std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    if (auto ok = check_group_name(req.name(), limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();
    if (!is_manager(*r)) return refuse(v1::PERMISSION_DENIED, "only owners and admins rename");

    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_renamed()->set_name(req.name());
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::renamed, limits);
    entry.new_name = req.name();
    return entry;
}

decided<storage::append_event> decide_set_role(const requester& who, const v1::GroupSetRole& req,
                                               const conv_state& state, const decide_limits& limits,
                                               std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();
    if (*r != role::owner) return refuse(v1::PERMISSION_DENIED, "only the owner changes roles");
    if (req.user_id() == who.user) return refuse(v1::INVALID_ARGUMENT, "cannot change own role");
    if (!state.members.contains(req.user_id())) {
        return refuse(v1::INVALID_ARGUMENT, "the user is not a member");
    }
    role target = role::member;
    switch (req.role()) {
        case v1::ROLE_MEMBER:
            target = role::member;
            break;
        case v1::ROLE_ADMIN:
            target = role::admin;
            break;
        case v1::ROLE_OWNER:
            target = role::owner;
            break;
        default:
            return refuse(v1::INVALID_ARGUMENT, "unknown role");
    }

    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_role_changed()->set_user_id(req.user_id());
    ev.mutable_role_changed()->set_role(req.role());
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::role_changed, limits);
    // Making someone owner transfers ownership: the store's rules demote the old owner to admin.
    entry.membership.push_back({req.user_id(), target});
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

bool within_window(const target_event& target, const decide_limits& limits, std::int64_t now_ms) {
    return now_ms - target.server_time_ms <= limits.recall_window.count();
}

}  // namespace

decided<storage::append_event> decide_recall(const requester& who, const v1::RecallRequest& req,
                                             const conv_state& state, const target_event& target,
                                             const decide_limits& limits, std::int64_t now_ms) {
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
                                           const decide_limits& limits, std::int64_t now_ms) {
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

}  // namespace tern::server::core
