// The flow control of relayed sessions without sockets: when the owner's catch-up waits, and
// when the gateway reports how far its device read.
#include <catch2/catch.hpp>

#include "flow_control.hpp"

using namespace tern::cluster::detail;
using namespace std::chrono_literals;

namespace {
const auto t0 = flow_clock::time_point{} + 1h;
constexpr std::size_t small = 1000;  // a frame of 1,000 bytes with its overhead
}  // namespace

TEST_CASE("the owner sends a window of frames, then waits for the gateway's report",
          "[unit][cluster]") {
    flow_sender sender({250, 256 * 1024});
    std::size_t sent = 0;
    while (sender.has_room(small, t0)) {
        sender.sent(small, t0);
        ++sent;
    }
    CHECK(sent == 250);  // 250 KB: the frame bound came first
    CHECK_FALSE(sender.has_room(small, t0 + 9s));
    sender.consumed(100, t0 + 9s);
    CHECK(sender.unconsumed() == 150);
    CHECK(sender.has_room(small, t0 + 9s));
    sender.consumed(100, t0 + 9s);  // a repeated report changes nothing
    CHECK(sender.unconsumed() == 150);
    sender.consumed(250, t0 + 9s);
    CHECK(sender.unconsumed() == 0);
}

TEST_CASE("the owner's byte bound holds large frames back", "[unit][cluster]") {
    flow_sender sender({250, 256 * 1024});
    const std::size_t large = 60 * 1024;
    std::size_t sent = 0;
    while (sender.has_room(large, t0)) {
        sender.sent(large, t0);
        ++sent;
    }
    CHECK(sent == 4);  // 240 KiB; a fifth would pass 256 KiB
}

TEST_CASE("the owner never waits below what the gateway reports at", "[unit][cluster]") {
    // A window smaller than the reporting thresholds (a small configured queue) must not wait
    // for a report that would never come.
    flow_sender sender({16, 16 * 1024});
    std::size_t sent = 0;
    while (sender.has_room(small, t0) && sent < 1000) {
        sender.sent(small, t0);
        ++sent;
    }
    CHECK(sent == report_frames);  // until 64 frames (64,000 bytes) are unconsumed
    // One frame larger than the window goes when little is unconsumed.
    flow_sender alone({250, 256 * 1024});
    CHECK(alone.has_room(300 * 1024, t0));
}

TEST_CASE("an owner that hears no report for long takes the reports for lost", "[unit][cluster]") {
    flow_sender sender({250, 256 * 1024});
    for (int i = 0; i < 250; ++i) sender.sent(small, t0);
    bool reset = false;
    CHECK_FALSE(sender.has_room(small, t0 + report_wait_limit - 1ms, &reset));
    CHECK_FALSE(reset);
    CHECK(sender.has_room(small, t0 + report_wait_limit, &reset));
    CHECK(reset);
    CHECK(sender.unconsumed() == 0);
    // The counts stay aligned with the gateway's: frames it reports later count from where the
    // owner gave up.
    for (int i = 0; i < 10; ++i) sender.sent(small, t0 + 11s);
    sender.consumed(255, t0 + 11s);
    CHECK(sender.unconsumed() == 5);
}

TEST_CASE("the gateway reports every 64 frames written, counted from the open", "[unit][cluster]") {
    flow_receiver receiver;
    for (int i = 0; i < 63; ++i) receiver.relayed(small);
    CHECK_FALSE(receiver.waiting());  // a trickle costs no reports
    CHECK_FALSE(receiver.report(0));
    receiver.relayed(small);
    CHECK(receiver.waiting());
    CHECK_FALSE(receiver.report(10));  // 54 written, 10 still queued
    CHECK(receiver.report(0) == 64u);
    CHECK_FALSE(receiver.waiting());
    for (int i = 0; i < 100; ++i) receiver.relayed(small);
    CHECK(receiver.report(30) == 134u);  // cumulative: 64 + 70
    CHECK_FALSE(receiver.waiting());     // 30 left, under both thresholds
    receiver.restart();                  // opened at another owner
    for (int i = 0; i < 64; ++i) receiver.relayed(small);
    CHECK(receiver.report(0) == 64u);
}

TEST_CASE("the gateway reports large frames by their bytes", "[unit][cluster]") {
    flow_receiver receiver;
    receiver.relayed(40 * 1024);
    CHECK_FALSE(receiver.waiting());
    receiver.relayed(40 * 1024);
    CHECK(receiver.waiting());
    CHECK_FALSE(receiver.report(1));  // 40 KiB written
    CHECK(receiver.report(0) == 2u);
}

TEST_CASE("owner and gateway together: a catch-up moves as fast as the device reads",
          "[unit][cluster]") {
    // The owner sends what has room; the device reads `per_round` frames each round; the
    // gateway reports; nothing is ever more than the window plus one frame ahead.
    const flow_window window{250, 256 * 1024};
    flow_sender owner(window);
    flow_receiver gateway;
    std::size_t queued = 0;  // in the gateway's connection
    std::size_t delivered = 0;
    constexpr std::size_t total = 5000;
    std::size_t sent = 0;
    for (int round = 0; round < 10'000 && delivered < total; ++round) {
        const auto now = t0 + std::chrono::milliseconds(round);
        while (sent < total && owner.has_room(small, now)) {
            owner.sent(small, now);
            gateway.relayed(small);
            ++queued;
            ++sent;
        }
        CHECK(queued <= window.frames);
        const std::size_t per_round = 7;
        const auto read = std::min(queued, per_round);
        queued -= read;
        delivered += read;
        if (const auto written = gateway.report(queued)) owner.consumed(*written, now);
    }
    CHECK(delivered == total);
}
