// The inbound rate of the protocol (Welcome.limits: inbound_frames_per_second, inbound_burst) as
// a token bucket: `per_second` tokens a second, at most `burst` saved, one taken per frame. The
// server refuses a frame when the bucket is empty (RATE_LIMITED, with how long to wait); the SDK
// paces its sends with a bucket set a little under the server's, so a client that follows it is
// never refused. One definition for both sides; pure (the caller passes the time), so it is tested
// without clocks. The rate is passed in rather than kept: every connection of a gateway shares
// one, and a bucket is 16 bytes of each connection.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace tern::wire {

struct rate_limit {
    double per_second = 50;
    double burst = 200;
};

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    // Full: `burst` frames may go at once.
    token_bucket(const rate_limit& limit, clock::time_point now) noexcept
        : tokens_(limit.burst), refilled_(now) {}

    // Takes a token at `now`; false when there is none (nothing is taken).
    bool take(const rate_limit& limit, clock::time_point now) noexcept {
        refill(limit, now);
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }

    // How long after `now` the next token is there (zero when one is).
    [[nodiscard]] std::chrono::microseconds until_next(const rate_limit& limit,
                                                       clock::time_point now) noexcept {
        refill(limit, now);
        if (tokens_ >= 1) return std::chrono::microseconds(0);
        const double seconds = (1 - tokens_) / std::max(limit.per_second, 1e-9);
        return std::chrono::microseconds(static_cast<std::int64_t>(std::ceil(seconds * 1e6)));
    }

    // Back to full (the SDK on a new connection).
    void refill_fully(const rate_limit& limit, clock::time_point now) noexcept {
        tokens_ = limit.burst;
        refilled_ = now;
    }

private:
    void refill(const rate_limit& limit, clock::time_point now) noexcept {
        const double elapsed = std::chrono::duration<double>(now - refilled_).count();
        if (elapsed <= 0) return;
        tokens_ = std::min(limit.burst, tokens_ + elapsed * limit.per_second);
        refilled_ = now;
    }

    double tokens_;
    clock::time_point refilled_;
};

}  // namespace tern::wire
