// The protocol's time: every *_ms field (server_time_ms, client_time_ms, last_seen_ms, expiries)
// is milliseconds since the Unix epoch, UTC. One definition for the server, the core's wall clock
// and the SDK.
#pragma once

#include <chrono>
#include <cstdint>

namespace tern::wire {

[[nodiscard]] inline std::int64_t unix_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace tern::wire
