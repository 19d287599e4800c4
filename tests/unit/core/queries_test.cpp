// The read-only requests, as functions of the store: pages bounded by count and by the frame
// budget, membership checked, counts from cursors.
#include "queries.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <set>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

v1::Frame history(const st::conv_id& conv, st::seq_t from, std::uint32_t limit,
                  v1::Direction dir = v1::DIRECTION_BACKWARD) {
    v1::Frame f;
    f.set_req_id(3);
    core::to_proto(conv, *f.mutable_history()->mutable_conv());
    f.mutable_history()->set_from_seq(from);
    f.mutable_history()->set_limit(limit);
    f.mutable_history()->set_direction(dir);
    return f;
}

}  // namespace

TEST_CASE("a sync page stops at the frame budget and says there is more", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    for (int i = 0; i < 10; ++i) {
        h.request(alice, text_send(10 + i, conv, std::string(16 * 1024 - 100, 'x'),
                                   "big-" + std::to_string(i)));
    }
    v1::Frame sync;
    sync.set_req_id(4);
    sync.mutable_sync()->set_after_inbox_seq(0);
    const auto page = core::answer_sync(*h.store, h.limits, {acme, 9, 90}, sync);
    REQUIRE(page.has_sync_page());
    CHECK(page.req_id() == 4);
    CHECK(page.sync_page().events_size() == 4);  // 64 KiB frames hold four of these events
    CHECK(page.sync_page().has_more());
    CHECK(page.sync_page().inbox_head() == 10);
    CHECK(page.ByteSizeLong() <= h.limits.max_frame_bytes);

    sync.mutable_sync()->set_after_inbox_seq(9);
    const auto last = core::answer_sync(*h.store, h.limits, {acme, 9, 90}, sync);
    CHECK(last.sync_page().events_size() == 1);
    CHECK_FALSE(last.sync_page().has_more());
}

TEST_CASE("history is for members, newest first by default, bounded by its limit", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    for (int i = 0; i < 5; ++i) {
        h.request(alice,
                  text_send(10 + i, conv, "m" + std::to_string(i), "c-" + std::to_string(i)));
    }
    const auto page = core::answer_history(*h.store, h.limits, {acme, 9, 90}, history(conv, 0, 2));
    REQUIRE(page.has_history_page());
    REQUIRE(page.history_page().events_size() == 2);
    CHECK(page.history_page().events(0).seq() == 5);
    CHECK(page.history_page().events(1).seq() == 4);
    CHECK(page.history_page().has_more());
    CHECK(page.history_page().head_seq() == 5);
    const auto forward = core::answer_history(*h.store, h.limits, {acme, 9, 90},
                                              history(conv, 4, 10, v1::DIRECTION_FORWARD));
    CHECK(forward.history_page().events_size() == 2);
    CHECK_FALSE(forward.history_page().has_more());

    const auto stranger =
        core::answer_history(*h.store, h.limits, {acme, 11, 110}, history(conv, 0, 2));
    CHECK(stranger.error().code() == v1::NOT_MEMBER);
    // The same ids in another tenant name that tenant's own conversation, not begun: empty.
    const auto other_tenant =
        core::answer_history(*h.store, h.limits, {2, 9, 90}, history(conv, 0, 2));
    REQUIRE(other_tenant.has_history_page());
    CHECK(other_tenant.history_page().events_size() == 0);
    CHECK(other_tenant.history_page().head_seq() == 0);
}

TEST_CASE("a direct conversation is usable before its first message", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto conv = st::conv_id::direct(8, 9);
    const auto page = core::answer_history(*h.store, h.limits, {acme, 8, 80}, history(conv, 0, 5));
    REQUIRE(page.has_history_page());
    CHECK(page.history_page().events_size() == 0);
    CHECK_FALSE(page.history_page().has_more());

    v1::Frame typing;
    typing.set_req_id(3);
    core::to_proto(conv, *typing.mutable_typing()->mutable_conv());
    typing.mutable_typing()->set_typing(true);
    h.request(alice, typing);
    CHECK_FALSE(alice->reply_to(3));  // not refused
    REQUIRE(bob->of(v1::Frame::kTyping).size() == 1);
    CHECK(bob->of(v1::Frame::kTyping)[0].typing().user_id() == 8);

    h.request(alice, mark_read_frame(4, conv, 0));
    CHECK(alice->reply_to(4)->has_ok());

    // A third user is still no member of it.
    auto carol = h.open({acme, 10, 100}, 0);
    h.request(carol, [&] {
        auto f = typing;
        f.set_req_id(5);
        return f;
    }());
    CHECK(carol->reply_to(5)->error().code() == v1::NOT_MEMBER);
    CHECK(core::answer_history(*h.store, h.limits, {acme, 10, 100}, history(conv, 0, 5))
              .error()
              .code() == v1::NOT_MEMBER);
}

TEST_CASE("who-read counts the members who read a message, and lists them when asked",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto group = create_group(h, alice, {9, 10});
    h.request(alice, text_send(1, group, "hello", "m-1"));  // seq 2
    h.request(bob, mark_read_frame(2, group, 2));
    v1::Frame q;
    q.set_req_id(5);
    core::to_proto(group, *q.mutable_who_read()->mutable_conv());
    q.mutable_who_read()->set_seq(2);
    q.mutable_who_read()->set_with_lists(true);
    const auto reply = core::answer_who_read(*h.store, h.limits, {acme, 8, 80}, q);
    REQUIRE(reply.has_who_read_reply());
    CHECK(reply.who_read_reply().read_count() == 1);
    CHECK(reply.who_read_reply().unread_count() == 1);
    CHECK(reply.who_read_reply().read_users(0) == 9);
    CHECK(reply.who_read_reply().unread_users(0) == 10);
    q.mutable_who_read()->set_seq(99);
    CHECK(core::answer_who_read(*h.store, h.limits, {acme, 8, 80}, q).error().code() ==
          v1::NOT_FOUND);
}

TEST_CASE("the conversation list says what is unread, newest first, within its limit",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    h.request(alice, text_send(1, st::conv_id::direct(8, 9), "one", "c-1"));
    h.router.advance(std::chrono::milliseconds(10));  // later activity in the second
    h.request(alice, text_send(2, st::conv_id::direct(8, 10), "two", "c-2"));
    h.request(alice, text_send(3, st::conv_id::direct(8, 10), "three", "c-3"));
    v1::Frame list;
    list.set_req_id(6);
    list.mutable_list_conversations()->set_limit(1);
    const auto page = core::answer_list(*h.store, h.limits, {acme, 10, 100}, list);
    REQUIRE(page.has_conversation_list());
    REQUIRE(page.conversation_list().conversations_size() == 1);
    CHECK(page.conversation_list().conversations(0).unread() == 2);
    const auto mine = core::answer_list(*h.store, h.limits, {acme, 8, 80}, list);
    CHECK(mine.conversation_list().has_more());                            // alice is in two
    CHECK(mine.conversation_list().conversations(0).conv().peer() == 10);  // the newest first
}

TEST_CASE("group info is for members and names every member with a role", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto group = create_group(h, alice, {9, 10});
    v1::Frame q;
    q.set_req_id(7);
    core::to_proto(group, *q.mutable_group_info_request()->mutable_conv());
    const auto info = core::answer_group_info(*h.store, h.limits, {acme, 9, 90}, q);
    REQUIRE(info.has_group_info());
    CHECK(info.group_info().owner() == 8);
    CHECK(info.group_info().members_size() == 3);
    CHECK(info.group_info().name() == "team");
    CHECK(core::answer_group_info(*h.store, h.limits, {acme, 11, 110}, q).error().code() ==
          v1::NOT_MEMBER);
}

namespace {

v1::Frame group_info_page(std::uint64_t req_id, const st::conv_id& group, std::uint64_t after,
                          std::uint32_t limit) {
    v1::Frame f;
    f.set_req_id(req_id);
    core::to_proto(group, *f.mutable_group_info_request()->mutable_conv());
    f.mutable_group_info_request()->set_after_user_id(after);
    f.mutable_group_info_request()->set_limit(limit);
    return f;
}

}  // namespace

TEST_CASE("group info pages through every member once, within the frame", "[unit][core]") {
    service_harness h;
    h.limits.max_frame_bytes = 16 * 1024;  // the smallest frames: more pages
    auto owner = h.open({acme, 8, 80}, 0);
    std::vector<st::user_id> others;
    for (std::uint64_t i = 0; i < 2'500; ++i) others.push_back(0xffff'ffff'ffff'0000ULL + i);
    const auto group = create_group(h, owner, others);
    std::vector<st::user_id> seen;
    std::uint64_t after = 0;
    for (int pages = 0; pages < 100; ++pages) {
        const auto reply = core::answer_group_info(*h.store, h.limits, {acme, 8, 80},
                                                   group_info_page(7, group, after, 1'000));
        REQUIRE(reply.has_group_info());
        CHECK(reply.ByteSizeLong() <= h.limits.max_frame_bytes);
        const auto& info = reply.group_info();
        CHECK(info.member_count() == 2'501);
        CHECK(info.owner() == 8);
        for (const auto& m : info.members()) seen.push_back(m.user_id());
        if (!info.has_more()) break;
        REQUIRE(info.members_size() > 0);
        after = info.members(info.members_size() - 1).user_id();
    }
    auto expected = others;
    expected.insert(expected.begin(), 8);
    CHECK(seen == expected);  // ascending, each once
    const auto stranger = core::answer_group_info(*h.store, h.limits, {acme, 9, 90},
                                                  group_info_page(8, group, 0, 10));
    CHECK(stranger.error().code() == v1::NOT_MEMBER);
}

TEST_CASE("who-read lists come in pages, and the counts are whole on every page", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 8, 80}, 0);
    std::vector<st::user_id> others;
    for (std::uint64_t i = 1; i <= 1'500; ++i) others.push_back(1'000 + i);
    const auto group = create_group(h, owner, others);
    h.request(owner, text_send(1, group, "read me", "m-1"));
    for (std::uint64_t i = 1; i <= 1'500; i += 2) {  // every other member reads it
        REQUIRE(h.commits.try_submit(st::mark_read{acme, group, 1'000 + i, 2}, {}));
    }
    h.settle();
    std::vector<st::user_id> read;
    std::vector<st::user_id> unread;
    std::uint64_t after = 0;
    for (int pages = 0; pages < 10; ++pages) {
        v1::Frame q;
        q.set_req_id(3);
        core::to_proto(group, *q.mutable_who_read()->mutable_conv());
        q.mutable_who_read()->set_seq(2);
        q.mutable_who_read()->set_with_lists(true);
        q.mutable_who_read()->set_after_user_id(after);
        q.mutable_who_read()->set_limit(400);
        const auto reply = core::answer_who_read(*h.store, h.limits, {acme, 8, 80}, q);
        REQUIRE(reply.has_who_read_reply());
        const auto& r = reply.who_read_reply();
        CHECK(r.read_count() == 750);
        CHECK(r.unread_count() == 750);
        CHECK(r.read_users_size() + r.unread_users_size() <= 400);
        read.insert(read.end(), r.read_users().begin(), r.read_users().end());
        unread.insert(unread.end(), r.unread_users().begin(), r.unread_users().end());
        if (!r.has_more()) break;
        after = std::max(r.read_users().empty() ? 0 : *r.read_users().rbegin(),
                         r.unread_users().empty() ? 0 : *r.unread_users().rbegin());
    }
    REQUIRE(read.size() == 750);
    REQUIRE(unread.size() == 750);
    CHECK(read.front() == 1'001);
    CHECK(unread.front() == 1'002);
    CHECK(std::is_sorted(read.begin(), read.end()));
    CHECK(std::is_sorted(unread.begin(), unread.end()));
}

TEST_CASE("the conversation list pages with a cursor, newest first, each once", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    for (std::uint64_t peer = 100; peer < 1'300; ++peer) {
        h.request(alice,
                  text_send(peer, st::conv_id::direct(8, peer), "hi", "c-" + std::to_string(peer)));
        if (peer % 7 == 0) h.router.advance(std::chrono::milliseconds{1});  // some share a time
    }
    std::vector<std::uint64_t> peers;
    std::string cursor;
    std::int64_t previous_ms = std::numeric_limits<std::int64_t>::max();
    for (int pages = 0; pages < 100; ++pages) {
        v1::Frame q;
        q.set_req_id(4);
        q.mutable_list_conversations()->set_limit(500);
        q.mutable_list_conversations()->set_cursor(cursor);
        const auto reply = core::answer_list(*h.store, h.limits, {acme, 8, 80}, q);
        REQUIRE(reply.has_conversation_list());
        CHECK(reply.ByteSizeLong() <= h.limits.max_frame_bytes);
        const auto& list = reply.conversation_list();
        for (const auto& c : list.conversations()) {
            CHECK(c.last_event_ms() <= previous_ms);
            previous_ms = c.last_event_ms();
            peers.push_back(c.conv().peer());
        }
        if (!list.has_more()) {
            CHECK(list.next_cursor().empty());
            break;
        }
        cursor = list.next_cursor();
    }
    REQUIRE(peers.size() == 1'200);
    CHECK(std::set<std::uint64_t>(peers.begin(), peers.end()).size() == 1'200);

    v1::Frame bad;
    bad.set_req_id(5);
    bad.mutable_list_conversations()->set_cursor("not a cursor");
    CHECK(core::answer_list(*h.store, h.limits, {acme, 8, 80}, bad).error().code() ==
          v1::INVALID_ARGUMENT);
}

TEST_CASE("a removed member reads nothing of the group after its removal", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto group = create_group(h, owner, {9, 10});
    h.request(owner, text_send(1, group, "before", "m-1"));
    v1::Frame remove;
    remove.set_req_id(2);
    core::to_proto(group, *remove.mutable_group_remove_members()->mutable_conv());
    remove.mutable_group_remove_members()->add_user_ids(9);
    remove.mutable_group_remove_members()->set_client_msg_id("rm-9");
    h.request(owner, remove);
    REQUIRE(owner->reply_to(2)->has_send_ack());
    h.request(owner, text_send(3, group, "after", "m-2"));

    // Pushes: the removal is the last bob got.
    const auto pushes = bob->of(v1::Frame::kPush);
    REQUIRE_FALSE(pushes.empty());
    CHECK(pushes.back().push().event().has_members_removed());
    // Sync: the same.
    v1::Frame sync;
    sync.set_req_id(4);
    sync.mutable_sync();
    const auto page = core::answer_sync(*h.store, h.limits, {acme, 9, 90}, sync);
    REQUIRE(page.has_sync_page());
    CHECK(
        page.sync_page().events(page.sync_page().events_size() - 1).event().has_members_removed());
    for (const auto& p : page.sync_page().events()) {
        CHECK_FALSE((p.event().has_message() && p.event().message().content().text() == "after"));
    }
    // History, who-read and group info: not a member any more.
    CHECK(core::answer_history(*h.store, h.limits, {acme, 9, 90}, history(group, 0, 10))
              .error()
              .code() == v1::NOT_MEMBER);
    v1::Frame who;
    who.set_req_id(5);
    core::to_proto(group, *who.mutable_who_read()->mutable_conv());
    who.mutable_who_read()->set_seq(4);
    CHECK(core::answer_who_read(*h.store, h.limits, {acme, 9, 90}, who).error().code() ==
          v1::NOT_MEMBER);
    CHECK(
        core::answer_group_info(*h.store, h.limits, {acme, 9, 90}, group_info_page(6, group, 0, 10))
            .error()
            .code() == v1::NOT_MEMBER);
}

TEST_CASE("a member added to a group reads its history from the event that added it",
          "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 8, 80}, 0);
    const auto group = create_group(h, owner, {9});
    for (int i = 0; i < 3; ++i) {
        h.request(owner, text_send(10 + i, group, "early", "early-" + std::to_string(i)));
    }
    v1::Frame add;
    add.set_req_id(20);
    core::to_proto(group, *add.mutable_group_add_members()->mutable_conv());
    add.mutable_group_add_members()->add_user_ids(11);
    add.mutable_group_add_members()->set_client_msg_id("add-11");
    h.request(owner, add);
    const auto joined = owner->reply_to(20)->send_ack().seq();  // 5
    h.request(owner, text_send(21, group, "late", "late"));
    const core::requester carol{acme, 11, 110};

    const auto back = core::answer_history(*h.store, h.limits, carol, history(group, 0, 50));
    REQUIRE(back.has_history_page());
    REQUIRE(back.history_page().events_size() == 2);  // the event that added her, and after
    CHECK(back.history_page().events(1).seq() == joined);
    CHECK_FALSE(back.history_page().has_more());
    const auto fwd = core::answer_history(*h.store, h.limits, carol,
                                          history(group, 1, 50, v1::DIRECTION_FORWARD));
    REQUIRE(fwd.history_page().events_size() == 2);
    CHECK(fwd.history_page().events(0).seq() == joined);
    const auto before = core::answer_history(*h.store, h.limits, carol, history(group, 3, 50));
    CHECK(before.history_page().events_size() == 0);
    CHECK_FALSE(before.history_page().has_more());
    // Members from the start read it all.
    CHECK(core::answer_history(*h.store, h.limits, {acme, 9, 90}, history(group, 0, 50))
              .history_page()
              .events_size() == 6);
    // Who-read of an earlier message: not hers to see.
    v1::Frame who;
    who.set_req_id(22);
    core::to_proto(group, *who.mutable_who_read()->mutable_conv());
    who.mutable_who_read()->set_seq(2);
    CHECK(core::answer_who_read(*h.store, h.limits, carol, who).error().code() == v1::NOT_FOUND);
}

TEST_CASE("a group set to show its whole history shows new members everything", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 8, 80}, 0);
    auto member = h.open({acme, 9, 90}, 1);
    const auto group = create_group(h, owner, {9});
    h.request(owner, text_send(10, group, "early", "early"));
    const auto add = [&](std::uint64_t req_id, st::user_id user) {
        v1::Frame f;
        f.set_req_id(req_id);
        core::to_proto(group, *f.mutable_group_add_members()->mutable_conv());
        f.mutable_group_add_members()->add_user_ids(user);
        f.mutable_group_add_members()->set_client_msg_id("add-" + std::to_string(user));
        h.request(owner, f);
    };
    const auto set_history = [&](const std::shared_ptr<fake_device>& who, std::uint64_t req_id,
                                 v1::HistoryVisibility visibility) {
        v1::Frame f;
        f.set_req_id(req_id);
        core::to_proto(group, *f.mutable_group_set_history()->mutable_conv());
        f.mutable_group_set_history()->set_history(visibility);
        f.mutable_group_set_history()->set_client_msg_id("history-" + std::to_string(req_id));
        h.request(who, f);
        return *who->reply_to(req_id);
    };
    const auto visible_to = [&](st::user_id user) {
        return core::answer_history(*h.store, h.limits, {acme, user, user * 10},
                                    history(group, 0, 50))
            .history_page()
            .events_size();
    };
    // A plain member may not change it; the owner may.
    CHECK(set_history(member, 11, v1::HISTORY_WHOLE).error().code() == v1::PERMISSION_DENIED);
    const auto set = set_history(owner, 12, v1::HISTORY_WHOLE);
    REQUIRE(set.has_send_ack());
    CHECK(member->of(v1::Frame::kPush).back().push().event().history_set().history() ==
          v1::HISTORY_WHOLE);
    add(13, 11);                 // seq 4
    CHECK(visible_to(11) == 4);  // created, early, history_set, added
    const auto info = core::answer_group_info(*h.store, h.limits, {acme, 11, 110},
                                              group_info_page(14, group, 0, 10));
    CHECK(info.group_info().history() == v1::HISTORY_WHOLE);
    // Back to "from their join": the one added before keeps reading from its own join only.
    REQUIRE(set_history(owner, 15, v1::HISTORY_FROM_JOIN).has_send_ack());
    CHECK(visible_to(11) == 2);  // added (seq 4), and the history_set after it
    add(16, 12);
    CHECK(visible_to(12) == 1);

    // Chosen at creation.
    v1::Frame create;
    create.set_req_id(17);
    create.mutable_group_create()->set_name("open");
    create.mutable_group_create()->add_member_ids(9);
    create.mutable_group_create()->set_history(v1::HISTORY_WHOLE);
    create.mutable_group_create()->set_client_msg_id("open-group");
    h.request(owner, create);
    const auto open = st::conv_id::group(owner->reply_to(17)->send_ack().conv().id());
    CHECK(h.store->conversation(acme, open).value()->whole_history);
    CHECK(member->of(v1::Frame::kPush).back().push().event().group_created().history() ==
          v1::HISTORY_WHOLE);
}
