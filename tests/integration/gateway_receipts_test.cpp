// Receipts through a real gateway: cursors and who-read, the peer's cursors in direct chats
// (explicit reads, and the implicit read of replying), and coalesced read counts for group
// senders.
#include <map>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;

}  // namespace

TEST_CASE("read receipts and who-read come from cursors", "[integration][receipts]") {
    gateway_fixture f;
    auto a = f.login(acme, 1, 10);
    auto b = f.login(acme, 2, 20);
    auto c = f.login(acme, 3, 30);
    const auto id = create_group(*a, 2, "readers", {2, 3});
    const auto sent = send_ok(*a, 3, group(id), "announcement", "ann-1");

    b->send(mark_read(4, group(id), sent.seq()));
    REQUIRE(b->receive_until(v1::Frame::kOk));

    v1::Frame who;
    who.set_req_id(5);
    *who.mutable_who_read()->mutable_conv() = group(id);
    who.mutable_who_read()->set_seq(sent.seq());
    who.mutable_who_read()->set_with_lists(true);
    a->send(who);
    const auto reply = a->receive_until(v1::Frame::kWhoReadReply);
    REQUIRE(reply);
    CHECK(reply->who_read_reply().read_count() == 1);
    CHECK(reply->who_read_reply().unread_count() == 1);
    REQUIRE(reply->who_read_reply().read_users_size() == 1);
    CHECK(reply->who_read_reply().read_users(0) == 2);
    CHECK(reply->who_read_reply().unread_users(0) == 3);

    v1::Frame list;
    list.set_req_id(6);
    list.mutable_list_conversations();
    c->send(list);
    const auto convs = c->receive_until(v1::Frame::kConversationList);
    REQUIRE(convs);
    REQUIRE(convs->conversation_list().conversations_size() == 1);
    CHECK(convs->conversation_list().conversations(0).unread() == 1);
    CHECK(convs->conversation_list().conversations(0).name() == "readers");
}

TEST_CASE("in a direct chat the sender's devices learn delivery and read receipts",
          "[integration][receipts]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    const auto sent = send_ok(*alice, 2, direct(7, 9), "did you get this?", "rc-1");
    const auto got = pushes(*bob, 1);
    REQUIRE(got.size() == 1);

    v1::Frame ack;
    ack.mutable_ack()->set_inbox_seq(got[0].inbox_seq());
    bob->send(ack);
    auto update = alice->receive_until(v1::Frame::kReceiptUpdate);
    REQUIRE(update);
    REQUIRE(update->receipt_update().cursors_size() == 1);
    CHECK(update->receipt_update().cursors(0).user_id() == 9);
    CHECK(update->receipt_update().cursors(0).delivered_up_to() == sent.seq());
    CHECK(update->receipt_update().cursors(0).read_up_to() == 0);

    bob->send(mark_read(3, direct(7, 9), sent.seq()));
    update = alice->receive_until(v1::Frame::kReceiptUpdate);
    REQUIRE(update);
    CHECK(update->receipt_update().cursors(0).read_up_to() == sent.seq());
    CHECK(update->receipt_update().conv().id() == 7);
    CHECK(update->receipt_update().conv().peer() == 9);
}

TEST_CASE("replying in a direct chat reads the peer's messages, and the peer learns it",
          "[integration][receipts]") {
    gateway_fixture f;
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    const auto first = send_ok(*alice, 2, direct(7, 9), "lunch?", "ir-1");
    REQUIRE(pushes(*bob, 1).size() == 1);
    // Bob answers without marking anything read: his answer reads Alice's question.
    const auto answer = send_ok(*bob, 3, direct(7, 9), "yes", "ir-2");
    std::optional<v1::Frame> update;
    do {
        update = alice->receive_until(v1::Frame::kReceiptUpdate);
        REQUIRE(update);
    } while (update->receipt_update().cursors(0).read_up_to() < first.seq());
    CHECK(update->receipt_update().cursors(0).user_id() == 9);
    CHECK(update->receipt_update().cursors(0).read_up_to() == answer.seq());

    // A second message of Bob's right after his first passes nothing of Alice's: no update.
    send_ok(*bob, 4, direct(7, 9), "at noon", "ir-3");
    REQUIRE(pushes(*alice, 2).size() == 2);
    CHECK_FALSE(alice->receive_until(v1::Frame::kReceiptUpdate, 300ms));
}

TEST_CASE("group senders get coalesced read counts, never one frame per reader per message",
          "[integration][receipts]") {
    gateway_fixture f([](server::config& c) { c.limits.read_count_interval_ms = 50; });
    auto owner = f.login(acme, 1, 10);
    std::vector<std::unique_ptr<raw_client>> readers;
    for (std::uint64_t u = 2; u <= 5; ++u) readers.push_back(f.login(acme, u, u * 10));
    const auto id = create_group(*owner, 2, "counted", {2, 3, 4, 5});
    std::vector<std::uint64_t> seqs;
    for (int i = 0; i < 5; ++i) {
        seqs.push_back(
            send_ok(*owner, 3 + i, group(id), "m" + std::to_string(i), "rc-" + std::to_string(i))
                .seq());
    }
    // User 2 reads all five at once: one update, with the count of each message.
    readers[0]->send(mark_read(100, group(id), seqs.back()));
    REQUIRE(readers[0]->receive_reply(100));
    auto first = owner->receive_until(v1::Frame::kReceiptUpdate);
    REQUIRE(first);
    CHECK(first->receipt_update().conv().id() == id);
    REQUIRE(first->receipt_update().read_counts_size() == 5);
    for (int i = 0; i < 5; ++i) {
        const auto& rc = first->receipt_update().read_counts(i);
        CHECK(rc.seq() == seqs[i]);
        CHECK(rc.read() == 1);
        CHECK(rc.members() == 4);
    }

    // Users 3 and 4 read everything, user 5 the first two: the owner's view converges to 4 of 4
    // for those two and 3 of 4 for the rest, in at most one frame per read mark.
    readers[1]->send(mark_read(101, group(id), seqs.back()));
    readers[2]->send(mark_read(102, group(id), seqs.back()));
    readers[3]->send(mark_read(103, group(id), seqs[1]));
    std::map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> latest;
    const auto converged = [&] {
        for (std::size_t i = 0; i < seqs.size(); ++i) {
            const std::uint32_t expect = i < 2 ? 4 : 3;
            auto it = latest.find(seqs[i]);
            if (it == latest.end() || it->second != std::pair{expect, 4u}) return false;
        }
        return true;
    };
    std::size_t updates = 0;
    while (!converged()) {
        const auto u = owner->receive_until(v1::Frame::kReceiptUpdate);
        REQUIRE(u);
        ++updates;
        for (const auto& rc : u->receipt_update().read_counts()) {
            CHECK(rc.read() <= rc.members());
            auto& seen = latest[rc.seq()];
            CHECK(rc.read() >= seen.first);  // counts never go backwards
            seen = {rc.read(), rc.members()};
        }
    }
    CHECK(updates <= 3);

    // Readers never get counts for messages they did not send: only their own cursor (one
    // update per read mark, so that each of their devices clears the unread).
    for (std::size_t i = 0; i < readers.size(); ++i) {
        const auto own = readers[i]->receive_until(v1::Frame::kReceiptUpdate, 2s);
        REQUIRE(own);
        CHECK(own->receipt_update().read_counts_size() == 0);
        REQUIRE(own->receipt_update().cursors_size() == 1);
        CHECK(own->receipt_update().cursors(0).user_id() == i + 2);
        CHECK_FALSE(readers[i]->receive_until(v1::Frame::kReceiptUpdate, 100ms));
    }
}
