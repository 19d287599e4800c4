// The bench's checker: it must count every lost, repeated and reordered message, or a benchmark
// could pass while the server breaks the delivery contract.
#include <catch2/catch.hpp>

#include "report.hpp"
#include "tracker.hpp"

namespace tb = tern::bench;
namespace tc = tern::client;

namespace {

// Device 0 writes stream 0 into a direct conversation with device 1.
struct pair_run {
    tb::tracker t;
    std::uint32_t stream = t.add_stream(0, 2);

    tc::event message(std::uint32_t number, std::uint32_t run = 0) {
        tc::event e;
        e.kind = tc::event_kind::message;
        e.content = tb::encode({run ? run : t.run(), stream, number, 10, 20}, 64);
        return e;
    }
    void ack(std::uint32_t number) { t.on_ack({t.run(), stream, number, 10, 20}, true, false, 30); }
    void deliver(std::uint32_t device, std::uint32_t number) {
        t.on_event(device, message(number), 40);
    }
};

}  // namespace

TEST_CASE("payloads round-trip and other runs' messages are not ours", "[unit][bench]") {
    const tb::payload p{7, 3, 42, -1, 123456789};
    const auto body = tb::encode(p, 100);
    CHECK(body.custom_data.size() == 100);
    const auto back = tb::decode(body, 7);
    REQUIRE(back);
    CHECK(back->stream == 3);
    CHECK(back->number == 42);
    CHECK(back->intended_ns == -1);
    CHECK(back->sent_ns == 123456789);
    CHECK_FALSE(tb::decode(body, 8));
    CHECK_FALSE(tb::decode(tc::content::from_text("hello"), 7));
}

TEST_CASE("a clean run is clean: every acked message on both devices once, in order",
          "[unit][bench]") {
    pair_run r;
    for (std::uint32_t n = 0; n < 5; ++n) {
        r.ack(n);
        r.deliver(0, n);  // the sender's own device
        r.deliver(1, n);
    }
    CHECK(r.t.check().clean());
    CHECK(r.t.delivered == 5);
    CHECK(r.t.echoed == 5);
    CHECK(r.t.expected_deliveries() == 10);
    CHECK(r.t.e2e.count() == 5);
    CHECK(r.t.e2e.max() == 30);      // from the intended time (10) to 40
    CHECK(r.t.e2e_raw.max() == 20);  // from the send call (20)
    CHECK(r.t.ack.max() == 20);
}

TEST_CASE("the checker counts lost, duplicated and reordered messages", "[unit][bench]") {
    pair_run r;
    for (std::uint32_t n = 0; n < 6; ++n) r.ack(n);
    for (std::uint32_t n = 0; n < 6; ++n) r.deliver(0, n);
    // Device 1: 0, 2, 1 (late), 2 again, 4; 3 and 5 never come.
    for (std::uint32_t n : {0u, 2u, 1u, 2u, 4u}) r.deliver(1, n);
    const auto c = r.t.check();
    CHECK(c.reordered == 1);
    CHECK(c.duplicated == 1);
    CHECK(c.lost == 2);
    CHECK_FALSE(c.clean());
    CHECK(r.t.delivered == 4);  // new messages only
}

TEST_CASE("a failed send is not lost, and a stale run's message is foreign", "[unit][bench]") {
    pair_run r;
    r.ack(0);
    r.t.on_ack({r.t.run(), r.stream, 1, 10, 20}, false, false, 30);
    r.deliver(0, 0);
    r.deliver(1, 0);
    r.t.on_event(1, r.message(0, r.t.run() + 1), 40);
    CHECK(r.t.check().clean());
    CHECK(r.t.failed == 1);
    CHECK(r.t.foreign == 1);
}

TEST_CASE("thresholds parse with units and judge the figures", "[unit][bench]") {
    std::string error;
    const auto p99 = tb::parse_threshold("e2e.p99<2ms", error);
    REQUIRE(p99);
    CHECK(p99->figure == "e2e.p99");
    CHECK(p99->value == Approx(0.002));
    const auto mem = tb::parse_threshold("memory_per_conn <= 2KiB", error);
    REQUIRE(mem);
    CHECK(mem->value == 2048);
    const auto rate = tb::parse_threshold("delivered_per_sec>=100k", error);
    REQUIRE(rate);
    CHECK(rate->value == 100'000);
    CHECK_FALSE(tb::parse_threshold("e2e.p99 about 2ms", error));
    CHECK_FALSE(tb::parse_threshold("e2e.p99<2parsecs", error));

    tb::results r;
    r.figures["e2e.p99"] = 0.0015;
    r.figures["delivered_per_sec"] = 90'000;
    auto failed = tb::failed_thresholds(r, {*p99, *rate, *mem});
    REQUIRE(failed.size() == 2);
    CHECK(failed[0].find("delivered_per_sec") != std::string::npos);
    CHECK(failed[1].find("no figure 'memory_per_conn'") != std::string::npos);
}

TEST_CASE("results of several processes survive JSON and combine", "[unit][bench]") {
    const auto part = [](double delivered, std::uint64_t latency, double rss_before,
                         double rss_held, double connections) {
        tb::results r;
        r.scenario = "conn";
        r.completed = true;
        r.figures["delivered_per_sec"] = delivered;
        r.figures["window_seconds"] = delivered / 1000;
        r.figures["connections"] = connections;
        r.figures["server_rss_before_bytes"] = rss_before;
        r.figures["server_rss_held_bytes"] = rss_held;
        tb::histogram h;
        for (int i = 0; i < 100; ++i) h.record(latency);
        r.add_latency("login", h);
        return tb::from_json(tb::to_json(r, {}));
    };
    auto a = part(1000, 100, 10'000, 50'000, 10);
    auto b = part(3000, 200, 11'000, 52'000, 20);
    b.checks.duplicated = 1;
    a.figures["server_delivery.count"] = 500;  // ternd's own figures: the first process reads
    a.figures["server_delivery.p99"] = 0.002;  // them, for all
    const auto all = tb::combine({a, b});
    CHECK(all.completed);
    CHECK(all.checks.duplicated == 1);
    CHECK(all.figures.at("delivered_per_sec") == 4000);
    CHECK(all.figures.at("window_seconds") == 3);  // the longest
    CHECK(all.figures.at("connections") == 30);
    // The server grew from the earliest baseline to the fullest hold, over all connections.
    CHECK(all.figures.at("memory_per_conn") == Approx((52'000.0 - 10'000.0) / 30));
    CHECK(all.latencies.at("login").count() == 200);
    CHECK(all.figures.at("login.p50") == Approx(100e-9).epsilon(0.01));
    CHECK(all.figures.at("login.max") == Approx(200e-9).epsilon(0.01));
    CHECK(all.figures.at("server_delivery.count") == 500);
    CHECK(all.figures.at("server_delivery.p99") == 0.002);
}

TEST_CASE("the progress line's e2e holds each interval's deliveries, warm-up included",
          "[unit][bench]") {
    pair_run r;
    r.t.measure_from(100);  // every message below is meant before it: warm-up
    r.ack(0);
    r.deliver(1, 0);
    r.deliver(0, 0);  // the sender's own copy is not an e2e delivery
    CHECK(r.t.e2e.count() == 0);
    const auto first = r.t.take_recent_e2e();
    CHECK(first.count() == 1);
    CHECK(first.max() == 30);  // intended at 10, delivered at 40
    r.ack(1);
    r.deliver(1, 1);
    r.deliver(1, 1);  // a repeat is not a new delivery
    CHECK(r.t.take_recent_e2e().count() == 1);
    CHECK(r.t.take_recent_e2e().count() == 0);
}
