// A device's next session starts after everything its previous session acknowledged: the Ack is
// still in the commit writer's hands, or the previous connection is still open, when the device
// connects again (issue: 42 of 99 quick reconnects re-delivered acknowledged pushes).
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "session_handover.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

constexpr core::requester bob_phone{acme, 9, 90};

// Alice sends bob `n` messages; bob's phone is online and gets them pushed.
struct inbox_fixture {
    service_harness h;
    std::shared_ptr<fake_device> alice = h.open({acme, 8, 80}, 0);
    std::shared_ptr<fake_device> phone = h.open(bob_phone, 1);

    explicit inbox_fixture(int n = 5) {
        for (int i = 0; i < n; ++i) {
            h.request(alice,
                      text_send(100 + i, st::conv_id::direct(8, 9), "m", "c-" + std::to_string(i)));
        }
        REQUIRE(phone->pushed().size() == static_cast<std::size_t>(n));
    }

    // Opens bob's phone again without committing anything (the Acks stay in the writer).
    std::shared_ptr<fake_device> reconnect(std::size_t shard,
                                           std::optional<std::uint64_t> hint = std::nullopt) {
        auto d = h.connect(bob_phone, shard, hint);
        h.router.run();
        return d;
    }
};

}  // namespace

TEST_CASE("a device that acks, closes and reconnects at once resumes after its Ack",
          "[unit][core]") {
    inbox_fixture fx;
    for (const auto shard : {std::size_t{0}, std::size_t{1}}) {
        DYNAMIC_SECTION("the next connection on shard " << shard) {
            fx.h.submit(fx.phone, ack_frame(4));
            fx.phone->close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "bye");
            fx.h.router.run();
            REQUIRE(fx.h.commits.waiting() > 0);  // the Ack is not stored yet
            auto again = fx.reconnect(shard);
            REQUIRE(again->welcome());
            CHECK(again->welcome()->welcome().resume_from() == 4);
            CHECK(again->pushed() == std::vector<std::uint64_t>{5});
        }
    }
}

TEST_CASE("a device that connects again while its previous connection is open waits for it",
          "[unit][core]") {
    inbox_fixture fx;
    auto again = fx.reconnect(0);
    CHECK_FALSE(again->welcome());  // held until the earlier connection ends
    // Its last Acks arrive and are read before the earlier connection ends.
    fx.h.submit(fx.phone, ack_frame(3));
    fx.h.submit(fx.phone, ack_frame(5));
    fx.phone->close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "bye");
    fx.h.router.run();
    REQUIRE(again->welcome());
    CHECK(again->welcome()->welcome().resume_from() == 5);
    CHECK(again->pushed().empty());
    CHECK(fx.h.telemetry.count(core::failure::handover_timed_out) == 0);
}

TEST_CASE("an earlier connection that does not end is closed after the grace", "[unit][core]") {
    inbox_fixture fx;
    fx.h.submit(fx.phone, ack_frame(2));
    auto again = fx.reconnect(1);
    fx.h.router.advance(core::session_handover::replace_grace - std::chrono::milliseconds{1});
    CHECK_FALSE(again->welcome());
    CHECK_FALSE(fx.phone->closed_with());
    fx.h.router.advance(std::chrono::milliseconds{1});
    CHECK(fx.phone->closed_with() == v1::DISCONNECT_REPLACED);
    REQUIRE(again->welcome());
    CHECK(again->welcome()->welcome().resume_from() == 2);
    CHECK(again->pushed() == std::vector<std::uint64_t>{3, 4, 5});
}

TEST_CASE(
    "an earlier connection that never reports its end holds the next one back at most "
    "the handover limit",
    "[unit][core]") {
    inbox_fixture fx;
    fx.phone->on_closed = nullptr;  // a connection that never tells the core it ended
    auto again = fx.reconnect(1);
    fx.h.router.advance(core::session_handover::handover_limit - std::chrono::milliseconds{1});
    CHECK_FALSE(again->welcome());
    fx.h.router.advance(std::chrono::milliseconds{1});
    REQUIRE(again->welcome());
    CHECK(fx.h.telemetry.count(core::failure::handover_timed_out) == 1);
}

TEST_CASE("three quick connections of one device: the last one opens, after the first ends",
          "[unit][core]") {
    inbox_fixture fx;
    auto second = fx.reconnect(0);
    auto third = fx.reconnect(1);
    CHECK(second->closed_with() == v1::DISCONNECT_REPLACED);  // never opened
    CHECK_FALSE(second->welcome());
    CHECK_FALSE(third->welcome());
    fx.h.submit(fx.phone, ack_frame(5));
    fx.phone->close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "bye");
    fx.h.router.run();
    REQUIRE(third->welcome());
    CHECK(third->welcome()->welcome().resume_from() == 5);
    fx.h.router.advance(core::session_handover::handover_limit);  // the timers find nothing
    CHECK_FALSE(third->closed_with());
    CHECK(fx.h.telemetry.count(core::failure::handover_timed_out) == 0);
}

TEST_CASE("a device that names its position resumes there at once", "[unit][core]") {
    inbox_fixture fx;
    fx.h.submit(fx.phone, ack_frame(5));
    auto again = fx.reconnect(0, 2);
    REQUIRE(again->welcome());
    CHECK(again->welcome()->welcome().resume_from() == 2);
    CHECK(fx.phone->closed_with() == v1::DISCONNECT_REPLACED);
}

TEST_CASE("a resume floor is used once, and forgotten after its time", "[unit][core]") {
    core::session_handover handover;
    const core::device_key key{1, 2, 3};
    handover.departed(key, 7, 1'000);
    handover.departed(key, 5, 1'001);  // floors only rise
    CHECK(handover.take_floor(key) == 7);
    CHECK(handover.take_floor(key) == 0);

    // Old floors go when the map has grown: nothing grows without bound.
    const auto ttl_ms = std::chrono::milliseconds(core::session_handover::floor_ttl).count();
    for (std::uint64_t d = 0; d < 1023; ++d) handover.departed({1, 2, 100 + d}, 1, 0);
    CHECK(handover.floors() == 1023);
    handover.departed(key, 9, ttl_ms + 1);  // the sweep runs: every earlier floor is too old
    CHECK(handover.floors() == 1);
    CHECK(handover.take_floor(key) == 9);
}

TEST_CASE("a connection that names its position overtakes one still waiting", "[unit][core]") {
    inbox_fixture fx;
    auto waiting = fx.reconnect(0);  // waits for the phone's first connection
    REQUIRE_FALSE(waiting->welcome());
    auto named = fx.reconnect(1, 3);
    REQUIRE(named->welcome());
    CHECK(named->welcome()->welcome().resume_from() == 3);
    CHECK(waiting->closed_with() == v1::DISCONNECT_REPLACED);
    CHECK(fx.phone->closed_with() == v1::DISCONNECT_REPLACED);
    fx.h.router.advance(core::session_handover::handover_limit);  // nothing is left to open
    CHECK_FALSE(waiting->welcome());
    CHECK_FALSE(named->closed_with());
    CHECK(fx.h.telemetry.count(core::failure::handover_timed_out) == 0);
}
