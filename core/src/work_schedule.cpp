#include "work_schedule.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>

#include <date/tz.h>

namespace tern::core {

namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr std::uint16_t minutes_per_day = 24 * 60;
// How far ahead next_start() looks: a year of holidays and a schedule without work days end it.
constexpr std::int32_t search_days = 400;

std::optional<int> digits(std::string_view text) {
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::int64_t unix_ms_of(date::sys_time<milliseconds> t) { return t.time_since_epoch().count(); }

}  // namespace

std::optional<std::int32_t> holiday_day(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    const auto y = digits(text.substr(0, 4));
    const auto m = digits(text.substr(5, 2));
    const auto d = digits(text.substr(8, 2));
    if (!y || !m || !d) return std::nullopt;
    const date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*m)},
                                   date::day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    return static_cast<std::int32_t>(date::sys_days{ymd}.time_since_epoch().count());
}

std::string holiday_text(std::int32_t day) {
    return date::format("%F", date::sys_days{date::days{day}});
}

std::optional<std::uint16_t> minute_of_day(std::string_view text) {
    if (text.size() != 5 || text[2] != ':') return std::nullopt;
    const auto h = digits(text.substr(0, 2));
    const auto m = digits(text.substr(3, 2));
    if (!h || !m || *h < 0 || *h > 23 || *m < 0 || *m > 59) return std::nullopt;
    return static_cast<std::uint16_t>(*h * 60 + *m);
}

std::string minute_text(std::uint16_t minute) {
    std::string out(5, '0');
    out[0] = static_cast<char>('0' + minute / 600);
    out[1] = static_cast<char>('0' + minute / 60 % 10);
    out[2] = ':';
    out[3] = static_cast<char>('0' + minute % 60 / 10);
    out[4] = static_cast<char>('0' + minute % 10);
    return out;
}

boost::system::result<work_schedule, std::string> work_schedule::make(work_schedule_spec spec) {
    if (spec.start_minute >= minutes_per_day || spec.end_minute >= minutes_per_day) {
        return std::string("work hours must be between 00:00 and 23:59");
    }
    if (spec.work_days > 0b111'1111) return std::string("work days name only Monday to Sunday");
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(spec.time_zone);
    } catch (const std::exception&) {
        return "unknown time zone \"" + spec.time_zone + "\" (an IANA name such as Asia/Shanghai)";
    }
    std::sort(spec.holidays.begin(), spec.holidays.end());
    spec.holidays.erase(std::unique(spec.holidays.begin(), spec.holidays.end()),
                        spec.holidays.end());
    return work_schedule(std::move(spec), zone);
}

work_schedule::work_schedule(work_schedule_spec spec, const date::time_zone* zone)
    : spec_(std::move(spec)), zone_(zone) {}

std::int32_t work_schedule::local_day(std::int64_t unix_ms) const {
    const auto local = zone_->to_local(date::sys_time<milliseconds>{milliseconds{unix_ms}});
    return static_cast<std::int32_t>(date::floor<date::days>(local).time_since_epoch().count());
}

std::int64_t work_schedule::day_start(std::int64_t unix_ms) const {
    const date::local_days today{date::days{local_day(unix_ms)}};
    return unix_ms_of(zone_->to_sys(today, date::choose::earliest));
}

bool work_schedule::shift_on(std::int32_t day, shift& out) const {
    const date::local_days local{date::days{day}};
    const unsigned weekday_bit = date::weekday{local}.iso_encoding() - 1;  // Monday = 0
    if ((spec_.work_days & (1U << weekday_bit)) == 0) return false;
    if (std::binary_search(spec_.holidays.begin(), spec_.holidays.end(), day)) return false;
    const auto start = local + minutes{spec_.start_minute};
    const auto end = spec_.end_minute > spec_.start_minute
                         ? local + minutes{spec_.end_minute}
                         : local + date::days{1} + minutes{spec_.end_minute};
    // A skipped local time begins when the clocks jump; a repeated one at its first occurrence.
    out.start_ms = unix_ms_of(zone_->to_sys(start, date::choose::earliest));
    out.end_ms = unix_ms_of(zone_->to_sys(end, date::choose::earliest));
    return out.end_ms > out.start_ms;
}

work_schedule::state work_schedule::at(std::int64_t unix_ms) const {
    const auto today = local_day(unix_ms);
    // Yesterday's night shift may still run; today's shift may have begun.
    for (const auto day : {today - 1, today}) {
        shift s;
        if (shift_on(day, s) && s.start_ms <= unix_ms && unix_ms < s.end_ms) {
            // Back-to-back shifts (a 24-hour one every day) are one stretch of work.
            auto until = s.end_ms;
            for (auto next = day + 1; next <= day + search_days; ++next) {
                shift n;
                if (!shift_on(next, n) || n.start_ms > until) break;
                until = std::max(until, n.end_ms);
            }
            return {true, until};
        }
    }
    return {false, next_start(unix_ms)};
}

std::int64_t work_schedule::next_start(std::int64_t unix_ms) const {
    const auto today = local_day(unix_ms);
    for (auto day = today; day <= today + search_days; ++day) {
        shift s;
        if (shift_on(day, s) && s.start_ms > unix_ms) return s.start_ms;
    }
    return never_ms;
}

}  // namespace tern::core
