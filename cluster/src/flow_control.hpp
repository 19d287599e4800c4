// Flow control of what an owner sends a relayed session (docs/cluster.md, "Flow control across
// the bus"), as two state machines with no I/O: the owner's flow_sender counts what it sent and
// what the gateway reported written; the gateway's flow_receiver counts what it handed the
// device's connection and says when to report (SessionConsumed). Both count frames and size
// each frame alike (its payload plus frame_overhead), so the owner never waits for a report
// the gateway has no reason to send.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace tern::cluster::detail {

using flow_clock = std::chrono::steady_clock;

// A frame's own fields around its payload, as both sides count them.
inline constexpr std::size_t frame_overhead = 16;
// The gateway reports once this many frames or bytes were written since its last report.
inline constexpr std::uint64_t report_frames = 64;
inline constexpr std::size_t report_bytes = 64 * 1024;
// An owner that hears nothing this long with a full window takes the reports for lost (NATS
// core drops messages when a connection breaks) and opens the window again.
inline constexpr std::chrono::seconds report_wait_limit{10};

// How much an owner lets be unconsumed before what paces itself (a catch-up) waits.
struct flow_window {
    std::size_t frames = 250;
    std::size_t bytes = 256 * 1024;
};

class flow_sender {
public:
    explicit flow_sender(flow_window window) : window_(window) {}

    // A frame of `bytes` (with its overhead) went to the gateway.
    void sent(std::size_t bytes, flow_clock::time_point now) {
        if (unconsumed_.empty()) last_report_ = now;  // the wait for a report starts now
        unconsumed_.push_back(bytes);
        unconsumed_bytes_ += bytes;
    }

    // The gateway reported `frames` written (counted from the session's open).
    void consumed(std::uint64_t frames, flow_clock::time_point now) {
        last_report_ = now;
        while (consumed_ < frames && !unconsumed_.empty()) {
            unconsumed_bytes_ -= unconsumed_.front();
            unconsumed_.pop_front();
            ++consumed_;
        }
    }

    // Whether `bytes` more may go: within the window, or while less is unconsumed than the
    // gateway reports at (it would never report: waiting could not end). After
    // report_wait_limit without a report, the window opens again (true once, `reset` set).
    [[nodiscard]] bool has_room(std::size_t bytes, flow_clock::time_point now,
                                bool* reset = nullptr) {
        const bool in_window =
            unconsumed_.size() < window_.frames && unconsumed_bytes_ + bytes <= window_.bytes;
        const bool below_reports =
            unconsumed_.size() < report_frames && unconsumed_bytes_ < report_bytes;
        if (in_window || below_reports) return true;
        if (now - last_report_ < report_wait_limit) return false;
        consumed_ += unconsumed_.size();
        unconsumed_.clear();
        unconsumed_bytes_ = 0;
        last_report_ = now;
        if (reset) *reset = true;
        return true;
    }

    [[nodiscard]] std::size_t unconsumed() const noexcept { return unconsumed_.size(); }

private:
    flow_window window_;
    std::deque<std::size_t> unconsumed_;  // each frame's size, oldest first
    std::size_t unconsumed_bytes_ = 0;
    std::uint64_t consumed_ = 0;          // frames reported written, or given up on
    flow_clock::time_point last_report_;  // or when the window began to fill
};

class flow_receiver {
public:
    // The session opens at an owner: its counts start from zero.
    void restart() {
        unreported_.clear();
        unreported_bytes_ = 0;
        reported_ = 0;
    }

    // A frame of `bytes` (with its overhead) from the owner was handed to the connection.
    void relayed(std::size_t bytes) {
        unreported_.push_back(bytes);
        unreported_bytes_ += bytes;
    }

    // With `queued` frames still in the device's connection queue (the newest ones): the count
    // to report (cumulative), when enough were written since the last report.
    [[nodiscard]] std::optional<std::uint64_t> report(std::size_t queued) {
        const auto written = unreported_.size() - std::min(queued, unreported_.size());
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < written; ++i) bytes += unreported_[i];
        if (written < report_frames && bytes < report_bytes) return std::nullopt;
        for (std::size_t i = 0; i < written; ++i) unreported_.pop_front();
        unreported_bytes_ -= bytes;
        reported_ += written;
        return reported_;
    }

    // Enough is unreported that a report is due once the connection writes it: look again.
    [[nodiscard]] bool waiting() const noexcept {
        return unreported_.size() >= report_frames || unreported_bytes_ >= report_bytes;
    }

private:
    std::deque<std::size_t> unreported_;  // each frame's size, oldest first
    std::size_t unreported_bytes_ = 0;
    std::uint64_t reported_ = 0;
};

}  // namespace tern::cluster::detail
