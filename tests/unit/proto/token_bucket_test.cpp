// The protocol's rate limit as a token bucket, shared by the server (it refuses) and the SDK (it
// paces): a burst at once, then the rate, and an honest wait.
#include <tern/wire/token_bucket.hpp>

#include <catch2/catch.hpp>

using tern::wire::rate_limit;
using tern::wire::token_bucket;
using namespace std::chrono_literals;

TEST_CASE("a full bucket lets a burst through, then one token per 1/rate", "[unit][wire]") {
    const rate_limit limit{10, 3};
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket bucket(limit, t0);
    for (int i = 0; i < 3; ++i) CHECK(bucket.take(limit, t0));
    CHECK_FALSE(bucket.take(limit, t0));
    CHECK(bucket.until_next(limit, t0) == 100ms);
    CHECK(bucket.until_next(limit, t0 + 40ms) == 60ms);
    CHECK_FALSE(bucket.take(limit, t0 + 99ms));
    CHECK(bucket.take(limit, t0 + 100ms));
    CHECK(bucket.until_next(limit, t0 + 100ms) == 100ms);
}

TEST_CASE("idle time fills the bucket up to the burst, not beyond", "[unit][wire]") {
    const rate_limit limit{50, 5};
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket bucket(limit, t0);
    for (int i = 0; i < 5; ++i) REQUIRE(bucket.take(limit, t0));
    const auto later = t0 + 10s;  // 500 tokens' worth of time
    int taken = 0;
    while (bucket.take(limit, later)) ++taken;
    CHECK(taken == 5);
    CHECK(bucket.until_next(limit, later) == 20ms);
}

TEST_CASE("a clock that goes backwards takes nothing and adds nothing", "[unit][wire]") {
    const rate_limit limit{1, 1};
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket bucket(limit, t0);
    REQUIRE(bucket.take(limit, t0));
    CHECK_FALSE(bucket.take(limit, t0 - 5s));
    CHECK(bucket.take(limit, t0 + 1s));
    bucket.refill_fully(limit, t0 + 1s);
    CHECK(bucket.take(limit, t0 + 1s));
}
