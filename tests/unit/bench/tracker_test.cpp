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
