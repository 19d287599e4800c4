// How tern-bench reads ternd's own delivery latency from /metrics: the Prometheus text parsed
// strictly, the window taken as a difference, quantiles estimated as Prometheus does.
#include <catch2/catch.hpp>

#include <cmath>

#include "server_metrics.hpp"

namespace tb = tern::bench;

namespace {

std::string page(double below_1ms, double below_2_5ms, double total) {
    return "# HELP tern_delivery_latency_seconds From a request's arrival ...\n"
           "# TYPE tern_delivery_latency_seconds histogram\n"
           "tern_delivery_latency_seconds_count " +
           std::to_string(total) +
           "\n"
           "tern_delivery_latency_seconds_sum 1.5\n"
           "tern_delivery_latency_seconds_bucket{le=\"0.001\"} " +
           std::to_string(below_1ms) +
           "\n"
           "tern_delivery_latency_seconds_bucket{le=\"0.0025\"} " +
           std::to_string(below_2_5ms) +
           "\n"
           "tern_delivery_latency_seconds_bucket{le=\"+Inf\"} " +
           std::to_string(total) +
           "\n"
           "tern_other_bucket{le=\"1\"} 7\n";
}

}  // namespace

TEST_CASE("a histogram is read from a metrics page, and only that one", "[unit][bench]") {
    const auto h = tb::parse_histogram(page(90, 99, 100), tb::delivery_latency_metric);
    REQUIRE(h);
    REQUIRE(h->buckets.size() == 3);
    CHECK(h->buckets[0].upper == 0.001);
    CHECK(h->buckets[1].count == 99);
    CHECK(std::isinf(h->buckets[2].upper));
    CHECK(h->count() == 100);
    CHECK_FALSE(tb::parse_histogram(page(90, 99, 100), "tern_absent_seconds"));
}

TEST_CASE("a malformed histogram is refused rather than misread", "[unit][bench]") {
    // Counts that fall, bounds out of order, a value that is not a number, no +Inf.
    CHECK_FALSE(tb::parse_histogram(page(90, 80, 100), tb::delivery_latency_metric));
    CHECK_FALSE(
        tb::parse_histogram("x_bucket{le=\"2\"} 1\nx_bucket{le=\"1\"} 2\n"
                            "x_bucket{le=\"+Inf\"} 2\n",
                            "x"));
    CHECK_FALSE(tb::parse_histogram("x_bucket{le=\"1\"} many\nx_bucket{le=\"+Inf\"} 2\n", "x"));
    CHECK_FALSE(tb::parse_histogram("x_bucket{le=\"1\"} 1\n", "x"));
}

TEST_CASE("the window is the difference, and quantiles interpolate within a bucket",
          "[unit][bench]") {
    const auto before = tb::parse_histogram(page(10, 10, 10), tb::delivery_latency_metric);
    const auto after = tb::parse_histogram(page(100, 190, 210), tb::delivery_latency_metric);
    REQUIRE(before);
    REQUIRE(after);
    const auto window = tb::difference(*before, *after);
    REQUIRE(window);
    CHECK(window->count() == 200);  // 90 below 1 ms, 90 between 1 and 2.5 ms, 20 above
    CHECK(window->quantile(0.45) == Approx(0.001));
    CHECK(window->quantile(0.675) == Approx(0.00175));  // halfway through the second bucket
    CHECK(window->quantile(0.99) == Approx(0.0025));    // in +Inf: the largest finite bound
    CHECK(tb::bucket_histogram{}.quantile(0.5) == 0);
    // A restarted server's counters went down: no window.
    CHECK_FALSE(tb::difference(*after, *before));
}

TEST_CASE("a metrics URL that cannot be read gives an error, not a figure", "[unit][bench]") {
    std::string error;
    CHECK_FALSE(tb::http_get("https://127.0.0.1:1/metrics", error));
    CHECK(error == "expected http://host:port/path");
    CHECK_FALSE(tb::http_get("http://127.0.0.1:1/metrics", error));  // nothing listens on port 1
    CHECK_FALSE(error.empty());
}
