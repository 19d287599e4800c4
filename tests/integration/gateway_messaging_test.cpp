// The delivery contract through a real gateway: durable acks, idempotent sends, pushes to every
// device, per-conversation order, sync after being offline, cumulative acks, group permissions,
// recall and edit, typing, tenant isolation, and a restart on the same data. Receipts are in
// gateway_receipts_test.cpp, devices and presence in gateway_presence_test.cpp.
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "tern/v1/events.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;

}  // namespace

TEST_CASE("a direct message is acked, then pushed to the peer and the sender's other devices",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto alice_desktop = f.login(acme, 7, 71);
    auto bob = f.login(acme, 9, 90);

    const auto ack = send_ok(*alice, 2, direct(7, 9), "Lunch at 12?", "m-1");
    CHECK(ack.seq() == 1);
    CHECK_FALSE(ack.duplicate());
    CHECK(ack.server_time_ms() > 0);

    for (auto* c : {bob.get(), alice_desktop.get()}) {
        const auto got = pushes(*c, 1);
        REQUIRE(got.size() == 1);
        CHECK(got[0].inbox_seq() == 1);
        CHECK(got[0].event().seq() == 1);
        CHECK(got[0].event().sender() == 7);
        CHECK(got[0].event().sender_device() == 70);
        CHECK(got[0].event().client_msg_id() == "m-1");
        CHECK(got[0].event().message().content().text() == "Lunch at 12?");
    }
    // The sending device receives its own event too (its inbox has it), once.
    const auto own = pushes(*alice, 1);
    REQUIRE(own.size() == 1);
    CHECK(own[0].event().seq() == 1);
}

TEST_CASE("a resend with the same client_msg_id returns the original seq",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    const auto first = send_ok(*alice, 2, direct(7, 9), "once", "same-id");
    const auto again = send_ok(*alice, 3, direct(7, 9), "once", "same-id");
    CHECK(again.seq() == first.seq());
    CHECK(again.duplicate());
    CHECK(again.server_time_ms() == first.server_time_ms());
    // Bob saw it once; the next message is seq 2.
    const auto next = send_ok(*alice, 4, direct(7, 9), "twice", "other-id");
    CHECK(next.seq() == 2);
    const auto got = pushes(*bob, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].event().seq() == 1);
    CHECK(got[1].event().seq() == 2);
    CHECK(pushes(*bob, 1, 300ms).empty());
    // The same id in another conversation is a client bug, refused.
    alice->send(send_text(5, direct(7, 11), "elsewhere", "same-id"));
    const auto e = alice->receive_until(v1::Frame::kError);
    REQUIRE(e);
    CHECK(e->error().code() == v1::CLIENT_MSG_ID_REUSED);
}

TEST_CASE("a device that was offline catches up from its cursor, then gets live pushes",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    for (int i = 1; i <= 30; ++i) {
        send_ok(*alice, 10 + i, direct(7, 9), "m" + std::to_string(i), "c" + std::to_string(i));
    }
    v1::Welcome welcome;
    auto bob = f.login(acme, 9, 90, std::nullopt, &welcome);
    CHECK(welcome.inbox_head() == 30);
    CHECK(welcome.resume_from() == 0);
    send_ok(*alice, 99, direct(7, 9), "live", "c-live");
    const auto got = pushes(*bob, 31);
    REQUIRE(got.size() == 31);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].inbox_seq() == i + 1);  // no gap, no repeat, in order
        CHECK(got[i].event().seq() == i + 1);
    }
    CHECK(got.back().event().message().content().text() == "live");

    // Acknowledged up to 20: the next session of this device resumes after 20. The writer
    // applies a connection's entries in order, so once the MarkRead after the Ack is answered,
    // the Ack is durable too.
    v1::Frame ack;
    ack.mutable_ack()->set_inbox_seq(20);
    bob->send(ack);
    bob->send(mark_read(77, direct(7, 9), 5));
    const auto ok = bob->receive_reply(77);
    REQUIRE(ok);
    REQUIRE(ok->has_ok());
    bob.reset();
    auto again = f.login(acme, 9, 90, std::nullopt, &welcome);
    CHECK(welcome.resume_from() == 20);
    const auto rest = pushes(*again, 11);
    REQUIRE(rest.size() == 11);
    CHECK(rest.front().inbox_seq() == 21);
    CHECK(rest.back().inbox_seq() == 31);
}

TEST_CASE("a device that acks then closes and reconnects at once never gets an acked push again",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    for (int i = 1; i <= 50; ++i) {
        send_ok(*alice, i, direct(7, 9), "m", "c" + std::to_string(i));
    }
    std::uint64_t acked = 0;
    std::uint64_t head = 50;
    for (int round = 0; round < 100; ++round) {
        INFO("round " << round);
        v1::Welcome welcome;
        auto bob = f.login(acme, 9, 90, std::nullopt, &welcome);  // no hint: the server decides
        CHECK(welcome.resume_from() == acked);
        const auto got = pushes(*bob, head - acked);
        REQUIRE(got.size() == head - acked);
        CHECK(got.front().inbox_seq() == acked + 1);
        v1::Frame ack;
        ack.mutable_ack()->set_inbox_seq(head);
        bob->send(ack);
        acked = head;
        bob.reset();  // closed at once, and the next connection follows straight away
        send_ok(*alice, 100 + round, direct(7, 9), "m", "r" + std::to_string(round));
        ++head;
    }
}

TEST_CASE("explicit sync pages through the inbox", "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    for (int i = 1; i <= 5; ++i) send_ok(*alice, i, direct(7, 9), "s", "k" + std::to_string(i));
    auto bob = f.login(acme, 9, 90, 5);  // already has everything: no pushes
    v1::Frame sync;
    sync.set_req_id(50);
    sync.mutable_sync()->set_after_inbox_seq(1);
    sync.mutable_sync()->set_limit(3);
    bob->send(sync);
    const auto page = bob->receive_until(v1::Frame::kSyncPage);
    REQUIRE(page);
    CHECK(page->req_id() == 50);
    REQUIRE(page->sync_page().events_size() == 3);
    CHECK(page->sync_page().events(0).inbox_seq() == 2);
    CHECK(page->sync_page().events(2).event().seq() == 4);
    CHECK(page->sync_page().inbox_head() == 5);
    CHECK(page->sync_page().has_more());
}

TEST_CASE("groups: members receive, non-members and other tenants are refused",
          "[integration][messaging]") {
    gateway_fixture f;
    auto owner = f.login(acme, 1, 10);
    auto member = f.login(acme, 2, 20);
    auto outsider = f.login(acme, 3, 30);
    auto other_tenant = f.login(2, 1, 10);

    const auto id = create_group(*owner, 2, "ops", {2});
    const auto created = pushes(*member, 1);
    REQUIRE(created.size() == 1);
    CHECK(created[0].event().group_created().name() == "ops");

    send_ok(*member, 3, group(id), "hello team", "g-1");
    REQUIRE(pushes(*owner, 2).size() == 2);  // group_created, then the message

    outsider->send(send_text(4, group(id), "let me in", "x-1"));
    auto e = outsider->receive_until(v1::Frame::kError);
    REQUIRE(e);
    CHECK(e->error().code() == v1::NOT_MEMBER);

    // The same group id in another tenant does not exist.
    other_tenant->send(send_text(5, group(id), "hi", "t-1"));
    e = other_tenant->receive_until(v1::Frame::kError);
    REQUIRE(e);
    CHECK(e->error().code() == v1::NOT_FOUND);

    // A member cannot add people; the owner can.
    v1::Frame add;
    add.set_req_id(6);
    *add.mutable_group_add_members()->mutable_conv() = group(id);
    add.mutable_group_add_members()->add_user_ids(3);
    add.mutable_group_add_members()->set_client_msg_id("add-1");
    member->send(add);
    e = member->receive_until(v1::Frame::kError);
    REQUIRE(e);
    CHECK(e->error().code() == v1::PERMISSION_DENIED);
    owner->send(add);
    const auto added = owner->receive_until(v1::Frame::kSendAck);
    REQUIRE(added);
    CHECK(added->send_ack().seq() == 3);
    const auto welcome_push = pushes(*outsider, 1);
    REQUIRE(welcome_push.size() == 1);
    CHECK(welcome_push[0].event().members_added().user_ids(0) == 3);
}

TEST_CASE("concurrent senders: every member sees one order, without gaps",
          "[integration][messaging]") {
    gateway_fixture f;
    auto a = f.login(acme, 1, 10);
    auto b = f.login(acme, 2, 20);
    auto watcher = f.login(acme, 3, 30);
    const auto id = create_group(*a, 2, "busy", {2, 3});
    constexpr int per_sender = 40;
    // Send without waiting for acks, from two connections at once.
    for (int i = 0; i < per_sender; ++i) {
        a->send(send_text(100 + i, group(id), "a" + std::to_string(i), "a" + std::to_string(i)));
        b->send(send_text(100 + i, group(id), "b" + std::to_string(i), "b" + std::to_string(i)));
    }
    const auto got = pushes(*watcher, 1 + 2 * per_sender);
    REQUIRE(got.size() == 1 + 2 * per_sender);
    std::map<std::string, int> next{{"a", 0}, {"b", 0}};
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].event().seq() == i + 1);
        if (i == 0) continue;
        // Each sender's messages keep their sending order.
        const auto& text = got[i].event().message().content().text();
        const auto who = text.substr(0, 1);
        CHECK(std::stoi(text.substr(1)) == next[who]++);
    }
}

TEST_CASE("acked messages survive a restart on the same data", "[integration][messaging]") {
    gateway_fixture f;
    {
        auto alice = f.login(acme, 7, 70);
        for (int i = 1; i <= 10; ++i)
            send_ok(*alice, i, direct(7, 9), "keep", "r" + std::to_string(i));
    }
    f.restart();
    auto bob = f.login(acme, 9, 90);
    const auto got = pushes(*bob, 10);
    REQUIRE(got.size() == 10);
    CHECK(got.back().event().seq() == 10);
    auto alice = f.login(acme, 7, 70);
    CHECK(send_ok(*alice, 20, direct(7, 9), "after", "r-after").seq() == 11);
    CHECK(send_ok(*alice, 21, direct(7, 9), "keep", "r3").duplicate());
}

TEST_CASE("a retried group creation names the same group, in flight or committed",
          "[integration][messaging]") {
    gateway_fixture f;
    auto a = f.login(acme, 1, 10);
    v1::Frame create;
    create.mutable_group_create()->set_name("once");
    create.mutable_group_create()->set_client_msg_id("create-once");
    create.mutable_group_create()->add_member_ids(2);
    for (std::uint64_t req = 1; req <= 3; ++req) {  // sent back to back, before any ack
        create.set_req_id(req);
        a->send(create);
    }
    std::set<std::uint64_t> groups;
    int duplicates = 0;
    for (std::uint64_t req = 1; req <= 3; ++req) {
        const auto r = a->receive_reply(req);
        REQUIRE(r);
        REQUIRE(r->has_send_ack());
        groups.insert(r->send_ack().conv().id());
        CHECK(r->send_ack().seq() == 1);
        duplicates += r->send_ack().duplicate() ? 1 : 0;
    }
    CHECK(groups.size() == 1);
    CHECK(duplicates == 2);
    create.set_req_id(4);
    a->send(create);
    const auto later = a->receive_reply(4);
    REQUIRE(later);
    CHECK(later->send_ack().duplicate());
    CHECK(later->send_ack().conv().id() == *groups.begin());
}

TEST_CASE("recall and edit are timeline events with their permissions",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    const auto sent = send_ok(*alice, 2, direct(7, 9), "typo", "t-1");

    v1::Frame edit;
    edit.set_req_id(3);
    *edit.mutable_edit()->mutable_conv() = direct(7, 9);
    edit.mutable_edit()->set_seq(sent.seq());
    edit.mutable_edit()->set_client_msg_id("t-edit");
    edit.mutable_edit()->mutable_content()->set_text("fixed");
    bob->send(edit);  // not the sender
    auto r = bob->receive_reply(3);
    REQUIRE(r);
    CHECK(r->error().code() == v1::PERMISSION_DENIED);
    alice->send(edit);
    r = alice->receive_reply(3);
    REQUIRE(r);
    REQUIRE(r->has_send_ack());
    CHECK(r->send_ack().seq() == 2);

    v1::Frame recall;
    recall.set_req_id(4);
    *recall.mutable_recall()->mutable_conv() = direct(7, 9);
    recall.mutable_recall()->set_seq(sent.seq());
    recall.mutable_recall()->set_client_msg_id("t-recall");
    alice->send(recall);
    r = alice->receive_reply(4);
    REQUIRE(r);
    REQUIRE(r->has_send_ack());
    CHECK(r->send_ack().seq() == 3);

    edit.set_req_id(5);
    edit.mutable_edit()->set_client_msg_id("t-edit-2");
    alice->send(edit);
    r = alice->receive_reply(5);
    REQUIRE(r);
    CHECK(r->error().code() == v1::ALREADY_RECALLED);

    const auto got = pushes(*bob, 3);
    REQUIRE(got.size() == 3);
    CHECK(got[1].event().edit().content().text() == "fixed");
    CHECK(got[2].event().recall().target_seq() == 1);
}

TEST_CASE("a device that stops reading is closed as a slow consumer and catches up later",
          "[integration][messaging]") {
    gateway_fixture f([](server::config& c) {
        c.limits.outbound_queue_frames = 50;
        c.limits.outbound_queue_bytes = 64 * 1024;
        c.limits.inbound_frames_per_second = 100000;
        c.limits.inbound_burst = 100000;
    });
    f.expect_dropped_frames = true;  // bob's queue, when it overflows
    // Bob's device stops reading after the handshake, with a small receive buffer.
    raw_client slow(f.gw->tcp_port(), {}, 0, 1 << 20, 4096);
    slow.send(hello(f.token_for(acme, 9, 90)));
    REQUIRE(slow.receive_until(v1::Frame::kWelcome));
    auto alice = f.login(acme, 7, 70);
    constexpr int total = 3000;
    const std::string body(3000, 'z');
    // Alice sends in windows of 20 (each gives her an ack and a push of her own message: her
    // queue stays under its 50 frames), and is never held up by Bob: every send is acknowledged.
    for (int window = 0; window < total; window += 20) {
        for (int i = window; i < window + 20; ++i) {
            alice->send(send_text(10 + i, direct(7, 9), body, "s" + std::to_string(i)));
        }
        for (int i = window; i < window + 20; ++i) {
            const auto r = alice->receive_reply(10 + i, 30s);
            REQUIRE(r);
            REQUIRE(r->has_send_ack());
        }
        while (alice->receive(0ms)) {
        }
    }
    // Bob's connection was closed; what he reads ends with the close (and, if it got through,
    // the slow-consumer Disconnect).
    std::optional<v1::Frame> frame;
    int pushes_read = 0;
    bool told = false;
    while ((frame = slow.receive(10s))) {
        if (frame->has_push()) ++pushes_read;
        if (frame->has_disconnect()) {
            CHECK(frame->disconnect().reason() == v1::DISCONNECT_SLOW_CONSUMER);
            told = true;
        }
    }
    CHECK(slow.closed_within(1s));
    CHECK(pushes_read < total);
    CHECK(f.gw->frames_dropped() > 0);  // counted, not dropped in silence
    INFO("pushes before the close: " << pushes_read << ", disconnect seen: " << told);
    // Reconnected, the device gets everything it missed, in order.
    auto bob = f.login(acme, 9, 90, 0);
    const auto got = pushes(*bob, total, 60s);
    REQUIRE(got.size() == total);
    CHECK(got.back().inbox_seq() == total);
}

TEST_CASE("typing indicators reach the other members' devices and nobody else",
          "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    auto carol = f.login(acme, 11, 110);
    send_ok(*alice, 2, direct(7, 9), "hi", "ty-1");
    v1::Frame typing;
    *typing.mutable_typing()->mutable_conv() = direct(7, 9);
    typing.mutable_typing()->set_typing(true);
    typing.mutable_typing()->set_user_id(12345);  // ignored: the server sets who is typing
    alice->send(typing);
    const auto got = bob->receive_until(v1::Frame::kTyping);
    REQUIRE(got);
    CHECK(got->typing().user_id() == 7);
    CHECK(got->typing().typing());
    // Carol is not in the conversation: she may not type in it and sees nothing of it.
    carol->send(typing);
    const auto refused = carol->receive_until(v1::Frame::kError);
    REQUIRE(refused);
    CHECK(refused->error().code() == v1::NOT_MEMBER);
    CHECK_FALSE(carol->receive_until(v1::Frame::kTyping, 300ms));
}

TEST_CASE(
    "an oversize request the server can read is answered with its req_id and the "
    "connection stays open",
    "[integration][messaging]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    // 30 KiB of text: within the 64 KiB frame, above the 16 KiB content limit.
    alice->send(send_text(41, direct(7, 9), std::string(30 * 1024, 'x'), "too-big"));
    const auto reply = alice->receive_reply(41);
    REQUIRE(reply);
    REQUIRE(reply->has_error());
    CHECK(reply->error().code() == v1::CONTENT_TOO_LARGE);
    CHECK_FALSE(reply->error().retryable());
    alice->send(ping(42));
    const auto pong = alice->receive_reply(42);
    REQUIRE(pong);
    CHECK(pong->has_pong());
    CHECK(send_ok(*alice, 43, direct(7, 9), "fits", "fits").seq() == 1);
}
