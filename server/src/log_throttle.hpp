// A warning a fault can repeat thousands of times a second (a full disk failing every commit,
// no file descriptors left for accept) is logged at most once per interval, with the count of
// those held back, so that the log stays readable and costs nothing while the fault lasts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace tern::server {

class log_throttle {
public:
    using clock = std::chrono::steady_clock;

    explicit log_throttle(std::chrono::milliseconds interval) : interval_(interval) {}

    // Whether to log the occurrence at `now`; when it does, `held_back` is how many occurrences
    // were not logged since the last one that was. Any thread.
    bool allow(clock::time_point now, std::uint64_t& held_back) {
        const auto t = now.time_since_epoch().count();
        auto next = next_.load(std::memory_order_relaxed);
        if (t < next || !next_.compare_exchange_strong(next, t + ticks(interval_))) {
            held_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        held_back = held_.exchange(0, std::memory_order_relaxed);
        return true;
    }
    bool allow(std::uint64_t& held_back) { return allow(clock::now(), held_back); }

private:
    static clock::rep ticks(std::chrono::milliseconds d) {
        return std::chrono::duration_cast<clock::duration>(d).count();
    }

    const std::chrono::milliseconds interval_;
    std::atomic<clock::rep> next_{std::numeric_limits<clock::rep>::min()};
    std::atomic<std::uint64_t> held_{0};
};

}  // namespace tern::server
