// The throttle on repeated warnings: one per interval, with the count held back.
#include "log_throttle.hpp"

#include <catch2/catch.hpp>

using tern::server::log_throttle;
using namespace std::chrono_literals;

TEST_CASE("a throttled warning is logged once per interval with the count held back",
          "[unit][server]") {
    log_throttle throttle(1s);
    const auto t0 = log_throttle::clock::time_point{} + 100s;
    std::uint64_t held = 99;
    REQUIRE(throttle.allow(t0, held));  // the first is always logged
    CHECK(held == 0);
    for (int i = 0; i < 5; ++i) CHECK_FALSE(throttle.allow(t0 + 999ms, held));
    REQUIRE(throttle.allow(t0 + 1s, held));
    CHECK(held == 5);
    CHECK_FALSE(throttle.allow(t0 + 1500ms, held));
    REQUIRE(throttle.allow(t0 + 10s, held));
    CHECK(held == 1);
}
