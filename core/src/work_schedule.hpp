// Working hours: when a person is at work, in their own time zone (docs/notifications.md).
//
// A schedule is a shift on each work day (local start and end; an end at or before the start runs
// past midnight, for night shifts), minus holidays (local dates on which no shift starts), in one
// IANA time zone read from the system's tz database (tzdata). Daylight-saving changes move the
// shift's absolute times with the local clock: a start inside a skipped hour begins when the
// clocks jump, a start inside a repeated hour begins at its first occurrence.
//
// Pure and immutable once made: any thread, no clock of its own (every question names its time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

namespace date {
class time_zone;
}

namespace tern::core {

// What a policy or a user says; made into a work_schedule (which checks it) before use.
struct work_schedule_spec {
    std::string time_zone = "UTC";
    // Bit 0 = Monday ... bit 6 = Sunday.
    std::uint8_t work_days = 0b001'1111;
    // Minutes after local midnight, 0..1439. end <= start: the shift ends the next day.
    std::uint16_t start_minute = 9 * 60;
    std::uint16_t end_minute = 18 * 60;
    // Local dates without a shift, as days since 1970-01-01 (holiday_day() parses "YYYY-MM-DD").
    std::vector<std::int32_t> holidays;
    friend bool operator==(const work_schedule_spec&, const work_schedule_spec&) = default;
};

// "YYYY-MM-DD" as days since 1970-01-01; nullopt for anything else (or an impossible date).
[[nodiscard]] std::optional<std::int32_t> holiday_day(std::string_view text);
// Days since 1970-01-01 as "YYYY-MM-DD".
[[nodiscard]] std::string holiday_text(std::int32_t day);
// "HH:MM" (00:00..23:59) as minutes after midnight; nullopt for anything else.
[[nodiscard]] std::optional<std::uint16_t> minute_of_day(std::string_view text);
// Minutes after midnight as "HH:MM".
[[nodiscard]] std::string minute_text(std::uint16_t minute);

class work_schedule {
public:
    // The time zone must be known to the tz database, minutes below 1440, at most 7 work-day
    // bits, holidays any dates. The error says which field is wrong, for the one who set it.
    [[nodiscard]] static boost::system::result<work_schedule, std::string> make(
        work_schedule_spec spec);

    // Whether `unix_ms` is inside a shift, and until when that stays so (the shift's end, or the
    // next shift's start; never_ms when no shift starts within the search horizon, about a year).
    struct state {
        bool working = false;
        std::int64_t until_ms = 0;
    };
    static constexpr std::int64_t never_ms = INT64_MAX;
    [[nodiscard]] state at(std::int64_t unix_ms) const;

    // The start of the first shift that begins after `unix_ms` (strictly), or never_ms.
    [[nodiscard]] std::int64_t next_start(std::int64_t unix_ms) const;

    // The start of the local day `unix_ms` falls on (midnight, or when a skipped midnight ends).
    [[nodiscard]] std::int64_t day_start(std::int64_t unix_ms) const;

    [[nodiscard]] const work_schedule_spec& spec() const noexcept { return spec_; }

private:
    work_schedule(work_schedule_spec spec, const date::time_zone* zone);

    struct shift {
        std::int64_t start_ms = 0;
        std::int64_t end_ms = 0;
    };
    // The shift that starts on local day `day` (days since 1970-01-01), if that day has one.
    [[nodiscard]] bool shift_on(std::int32_t day, shift& out) const;
    [[nodiscard]] std::int32_t local_day(std::int64_t unix_ms) const;

    work_schedule_spec spec_;
    const date::time_zone* zone_;
};

}  // namespace tern::core
