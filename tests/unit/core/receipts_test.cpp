// Receipts, through the core's facade: read marks and Acks applied by the store's rules, the
// direct peer told at once, group senders told read counts once per interval, back-pressure.
#include <catch2/catch.hpp>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;
using namespace std::chrono_literals;

TEST_CASE("a read mark is answered Ok, the direct peer's devices and the reader's own learn it",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    auto bob_phone = h.open({acme, 9, 91}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    h.request(alice, text_send(1, conv, "one", "c-1"));
    h.request(alice, text_send(2, conv, "two", "c-2"));
    h.request(bob, mark_read_frame(7, conv, 2));
    REQUIRE(bob->reply_to(7));
    CHECK(bob->reply_to(7)->has_ok());
    const auto updates = alice->of(v1::Frame::kReceiptUpdate);
    REQUIRE_FALSE(updates.empty());
    const auto& cursor = updates.back().receipt_update().cursors(0);
    CHECK(cursor.user_id() == 9);
    CHECK(cursor.read_up_to() == 2);
    // Every device of the reader sees its own cursor move (to clear the unread everywhere).
    for (const auto& device : {bob, bob_phone}) {
        const auto own = device->of(v1::Frame::kReceiptUpdate);
        REQUIRE(own.size() == 1);
        CHECK(own[0].receipt_update().cursors(0).user_id() == 9);
        CHECK(own[0].receipt_update().cursors(0).read_up_to() == 2);
    }
}

TEST_CASE("an Ack moves the delivered cursor, and the peer is told", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    h.request(alice, text_send(1, st::conv_id::direct(8, 9), "one", "c-1"));
    h.request(bob, ack_frame(1));
    const auto updates = alice->of(v1::Frame::kReceiptUpdate);
    REQUIRE(updates.size() == 1);
    CHECK(updates[0].receipt_update().cursors(0).delivered_up_to() == 1);
    CHECK(updates[0].receipt_update().cursors(0).read_up_to() == 0);
    CHECK(h.store->device_cursor(acme, 9, 90).value() == 1);
}

TEST_CASE("group senders get read counts once per interval, coalesced, and readers their cursor",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    auto carol = h.open({acme, 10, 100}, 0);
    const auto group = create_group(h, alice, {9, 10});  // seq 1
    for (int i = 0; i < 3; ++i) {
        h.request(alice, text_send(10 + i, group, "m", "m-" + std::to_string(i)));  // 2, 3, 4
    }
    h.request(bob, mark_read_frame(20, group, 3));
    h.request(bob, mark_read_frame(21, group, 4));
    h.request(carol, mark_read_frame(22, group, 3));
    CHECK(alice->of(v1::Frame::kReceiptUpdate).empty());  // not before the interval
    h.router.advance(h.limits.read_count_interval);
    const auto updates = alice->of(v1::Frame::kReceiptUpdate);
    REQUIRE(updates.size() == 1);
    const auto& counts = updates[0].receipt_update().read_counts();
    REQUIRE(counts.size() == 3);
    CHECK(counts[0].seq() == 2);
    CHECK(counts[0].read() == 2);
    CHECK(counts[0].members() == 2);
    CHECK(counts[2].seq() == 4);
    CHECK(counts[2].read() == 1);
    // Readers get no counts, only their own cursor, once per read mark that moved it.
    const auto bobs = bob->of(v1::Frame::kReceiptUpdate);
    REQUIRE(bobs.size() == 2);
    CHECK(bobs[1].receipt_update().read_counts().empty());
    CHECK(bobs[1].receipt_update().cursors(0).user_id() == 9);
    CHECK(bobs[1].receipt_update().cursors(0).read_up_to() == 4);
    const auto carols = carol->of(v1::Frame::kReceiptUpdate);
    REQUIRE(carols.size() == 1);
    CHECK(carols[0].receipt_update().cursors(0).user_id() == 10);
    h.router.advance(h.limits.read_count_interval);  // nothing new read: nothing sent
    CHECK(alice->of(v1::Frame::kReceiptUpdate).size() == 1);
}

TEST_CASE("a full commit port refuses a read mark retryably and drops an Ack, both counted",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto conv = st::conv_id::direct(8, 9);
    h.request(alice, text_send(1, conv, "one", "c-1"));
    h.commits.set_full(true);
    h.request(bob, mark_read_frame(7, conv, 1));
    CHECK(bob->reply_to(7)->error().code() == v1::UNAVAILABLE);
    CHECK(bob->reply_to(7)->error().retryable());
    h.request(bob, ack_frame(1));
    CHECK(h.telemetry.count(core::failure::commit_queue_full) == 2);
    CHECK(h.store->device_cursor(acme, 9, 90).value() == 0);
    h.commits.set_full(false);
    h.request(bob, ack_frame(1));  // the next Ack covers it
    CHECK(h.store->device_cursor(acme, 9, 90).value() == 1);
}

TEST_CASE("a read mark outside the conversation is refused NOT_MEMBER", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto mallory = h.open({acme, 11, 110}, 1);
    const auto conv = st::conv_id::direct(8, 9);
    h.request(alice, text_send(1, conv, "one", "c-1"));
    h.request(mallory, mark_read_frame(7, conv, 1));
    CHECK(mallory->reply_to(7)->error().code() == v1::NOT_MEMBER);
}
