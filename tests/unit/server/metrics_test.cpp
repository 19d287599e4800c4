// The Prometheus metrics, read back from their own exposition.
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include "http_client.hpp"

using namespace std::chrono_literals;
using tern::test::metric_sample;

// A fan-out counts every push and observes its latency once per push, in one update.
TEST_CASE("a batch of pushes counts each push in the delivery metrics", "[unit][server]") {
    tern::server::metrics m({"test", "test"});
    m.messages_delivered(5, 3ms);
    m.messages_delivered(0, 1s);  // nothing pushed: nothing observed
    const auto text = m.scrape();
    CHECK(metric_sample(text, "tern_messages_delivered_total") == 5.0);
    CHECK(metric_sample(text, "tern_delivery_latency_seconds_count") == 5.0);
    CHECK(metric_sample(text, "tern_delivery_latency_seconds_bucket{le=\"0.0025\"}") == 0.0);
    CHECK(metric_sample(text, "tern_delivery_latency_seconds_bucket{le=\"0.005\"}") == 5.0);
    CHECK(metric_sample(text, "tern_delivery_latency_seconds_sum").value_or(0) == Approx(0.015));
}

TEST_CASE("the core's failures are counted by what failed, and unknown names by nothing",
          "[unit][server]") {
    tern::server::metrics m({"test", "test"});
    m.core_failed("commit_queue_full");
    m.core_failed("commit_queue_full");
    m.core_failed("store_read_failed");
    m.core_failed("no such failure");
    const auto text = m.scrape();
    CHECK(metric_sample(text, "tern_core_failures_total{what=\"commit_queue_full\"}") == 2.0);
    CHECK(metric_sample(text, "tern_core_failures_total{what=\"store_read_failed\"}") == 1.0);
    CHECK(metric_sample(text, "tern_core_failures_total{what=\"commit_failed\"}") == 0.0);
    CHECK(tern::server::transport_name(tern::server::transport_kind::wss) == std::string("wss"));
}
