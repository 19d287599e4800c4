// The bench's histogram: every value lands in a bucket within 1/128 of it, percentiles are
// those of the recorded values, and merging (in memory or through buckets) adds up.
#include <catch2/catch.hpp>

#include <random>

#include "histogram.hpp"

using tern::bench::histogram;

TEST_CASE("histogram buckets stay within 1/128 of the value, exact below 256", "[unit][bench]") {
    for (std::uint64_t v = 0; v < 256; ++v) CHECK(histogram::upper_of(histogram::index_of(v)) == v);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100'000; ++i) {
        const auto v = rng() >> (rng() % 60);
        const auto upper = histogram::upper_of(histogram::index_of(v));
        REQUIRE(upper >= v);
        REQUIRE(static_cast<double>(upper - v) <= static_cast<double>(v) / 128.0);
    }
    CHECK(histogram::upper_of(histogram::index_of(UINT64_MAX)) == UINT64_MAX);
}

TEST_CASE("histogram percentiles are those of the recorded values", "[unit][bench]") {
    histogram h;
    CHECK(h.percentile(99) == 0);
    for (std::uint64_t v = 1; v <= 100'000; ++v) h.record(v * 1000);  // 1 µs .. 100 ms
    CHECK(h.count() == 100'000);
    CHECK(h.min() == 1000);
    CHECK(h.max() == 100'000'000);
    const auto near = [](std::uint64_t got, double want) {
        return std::abs(static_cast<double>(got) - want) <= want / 128.0;
    };
    CHECK(near(h.percentile(50), 50'000'000));
    CHECK(near(h.percentile(99), 99'000'000));
    CHECK(near(h.percentile(99.9), 99'900'000));
    CHECK(h.percentile(100) == h.max());
    CHECK(h.mean() == Approx(50'000'500).epsilon(1e-9));
}

TEST_CASE("histograms merge in memory and through their buckets alike", "[unit][bench]") {
    histogram a, b;
    for (std::uint64_t v = 0; v < 1000; ++v) a.record(v * 3);
    for (std::uint64_t v = 0; v < 500; ++v) b.record(1'000'000 + v);
    histogram merged = a;
    merged.merge(b);
    histogram rebuilt;
    rebuilt.add_buckets(a.buckets());
    rebuilt.add_buckets(b.buckets());
    CHECK(merged.count() == 1500);
    CHECK(rebuilt.count() == 1500);
    // Through buckets the exact maximum is lost: the same bucket, not the same value.
    for (double p : {10.0, 50.0, 66.0, 90.0, 99.0, 100.0}) {
        CHECK(histogram::index_of(rebuilt.percentile(p)) ==
              histogram::index_of(merged.percentile(p)));
    }
}
