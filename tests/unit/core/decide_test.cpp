// The owner's decisions: permissions, limit and the entries they produce. The last case plays a
// group's life through the decisions and the store, so entries and apply rules agree.
#include "decide.hpp"

#include <catch2/catch.hpp>

#include <tern/storage/memory_store.hpp>

#include "tern/v1/events.pb.h"

using namespace tern::core;
namespace st = tern::storage;
namespace v1 = tern::v1;

namespace {

constexpr std::int64_t now = 1'800'000'000'000;
const tern::core::limits limit;

requester as(st::user_id u) { return {1, u, 100 + u}; }

conv_state group_state(std::map<st::user_id, st::role> members, st::seq_t head = 5) {
    conv_state s;
    s.conv = st::conv_id::group(9);
    s.exists = true;
    s.head = head;
    s.members = std::move(members);
    for (const auto& [u, r] : s.members) {
        if (r == st::role::owner) s.owner = u;
    }
    return s;
}

// owner 1, admin 2, members 3 and 4
conv_state team() {
    return group_state(
        {{1, st::role::owner}, {2, st::role::admin}, {3, st::role::member}, {4, st::role::member}});
}

v1::SendRequest text_send(const conv_state& s, const std::string& text,
                          const std::string& cmid = "c1") {
    v1::SendRequest req;
    to_proto(s.conv, *req.mutable_conv());
    req.set_client_msg_id(cmid);
    req.mutable_content()->set_text(text);
    return req;
}

v1::Event event_of(const st::append_event& e) {
    v1::Event ev;
    REQUIRE(ev.ParseFromString(*e.bytes));
    return ev;
}

template <class T>
v1::ErrorCode code_of(const decided<T>& d) {
    REQUIRE_FALSE(d.has_value());
    return d.error().code;
}

}  // namespace

TEST_CASE("the first direct message creates the conversation with both users", "[unit][core]") {
    conv_state s;
    s.conv = st::conv_id::direct(7, 9);
    const auto e = decide_send(as(9), text_send(s, "hello"), s, limit, now).value();
    CHECK(e.seq == 1);
    CHECK(e.sender == 9);
    CHECK(e.sender_device == 109);
    CHECK(e.counts_unread);
    CHECK(e.client_msg_id == "c1");
    CHECK(e.dedup_expires_ms == now + limit.dedup_ttl.count());
    REQUIRE(e.membership.size() == 2);
    CHECK(e.membership[0].user == 7);
    CHECK(e.membership[1].user == 9);
    const auto ev = event_of(e);
    CHECK(ev.seq() == 1);
    CHECK(ev.conv().type() == v1::CONV_TYPE_DIRECT);
    CHECK(ev.conv().id() == 7);
    CHECK(ev.conv().peer() == 9);
    CHECK(ev.server_time_ms() == now);
    CHECK(ev.message().content().text() == "hello");

    // Later messages bring no membership, and a third user is not a member.
    s.exists = true;
    s.head = 4;
    s.members = {{7, st::role::member}, {9, st::role::member}};
    const auto next = decide_send(as(7), text_send(s, "again"), s, limit, now).value();
    CHECK(next.seq == 5);
    CHECK(next.membership.empty());
    CHECK(code_of(decide_send(as(8), text_send(s, "hi"), s, limit, now)) == v1::NOT_MEMBER);
}

TEST_CASE("sends to groups need an existing group and membership", "[unit][core]") {
    auto s = team();
    CHECK(decide_send(as(3), text_send(s, "x"), s, limit, now).has_value());
    CHECK(code_of(decide_send(as(5), text_send(s, "x"), s, limit, now)) == v1::NOT_MEMBER);
    s.exists = false;
    CHECK(code_of(decide_send(as(3), text_send(s, "x"), s, limit, now)) == v1::NOT_FOUND);
}

TEST_CASE("content and ids are validated", "[unit][core]") {
    const auto s = team();
    CHECK(code_of(decide_send(as(3), text_send(s, "x", ""), s, limit, now)) ==
          v1::INVALID_ARGUMENT);
    CHECK(code_of(decide_send(as(3), text_send(s, "x", std::string(65, 'c')), s, limit, now)) ==
          v1::INVALID_ARGUMENT);
    CHECK(code_of(decide_send(as(3), text_send(s, ""), s, limit, now)) == v1::INVALID_ARGUMENT);
    CHECK(code_of(decide_send(as(3), text_send(s, std::string(limit.max_content_bytes + 1, 'x')), s,
                              limit, now)) == v1::CONTENT_TOO_LARGE);

    auto req = text_send(s, "hi @5");
    req.mutable_content()->add_mentions(5);
    CHECK(code_of(decide_send(as(3), req, s, limit, now)) == v1::INVALID_ARGUMENT);
    req = text_send(s, "@all");
    req.mutable_content()->set_mention_all(true);
    CHECK(code_of(decide_send(as(3), req, s, limit, now)) == v1::PERMISSION_DENIED);
    CHECK(decide_send(as(2), req, s, limit, now).has_value());
    req = text_send(s, "re");
    req.mutable_content()->set_reply_to_seq(6);
    CHECK(code_of(decide_send(as(3), req, s, limit, now)) == v1::INVALID_ARGUMENT);

    v1::SendRequest empty;
    to_proto(s.conv, *empty.mutable_conv());
    empty.set_client_msg_id("c");
    CHECK(code_of(decide_send(as(3), empty, s, limit, now)) == v1::INVALID_ARGUMENT);

    req = text_send(s, "bot notice");
    req.mutable_content()->set_flags(v1::MESSAGE_FLAG_NO_UNREAD);
    CHECK_FALSE(decide_send(as(3), req, s, limit, now).value().counts_unread);
}

TEST_CASE("malformed conversation ids are refused", "[unit][core]") {
    v1::ConvId id;
    CHECK(code_of(to_conv_id(id)) == v1::INVALID_ARGUMENT);
    id.set_type(v1::CONV_TYPE_DIRECT);
    id.set_id(9);
    id.set_peer(7);
    CHECK(code_of(to_conv_id(id)) == v1::INVALID_ARGUMENT);
    id.set_type(v1::CONV_TYPE_GROUP);
    CHECK(code_of(to_conv_id(id)) == v1::INVALID_ARGUMENT);
    id.set_peer(0);
    CHECK(to_conv_id(id).value() == st::conv_id::group(9));
}

TEST_CASE("group creation makes the creator owner and deduplicates members", "[unit][core]") {
    v1::GroupCreate req;
    req.set_name("ops");
    req.set_client_msg_id("g1");
    for (st::user_id u : {3, 2, 3, 1}) req.add_member_ids(u);
    const auto e = decide_group_create(as(1), req, 42, limit, now).value();
    CHECK(e.conv == st::conv_id::group(42));
    CHECK(e.seq == 1);
    CHECK(e.kind == st::event_kind::group_created);
    CHECK(e.new_name == "ops");
    REQUIRE(e.membership.size() == 3);
    CHECK(e.membership[0].user == 1);
    CHECK(e.membership[0].new_role == st::role::owner);
    CHECK(event_of(e).group_created().members_size() == 3);

    req.set_name("");
    CHECK(code_of(decide_group_create(as(1), req, 42, limit, now)) == v1::INVALID_ARGUMENT);
    req.set_name("big");
    auto small = limit;
    small.max_group_members = 2;
    CHECK(code_of(decide_group_create(as(1), req, 42, small, now)) == v1::GROUP_FULL);
}

TEST_CASE("only owners and admins add and remove members", "[unit][core]") {
    const auto s = team();
    v1::GroupAddMembers add;
    to_proto(s.conv, *add.mutable_conv());
    add.set_client_msg_id("a1");
    add.add_user_ids(5);
    add.add_user_ids(3);  // already a member: skipped
    CHECK(code_of(decide_add_members(as(3), add, s, limit, now)) == v1::PERMISSION_DENIED);
    const auto e = decide_add_members(as(2), add, s, limit, now).value();
    REQUIRE(e.membership.size() == 1);
    CHECK(e.membership[0].user == 5);
    CHECK(event_of(e).members_added().user_ids_size() == 1);
    auto full = limit;
    full.max_group_members = 4;
    CHECK(code_of(decide_add_members(as(1), add, s, full, now)) == v1::GROUP_FULL);
    add.clear_user_ids();
    add.add_user_ids(4);
    CHECK(code_of(decide_add_members(as(1), add, s, limit, now)) == v1::INVALID_ARGUMENT);

    v1::GroupRemoveMembers rm;
    to_proto(s.conv, *rm.mutable_conv());
    rm.set_client_msg_id("r1");
    rm.add_user_ids(1);
    CHECK(code_of(decide_remove_members(as(2), rm, s, limit, now)) == v1::PERMISSION_DENIED);
    rm.set_user_ids(0, 2);  // removing oneself is leaving
    CHECK(code_of(decide_remove_members(as(2), rm, s, limit, now)) == v1::INVALID_ARGUMENT);
    CHECK(decide_remove_members(as(1), rm, s, limit, now).has_value());
    rm.set_user_ids(0, 3);
    CHECK(code_of(decide_remove_members(as(4), rm, s, limit, now)) == v1::PERMISSION_DENIED);
    const auto removed = decide_remove_members(as(2), rm, s, limit, now).value();
    CHECK(removed.membership.at(0).user == 3);
    CHECK_FALSE(removed.membership.at(0).new_role);
}

TEST_CASE("an admin cannot remove another admin", "[unit][core]") {
    auto s = team();
    s.members[5] = st::role::admin;
    v1::GroupRemoveMembers rm;
    to_proto(s.conv, *rm.mutable_conv());
    rm.set_client_msg_id("r1");
    rm.add_user_ids(5);
    CHECK(code_of(decide_remove_members(as(2), rm, s, limit, now)) == v1::PERMISSION_DENIED);
    CHECK(decide_remove_members(as(1), rm, s, limit, now).has_value());
}

TEST_CASE("an owner who leaves hands the group over", "[unit][core]") {
    v1::GroupLeave leave;
    leave.set_client_msg_id("l1");
    auto s = team();
    to_proto(s.conv, *leave.mutable_conv());
    auto e = decide_leave(as(1), leave, s, limit, now).value();
    REQUIRE(e.membership.size() == 2);
    CHECK(e.membership[1].user == 2);  // the admin
    CHECK(e.membership[1].new_role == st::role::owner);
    CHECK(event_of(e).member_left().new_owner() == 2);

    s = group_state({{1, st::role::owner}, {6, st::role::member}, {4, st::role::member}});
    CHECK(decide_leave(as(1), leave, s, limit, now).value().membership.at(1).user == 4);
    s = group_state({{1, st::role::owner}});
    CHECK(decide_leave(as(1), leave, s, limit, now).value().membership.size() == 1);
    CHECK(decide_leave(as(3), leave, team(), limit, now).value().membership.size() == 1);
    CHECK(code_of(decide_leave(as(9), leave, team(), limit, now)) == v1::NOT_MEMBER);
}

TEST_CASE("renames and role changes follow roles", "[unit][core]") {
    const auto s = team();
    v1::GroupRename rename;
    to_proto(s.conv, *rename.mutable_conv());
    rename.set_client_msg_id("n1");
    rename.set_name("ops-2");
    CHECK(code_of(decide_rename(as(3), rename, s, limit, now)) == v1::PERMISSION_DENIED);
    CHECK(decide_rename(as(2), rename, s, limit, now).value().new_name == "ops-2");

    v1::GroupSetRole set;
    to_proto(s.conv, *set.mutable_conv());
    set.set_client_msg_id("s1");
    set.set_user_id(3);
    set.set_role(v1::ROLE_ADMIN);
    CHECK(code_of(decide_set_role(as(2), set, s, limit, now)) == v1::PERMISSION_DENIED);
    CHECK(decide_set_role(as(1), set, s, limit, now).value().membership.at(0).new_role ==
          st::role::admin);
    set.set_role(v1::ROLE_UNSPECIFIED);
    CHECK(code_of(decide_set_role(as(1), set, s, limit, now)) == v1::INVALID_ARGUMENT);
    set.set_user_id(1);
    set.set_role(v1::ROLE_MEMBER);
    CHECK(code_of(decide_set_role(as(1), set, s, limit, now)) == v1::INVALID_ARGUMENT);
}

TEST_CASE("decided entries apply cleanly and leave a consistent store", "[unit][core]") {
    auto store = st::make_memory_store();
    const auto apply = [&](const st::append_event& e) {
        const std::vector<st::log_entry> batch{e};
        auto r = store->apply(batch, st::durability::memory);
        REQUIRE(r.has_value());
        REQUIRE(r->at(0).has_value());
    };
    // The owner's view of the group, refreshed from the store before each decision.
    const auto state_of = [&](st::conv_id c) {
        conv_state s;
        s.conv = c;
        if (auto meta = store->conversation(1, c).value()) {
            s.exists = true;
            s.head = meta->head_seq;
            s.owner = meta->owner;
        }
        for (const auto& m : store->members(1, c).value()) s.members[m.user] = m.member_role;
        return s;
    };
    v1::GroupCreate create;
    create.set_name("life");
    create.set_client_msg_id("c");
    for (st::user_id u : {2, 3}) create.add_member_ids(u);
    apply(decide_group_create(as(1), create, 77, limit, now).value());
    const auto g = st::conv_id::group(77);

    apply(decide_send(as(2), text_send(state_of(g), "hi", "m1"), state_of(g), limit, now).value());
    v1::GroupSetRole set;
    to_proto(g, *set.mutable_conv());
    set.set_client_msg_id("s");
    set.set_user_id(3);
    set.set_role(v1::ROLE_OWNER);
    apply(decide_set_role(as(1), set, state_of(g), limit, now).value());
    CHECK(store->conversation(1, g).value()->owner == 3);
    CHECK(store->member(1, g, 1).value()->member_role == st::role::admin);

    v1::GroupLeave leave;
    to_proto(g, *leave.mutable_conv());
    leave.set_client_msg_id("l");
    apply(decide_leave(as(3), leave, state_of(g), limit, now).value());
    CHECK(store->conversation(1, g).value()->owner == 1);  // the admin took over
    CHECK(store->conversation(1, g).value()->head_seq == 4);
    CHECK(store->verify().has_value());
}

TEST_CASE("recall: the sender within the window, group managers at any time", "[unit][core]") {
    const auto s = team();
    target_event t{true, 3, now - 1000, st::event_kind::message, false};
    v1::RecallRequest req;
    to_proto(s.conv, *req.mutable_conv());
    req.set_seq(4);
    req.set_client_msg_id("r1");
    const auto e = decide_recall(as(3), req, s, t, limit, now).value();
    CHECK(e.kind == st::event_kind::recall);
    CHECK(e.recalls == 4);
    CHECK_FALSE(e.counts_unread);
    CHECK(event_of(e).recall().target_seq() == 4);

    CHECK(code_of(decide_recall(as(4), req, s, t, limit, now)) == v1::PERMISSION_DENIED);
    auto old = t;
    old.server_time_ms = now - std::chrono::milliseconds(limit.recall_window).count() - 1;
    CHECK(code_of(decide_recall(as(3), req, s, old, limit, now)) == v1::WINDOW_EXPIRED);
    CHECK(decide_recall(as(2), req, s, old, limit, now).has_value());  // an admin, any time
    auto recalled = t;
    recalled.recalled = true;
    CHECK(code_of(decide_recall(as(3), req, s, recalled, limit, now)) == v1::ALREADY_RECALLED);
    CHECK(code_of(decide_recall(as(3), req, s, target_event{}, limit, now)) == v1::NOT_FOUND);
    auto system = t;
    system.kind = st::event_kind::members_added;
    CHECK(code_of(decide_recall(as(1), req, s, system, limit, now)) == v1::INVALID_ARGUMENT);
}

TEST_CASE("edit: only the sender, within the window, of a message not recalled", "[unit][core]") {
    const auto s = team();
    target_event t{true, 3, now - 1000, st::event_kind::message, false};
    v1::EditRequest req;
    to_proto(s.conv, *req.mutable_conv());
    req.set_seq(4);
    req.set_client_msg_id("e1");
    req.mutable_content()->set_text("fixed typo");
    const auto e = decide_edit(as(3), req, s, t, limit, now).value();
    CHECK(e.kind == st::event_kind::edit);
    CHECK(event_of(e).edit().content().text() == "fixed typo");
    CHECK(code_of(decide_edit(as(1), req, s, t, limit, now)) == v1::PERMISSION_DENIED);
    auto old = t;
    old.server_time_ms = now - std::chrono::milliseconds(limit.recall_window).count() - 1;
    CHECK(code_of(decide_edit(as(3), req, s, old, limit, now)) == v1::WINDOW_EXPIRED);
    auto recalled = t;
    recalled.recalled = true;
    CHECK(code_of(decide_edit(as(3), req, s, recalled, limit, now)) == v1::ALREADY_RECALLED);
    req.mutable_content()->set_text("");
    CHECK(code_of(decide_edit(as(3), req, s, t, limit, now)) == v1::INVALID_ARGUMENT);
}
