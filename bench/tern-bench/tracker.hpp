// What tern-bench checks and measures about every message: each carries a small binary header
// (which stream it belongs to, its number in the stream, when it was meant to be sent and when it
// was), so any device that receives it can tell whether it is new, repeated, out of order or
// missing, and how late it is.
//
// A stream is one sender device writing into one conversation; its messages are numbered 0, 1,
// 2, ... in the order they were sent, which the SDK's ordered outbox and the server's
// per-conversation order must preserve for every member device (the sender's own included: it
// receives its messages back, like any other device of the user).
//
// Everything except the atomic counters is touched only on the callback executor's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <tern/client/types.hpp>

#include "histogram.hpp"

namespace tern::bench {

// Nanoseconds on CLOCK_MONOTONIC: comparable across processes of one machine.
[[nodiscard]] std::int64_t now_ns() noexcept;

struct payload {
    std::uint32_t run =
        0;  // random per run: messages of earlier runs in a reused inbox are not ours
    std::uint32_t stream = 0;
    std::uint32_t number = 0;
    std::int64_t intended_ns = 0;  // when the open-loop schedule meant to send it
    std::int64_t sent_ns = 0;      // when send() was called
};

constexpr const char* payload_type = "tern-bench/1";

// A message body of `size` bytes (at least the header) carrying `p`.
[[nodiscard]] tern::client::content encode(const payload& p, std::size_t size);
// nullopt if `c` is not a bench message of run `run`.
[[nodiscard]] std::optional<payload> decode(const tern::client::content& c, std::uint32_t run);

struct correctness {
    std::uint64_t lost = 0;        // acked, and missing on some member device at the end
    std::uint64_t duplicated = 0;  // delivered twice to one device
    std::uint64_t reordered = 0;   // delivered after a later message of its stream
    [[nodiscard]] bool clean() const noexcept { return lost + duplicated + reordered == 0; }
};

class tracker {
public:
    tracker();
    // This run's id, for payloads.
    [[nodiscard]] std::uint32_t run() const noexcept { return run_; }

    // Before any traffic: stream `id` is written by client `writer` and read by `devices` member
    // devices (the writer's included). Returns the stream id.
    std::uint32_t add_stream(std::uint32_t writer, std::uint32_t devices);
    [[nodiscard]] std::uint32_t writer_of(std::uint32_t stream) const {
        return streams_[stream].writer;
    }

    // Only messages meant to be sent at or after this are measured (a warm-up before it). Any
    // thread, while callbacks run.
    void measure_from(std::int64_t ns) noexcept {
        measure_from_.store(ns, std::memory_order_relaxed);
    }
    // Counts deliveries of each stream's first `n` messages in `delivered_first` (churn: the
    // messages a client missed while away). Any thread.
    void count_first(std::uint32_t n) noexcept {
        first_numbers_.store(n, std::memory_order_relaxed);
    }

    // Callback thread.
    void on_ack(const payload& p, bool ok, bool duplicate, std::int64_t now);
    void on_event(std::uint32_t device, const tern::client::event& e, std::int64_t now);

    // Callback thread, after the traffic settled.
    [[nodiscard]] correctness check() const;
    [[nodiscard]] std::uint64_t expected_deliveries() const noexcept;

    // Latency from the intended send time (coordinated-omission corrected) and from the actual
    // send call (raw).
    histogram ack, ack_raw;  // send to SendAck
    histogram e2e, e2e_raw;  // send to push on each other member device
    histogram fanout;        // send to the last other member device

    // e2e (from the intended send time) of every delivery since the last call, warm-up
    // included, and starts again: what the progress line shows of each second. Callback thread.
    [[nodiscard]] histogram take_recent_e2e();

    // Progress, readable from any thread.
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> failed{0};     // sends that completed with an error
    std::atomic<std::uint64_t> delivered{0};  // new messages on devices other than the sender
    std::atomic<std::uint64_t> echoed{0};     // new messages back on the sender's device
    std::atomic<std::uint64_t> retried{0};    // acks the server marked duplicate (a resend)
    std::atomic<std::uint64_t> foreign{0};    // events that are not bench messages
    std::atomic<std::uint64_t> delivered_first{0};

private:
    struct stream_info {
        std::uint32_t writer = 0;
        std::uint32_t devices = 0;
        std::uint32_t acked = 0;
    };
    // One device's view of one stream.
    struct reader_state {
        std::uint32_t next = 0;              // every number below arrived, except `skipped`
        std::vector<std::uint32_t> skipped;  // numbers passed over (lost or late)
        std::uint32_t duplicated = 0;
        std::uint32_t reordered = 0;
    };
    struct fanout_state {
        std::int64_t intended_ns = 0;
        std::uint32_t remaining = 0;
    };
    static std::uint64_t key(std::uint32_t a, std::uint32_t b) noexcept {
        return (static_cast<std::uint64_t>(a) << 32) | b;
    }
    // Whether the message is new to this reader (and updates the reader's state).
    bool accept(reader_state& r, std::uint32_t number);

    std::vector<stream_info> streams_;
    std::unordered_map<std::uint64_t, reader_state> readers_;  // (device, stream)
    std::unordered_map<std::uint64_t, fanout_state> fanout_;   // (stream, number)
    histogram recent_e2e_;
    std::atomic<std::int64_t> measure_from_{0};
    std::atomic<std::uint32_t> first_numbers_{0};
    std::uint32_t run_ = 0;
};

}  // namespace tern::bench
