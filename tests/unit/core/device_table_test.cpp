// The device table, through the core's facade: where a device resumes, the catch-up from the
// store (paged, paced by the device's queue, after a gap), and pushes posted only to the shards
// holding a recipient's device.
#include <algorithm>

#include <catch2/catch.hpp>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 1; i <= n; ++i) out.push_back(i);
    return out;
}

// `count` messages from alice (user 8) to bob (user 9).
void send_many(service_harness& h, const std::shared_ptr<fake_device>& alice, int count) {
    static int sent = 0;
    const auto conv = st::conv_id::direct(8, 9);
    for (int n = 0; n < count; ++n) {
        const int i = sent++;
        h.submit(alice,
                 text_send(100 + i, conv, "m" + std::to_string(i), "c-" + std::to_string(i)));
    }
    h.settle();
}

}  // namespace

TEST_CASE(
    "a device resumes from its acked cursor, its Welcome saying where, the first page with it",
    "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    send_many(h, alice, 5);
    auto bob = h.open({acme, 9, 90}, 1);
    REQUIRE(bob->welcome());
    CHECK(bob->welcome()->welcome().inbox_head() == 5);
    CHECK(bob->welcome()->welcome().resume_from() == 0);
    CHECK(bob->pushed() == one_to(5));

    h.request(bob, ack_frame(3));
    h.close(bob);
    auto again = h.open({acme, 9, 90}, 0);  // the same device, later, on another shard
    CHECK(again->welcome()->welcome().resume_from() == 3);
    CHECK(again->pushed() == std::vector<std::uint64_t>{4, 5});

    auto hinted = h.open({acme, 9, 91}, 1, 4);  // a device that says where it is
    CHECK(hinted->welcome()->welcome().resume_from() == 4);
    CHECK(hinted->pushed() == std::vector<std::uint64_t>{5});
}

TEST_CASE("a long backlog is read page by page, then live pushes follow", "[unit][core]") {
    service_harness h;
    h.limits.sync_page_max = 4;
    auto alice = h.open({acme, 8, 80}, 0);
    send_many(h, alice, 10);
    auto bob = h.open({acme, 9, 90}, 1);
    CHECK(bob->pushed() == one_to(10));
    send_many(h, alice, 2);
    CHECK(bob->pushed() == one_to(12));
}

TEST_CASE("a push that did not go out sends the device back to the store at the next one",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    bob->max_push_bytes = 0;  // the next push cannot be framed
    send_many(h, alice, 1);
    CHECK(bob->pushed().empty());
    CHECK(h.telemetry.count(core::failure::push_not_framed) == 1);
    bob->max_push_bytes = 64 * 1024;
    h.submit(alice, text_send(7, st::conv_id::direct(8, 9), "again", "c-again"));
    h.settle();
    CHECK(bob->pushed() == one_to(2));  // the catch-up read both, in order
}

TEST_CASE("a catch-up waits while the device's queue is full, and resumes when it drains",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    send_many(h, alice, 3);
    auto bob = fake_device::make({acme, 9, 90}, 1);
    bob->room = false;
    const auto hello = hello_frame();
    h.core.on_open(bob, hello.hello(), welcome_frame());
    h.settle();
    REQUIRE(bob->welcome());
    CHECK(bob->pushed().empty());
    CHECK_FALSE(bob->closed_with());  // a catch-up never closes a slow device
    bob->room = true;
    h.router.advance(5ms);
    CHECK(bob->pushed() == one_to(3));
}

TEST_CASE("pushes go only to the shards holding a recipient's device", "[unit][core]") {
    service_harness h(2, false);
    auto alice = h.open({acme, 8, 80}, 0);  // direct(8, 9) is owned by shard 0
    auto bob = h.open({acme, 9, 90}, 1);
    send_many(h, alice, 1);
    h.close(bob);
    h.router.take_posts();
    send_many(h, alice, 1);
    const auto posts = h.router.take_posts();
    // Shard 1 holds no device of Bob's now: it is visited only if it is Bob's home shard, once,
    // where his work-start digest is counted (push_desk.hpp).
    const std::ptrdiff_t home_visits = h.router.home_of(acme, 9) == 1 ? 1 : 0;
    CHECK(std::count(posts.begin(), posts.end(), std::size_t{1}) == home_visits);
    CHECK(alice->pushed() == one_to(2));
    CHECK(bob->pushed() == one_to(1));
}

TEST_CASE("a device that closed before it opened is not left registered", "[unit][core]") {
    service_harness h;
    h.limits.max_devices_per_user = 1;
    auto bob = fake_device::make({acme, 9, 90}, 1);
    bob->close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "gone before admission");
    const auto hello = hello_frame();
    h.core.on_open(bob, hello.hello(), welcome_frame());
    h.settle();
    CHECK_FALSE(bob->welcome());
    // The admission was undone: another device of the user fits under the limit of one.
    auto other = h.open({acme, 9, 91}, 0);
    CHECK(other->welcome());
}
