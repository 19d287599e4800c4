// The queue of pushes for a relay (docs/notifications.md, "Push relays"): bounded, one waiting
// push per device carrying the newest message and a count, retried with backoff, cancelled by a
// read elsewhere. On a time the test gives: nothing sleeps.
#include <tern/push/push_queue.hpp>

#include <catch2/catch.hpp>

namespace tp = tern::push;
using namespace std::chrono_literals;

namespace {

tp::push_message message(std::uint64_t device, std::uint64_t conv, std::uint64_t seq,
                         std::uint64_t user = 42) {
    tp::push_message m;
    m.to = {7, user, device};
    m.token = "tok-" + std::to_string(device);
    m.conv_type = "group";
    m.conv_id = conv;
    m.seq = seq;
    m.sender = 5;
    m.preview = "message " + std::to_string(seq);
    m.badge = static_cast<std::uint32_t>(seq);
    return m;
}

const auto t0 = tp::push_queue::clock::time_point{} + 1h;

}  // namespace

TEST_CASE("pushes to one device coalesce: the newest message and a count", "[unit][push]") {
    tp::push_queue q({});
    CHECK(q.offer(message(1, 9, 10), t0) == tp::push_queue::offered::queued);
    CHECK(q.offer(message(1, 9, 11), t0) == tp::push_queue::offered::coalesced);
    CHECK(q.offer(message(1, 8, 12), t0) == tp::push_queue::offered::coalesced);
    CHECK(q.offer(message(2, 9, 11), t0) == tp::push_queue::offered::queued);
    CHECK(q.depth() == 2);
    const auto first = q.take(t0);
    REQUIRE(first);
    CHECK(first->message.to.device == 1);
    CHECK(first->message.seq == 12);
    CHECK(first->message.conv_id == 8);
    CHECK(first->message.count == 3);
    CHECK(first->message.badge == 12);
    CHECK(first->attempt == 1);
    // While it is in flight, a new message waits on its own.
    CHECK(q.offer(message(1, 9, 13), t0) == tp::push_queue::offered::queued);
    CHECK(q.take(t0)->message.to.device == 2);
    CHECK(q.take(t0)->message.seq == 13);
    CHECK_FALSE(q.take(t0));
    q.done(first->id);
    CHECK(q.depth() == 2);
}

TEST_CASE("the queue is bounded: past its capacity a push is refused, never waited for",
          "[unit][push]") {
    tp::push_queue q({.capacity = 2});
    CHECK(q.offer(message(1, 9, 1), t0) == tp::push_queue::offered::queued);
    CHECK(q.offer(message(2, 9, 1), t0) == tp::push_queue::offered::queued);
    CHECK(q.offer(message(3, 9, 1), t0) == tp::push_queue::offered::full);
    // Joining a waiting push takes no room.
    CHECK(q.offer(message(2, 9, 2), t0) == tp::push_queue::offered::coalesced);
    CHECK(q.depth() == 2);
}

TEST_CASE("a push the relay could not take is tried again after a growing wait, then given up",
          "[unit][push]") {
    tp::push_queue q({.first_retry = 1s, .max_retry = 4s, .max_attempts = 4});
    q.offer(message(1, 9, 10), t0);
    auto t = q.take(t0);
    REQUIRE(t);
    REQUIRE(q.retry_later(t->id, t0));
    CHECK(q.next_due() == t0 + 1s);
    CHECK_FALSE(q.take(t0 + 999ms));
    t = q.take(t0 + 1s);
    REQUIRE(t);
    CHECK(t->attempt == 2);
    REQUIRE(q.retry_later(t->id, t0 + 1s));
    CHECK(q.next_due() == t0 + 3s);  // 2 s after
    t = q.take(t0 + 3s);
    REQUIRE(q.retry_later(t->id, t0 + 3s));
    CHECK(q.next_due() == t0 + 7s);  // 4 s: the cap
    t = q.take(t0 + 7s);
    CHECK(t->attempt == 4);
    CHECK_FALSE(q.retry_later(t->id, t0 + 7s));  // spent
    CHECK(q.depth() == 0);

    // A retry finds a newer push waiting for the device: one push carries both.
    q.offer(message(1, 9, 20), t0);
    t = q.take(t0);
    q.offer(message(1, 8, 21), t0);
    REQUIRE(q.retry_later(t->id, t0));
    CHECK(q.depth() == 1);
    const auto both = q.take(t0);
    REQUIRE(both);
    CHECK(both->message.seq == 21);
    CHECK(both->message.count == 2);
}

TEST_CASE("a read elsewhere cancels what it covers, for each of the user's devices",
          "[unit][push]") {
    tp::push_queue q({});
    q.offer(message(1, 9, 10), t0);
    q.offer(message(2, 9, 10), t0);
    q.offer(message(3, 9, 10, 43), t0);           // another user
    CHECK(q.read(7, 42, "group", 9, 0, 9) == 0);  // before it: nothing
    CHECK(q.read(7, 42, "group", 9, 0, 10) == 2);
    CHECK(q.depth() == 1);
    CHECK(q.take(t0)->message.to.user == 43);

    // A push announcing two conversations keeps the other, without a preview.
    q.offer(message(1, 8, 30), t0);
    q.offer(message(1, 9, 31), t0);
    CHECK(q.read(7, 42, "group", 9, 0, 31) == 1);
    const auto left = q.take(t0);
    REQUIRE(left);
    CHECK(left->message.conv_id == 8);
    CHECK(left->message.seq == 30);
    CHECK(left->message.count == 1);
    CHECK(left->message.preview.empty());
    // A push in flight is not cancelled (it is gone already).
    CHECK(q.read(7, 42, "group", 8, 0, 30) == 0);
}

TEST_CASE("a dead token's waiting pushes go", "[unit][push]") {
    tp::push_queue q({});
    q.offer(message(1, 9, 10), t0);
    q.offer(message(2, 9, 10), t0);
    CHECK(q.forget({7, 42, 1}) == 1);
    CHECK(q.forget({7, 42, 1}) == 0);
    CHECK(q.depth() == 1);
}

TEST_CASE("a held push waits its delay, and a push that does not wait brings it forward",
          "[unit][push]") {
    tp::push_queue q({});
    CHECK(q.offer(message(1, 9, 10), t0, 60s) == tp::push_queue::offered::queued);
    CHECK_FALSE(q.take(t0 + 59s));
    CHECK(q.next_due() == t0 + 60s);
    // A read meanwhile drops it: the phone is never buzzed.
    CHECK(q.read(7, 42, "group", 9, 0, 10) == 1);
    CHECK(q.depth() == 0);

    CHECK(q.offer(message(1, 9, 11), t0, 60s) == tp::push_queue::offered::queued);
    // Another message that must not wait (urgent, or nobody at a desk any more) joins it, and
    // the push goes at once with both.
    CHECK(q.offer(message(1, 9, 12), t0 + 1s) == tp::push_queue::offered::coalesced);
    const auto both = q.take(t0 + 1s);
    REQUIRE(both);
    CHECK(both->message.seq == 12);
    CHECK(both->message.count == 2);
}

TEST_CASE("a badge-only push joins a waiting push without changing it, or goes on its own",
          "[unit][push]") {
    tp::push_queue q({});
    auto badge = message(1, 8, 20);
    badge.count = 0;
    badge.preview.clear();
    badge.alert = false;
    CHECK(q.offer(message(1, 9, 10), t0) == tp::push_queue::offered::queued);
    CHECK(q.offer(badge, t0) == tp::push_queue::offered::coalesced);
    auto taken = q.take(t0);
    REQUIRE(taken);
    CHECK(taken->message.conv_id == 9);  // still the message it announced
    CHECK(taken->message.count == 1);
    CHECK(taken->message.preview == "message 10");
    CHECK(taken->message.alert);
    q.done(taken->id);

    CHECK(q.offer(badge, t0) == tp::push_queue::offered::queued);
    taken = q.take(t0);
    REQUIRE(taken);
    CHECK(taken->message.count == 0);
    CHECK_FALSE(taken->message.alert);
}

TEST_CASE("a digest meeting a waiting push for its device stays a digest, either way round",
          "[unit][push]") {
    auto digest = message(1, 0, 0);
    digest.conv_type.clear();
    digest.preview.clear();
    digest.count = 12;
    digest.digest = tp::digest_counts{12, 4, 2};
    for (const bool digest_first : {true, false}) {
        tp::push_queue q({});
        if (digest_first) {
            CHECK(q.offer(digest, t0) == tp::push_queue::offered::queued);
            CHECK(q.offer(message(1, 9, 30), t0) == tp::push_queue::offered::coalesced);
        } else {
            CHECK(q.offer(message(1, 9, 30), t0) == tp::push_queue::offered::queued);
            CHECK(q.offer(digest, t0) == tp::push_queue::offered::coalesced);
        }
        const auto taken = q.take(t0);
        REQUIRE(taken);
        REQUIRE(taken->message.digest);
        CHECK(*taken->message.digest == tp::digest_counts{12, 4, 2});
        CHECK(taken->message.count == 13);
        // A read of the message's conversation leaves the digest's part.
        q.retry_later(taken->id, t0);
        CHECK(q.read(7, 42, "group", 9, 0, 30) == 1);
        const auto again = q.take(t0 + 10min);
        REQUIRE(again);
        CHECK(again->message.digest);
        CHECK(again->message.count == 12);
    }
}
