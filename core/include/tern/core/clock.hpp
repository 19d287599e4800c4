// The wall clock the core reads: the time events are stamped with, recall windows and presence
// "last seen". A port so that unit tests drive time themselves.
#pragma once

#include <cstdint>

namespace tern::core {

class clock {
public:
    virtual ~clock() = default;
    // Milliseconds since the Unix epoch. From any thread.
    [[nodiscard]] virtual std::int64_t unix_ms() const noexcept = 0;
};

// The system's clock.
[[nodiscard]] const clock& system_clock() noexcept;

}  // namespace tern::core
