// The owner's decisions for group operations: create, add and remove members, leave, rename,
// set a role.
#include <set>
#include <vector>

#include "decide.hpp"
#include "decide_rules.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core {
namespace {

using namespace rules;

// The common checks of a membership change by a manager: the id, a group, an owner or admin, and
// the list of users.
struct manager_request {
    role caller;
    std::vector<storage::user_id> users;
};

// A list of user ids from a request: non-empty, bounded, non-zero, deduplicated, ascending.
decided<std::vector<storage::user_id>> user_list(
    const google::protobuf::RepeatedField<std::uint64_t>& ids, const limits& limits) {
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
    const google::protobuf::RepeatedField<std::uint64_t>& ids, const limits& limits,
    const char* denied) {
    if (auto ok = check_client_msg_id(client_msg_id, limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();
    if (!is_manager(*r)) return refuse(v1::PERMISSION_DENIED, denied);
    auto users = user_list(ids, limits);
    if (!users) return users.error();
    return manager_request{*r, std::move(*users)};
}

decided<void> check_group_name(const std::string& name, const limits& limits) {
    if (name.empty() || name.size() > limits.max_group_name_bytes) {
        return refuse(v1::INVALID_ARGUMENT, "group name must be 1 to 256 bytes");
    }
    return {};
}

}  // namespace

decided<storage::append_event> decide_group_create(const requester& who, const v1::GroupCreate& req,
                                                   std::uint64_t group_id, const limits& limits,
                                                   std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    if (auto ok = check_group_name(req.name(), limits); !ok) return ok.error();
    if (group_id == 0) return refuse(v1::INTERNAL, "no group id assigned");
    if (req.history() != v1::HISTORY_FROM_JOIN && req.history() != v1::HISTORY_WHOLE) {
        return refuse(v1::INVALID_ARGUMENT, "unknown history setting");
    }
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
    for (auto u : others) {
        if (static_cast<std::size_t>(created->members_size()) >= limits.created_event_members) {
            break;
        }
        add(u, role::member);
    }
    created->set_member_count(static_cast<std::uint32_t>(others.size() + 1));
    created->set_history(req.history());

    auto entry = entry_for(who, conv, ev, storage::event_kind::group_created, limits);
    entry.membership.push_back({who.user, role::owner});
    for (auto u : others) entry.membership.push_back({u, role::member});
    entry.new_name = req.name();
    entry.whole_history = req.history() == v1::HISTORY_WHOLE;
    return entry;
}

decided<storage::append_event> decide_add_members(const requester& who,
                                                  const v1::GroupAddMembers& req,
                                                  const conv_state& state, const limits& limits,
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
                                                     const conv_state& state, const limits& limits,
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
                                            const conv_state& state, const limits& limits,
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
                                             const conv_state& state, const limits& limits,
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

decided<storage::append_event> decide_set_history(const requester& who,
                                                  const v1::GroupSetHistory& req,
                                                  const conv_state& state, const limits& limits,
                                                  std::int64_t now_ms) {
    if (auto ok = check_client_msg_id(req.client_msg_id(), limits); !ok) return ok.error();
    auto r = group_role(who, state);
    if (!r) return r.error();
    if (!is_manager(*r)) {
        return refuse(v1::PERMISSION_DENIED, "only owners and admins set the history");
    }
    if (req.history() != v1::HISTORY_FROM_JOIN && req.history() != v1::HISTORY_WHOLE) {
        return refuse(v1::INVALID_ARGUMENT, "unknown history setting");
    }
    auto ev = event_for(who, state.conv, state.head + 1, now_ms, req.client_msg_id());
    ev.mutable_history_set()->set_history(req.history());
    auto entry = entry_for(who, state.conv, ev, storage::event_kind::history_set, limits);
    entry.whole_history = req.history() == v1::HISTORY_WHOLE;
    return entry;
}

decided<storage::append_event> decide_set_role(const requester& who, const v1::GroupSetRole& req,
                                               const conv_state& state, const limits& limits,
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

}  // namespace tern::core
