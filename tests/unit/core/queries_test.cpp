// The read-only requests, as functions of the store: pages bounded by count and by the frame
// budget, membership checked, counts from cursors.
#include "queries.hpp"

#include <catch2/catch.hpp>

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
