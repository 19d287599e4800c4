// Working hours in a time zone: shifts, weekends, holidays, night shifts and daylight saving.
// The instants are written as Unix ms with the local time they are in a comment (checked against
// Python's zoneinfo on the same tz database).
#include "work_schedule.hpp"

#include <catch2/catch.hpp>

using namespace tern::core;

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;

work_schedule make(work_schedule_spec spec) {
    auto s = work_schedule::make(std::move(spec));
    REQUIRE(s.has_value());
    return *s;
}

work_schedule_spec shanghai_office() {
    work_schedule_spec spec;
    spec.time_zone = "Asia/Shanghai";
    return spec;  // Monday to Friday, 09:00 to 18:00
}

// Asia/Shanghai is UTC+8 all year.
constexpr std::int64_t mon_0900_shanghai = 1'796'605'200'000;       // Monday 2026-12-07 09:00
constexpr std::int64_t mon_1800_shanghai = 1'796'637'600'000;       // Monday 2026-12-07 18:00
constexpr std::int64_t fri_1800_shanghai = 1'796'983'200'000;       // Friday 2026-12-11 18:00
constexpr std::int64_t next_mon_0900_shanghai = 1'797'210'000'000;  // Monday 2026-12-14 09:00

}  // namespace

TEST_CASE("work schedule: inside and outside an office day", "[unit][notify]") {
    const auto s = make(shanghai_office());
    const auto before = s.at(mon_0900_shanghai - minute_ms);
    CHECK_FALSE(before.working);
    CHECK(before.until_ms == mon_0900_shanghai);

    const auto first = s.at(mon_0900_shanghai);
    CHECK(first.working);
    CHECK(first.until_ms == mon_1800_shanghai);
    CHECK(s.at(mon_1800_shanghai - 1).working);

    const auto evening = s.at(mon_1800_shanghai);
    CHECK_FALSE(evening.working);
    CHECK(evening.until_ms == mon_0900_shanghai + 24 * hour_ms);
}

TEST_CASE("work schedule: the weekend lasts until Monday's start", "[unit][notify]") {
    const auto s = make(shanghai_office());
    const auto weekend = s.at(fri_1800_shanghai + 30 * hour_ms);  // Sunday 00:00
    CHECK_FALSE(weekend.working);
    CHECK(weekend.until_ms == next_mon_0900_shanghai);
    CHECK(s.next_start(fri_1800_shanghai) == next_mon_0900_shanghai);
    // Inside a shift the next start is the next day's.
    CHECK(s.next_start(mon_0900_shanghai) == mon_0900_shanghai + 24 * hour_ms);
}

TEST_CASE("work schedule: no shift starts on a holiday", "[unit][notify]") {
    auto spec = shanghai_office();
    spec.holidays = {*holiday_day("2026-12-14"), *holiday_day("2026-12-15")};
    const auto s = make(spec);
    CHECK_FALSE(s.at(next_mon_0900_shanghai + hour_ms).working);
    CHECK(s.next_start(fri_1800_shanghai) == next_mon_0900_shanghai + 2 * 24 * hour_ms);
}

TEST_CASE("work schedule: a night shift runs past midnight", "[unit][notify]") {
    auto spec = shanghai_office();
    spec.start_minute = 22 * 60;
    spec.end_minute = 6 * 60;
    spec.work_days = 0b000'0001;  // Monday's shift only: Monday 22:00 to Tuesday 06:00
    const auto s = make(spec);
    const auto mon_2200 = mon_0900_shanghai + 13 * hour_ms;
    const auto tue_0600 = mon_2200 + 8 * hour_ms;
    CHECK_FALSE(s.at(mon_2200 - 1).working);
    CHECK(s.at(mon_2200).until_ms == tue_0600);
    // Tuesday is not a work day, but Monday's shift still runs into it.
    const auto tue_0300 = s.at(tue_0600 - 3 * hour_ms);
    CHECK(tue_0300.working);
    CHECK(tue_0300.until_ms == tue_0600);
    const auto after = s.at(tue_0600);
    CHECK_FALSE(after.working);
    CHECK(after.until_ms == mon_2200 + 7 * 24 * hour_ms);
}

TEST_CASE("work schedule: shifts that meet are one stretch of work", "[unit][notify]") {
    auto spec = shanghai_office();
    spec.start_minute = 0;
    spec.end_minute = 0;          // 24 hours from midnight
    spec.work_days = 0b000'0111;  // Monday to Wednesday
    const auto s = make(spec);
    const auto state = s.at(mon_0900_shanghai);
    CHECK(state.working);
    CHECK(state.until_ms == mon_0900_shanghai - 9 * hour_ms + 3 * 24 * hour_ms);  // Thursday 00:00
}

TEST_CASE("work schedule: daylight saving moves the start with the local clock", "[unit][notify]") {
    work_schedule_spec spec;
    spec.time_zone = "Europe/Berlin";  // CET until Sunday 2027-03-28 02:00, then CEST
    const auto s = make(spec);
    constexpr std::int64_t fri_0900_cet = 1'806'048'000'000;  // Friday 2027-03-26 09:00 (08:00 UTC)
    constexpr std::int64_t mon_0900_cest =
        1'806'303'600'000;  // Monday 2027-03-29 09:00 (07:00 UTC)
    CHECK(s.at(fri_0900_cet).until_ms == fri_0900_cet + 9 * hour_ms);
    CHECK(s.next_start(fri_0900_cet + 9 * hour_ms) == mon_0900_cest);
    CHECK(mon_0900_cest - fri_0900_cet == (3 * 24 - 1) * hour_ms);  // the lost hour

    // A start inside the skipped hour (02:30 that Sunday) begins when the clocks jump.
    spec.work_days = 0b100'0000;  // Sundays
    spec.start_minute = 2 * 60 + 30;
    spec.end_minute = 4 * 60;
    const auto sunday = make(spec);
    constexpr std::int64_t jump = 1'806'195'600'000;  // 03:00 CEST = 01:00 UTC
    CHECK(sunday.next_start(jump - 3 * hour_ms) == jump);
    CHECK(sunday.at(jump).working);
    CHECK(sunday.at(jump).until_ms == jump + hour_ms);
}

TEST_CASE("work schedule: no work days means never", "[unit][notify]") {
    auto spec = shanghai_office();
    spec.work_days = 0;
    const auto s = make(spec);
    CHECK_FALSE(s.at(mon_0900_shanghai).working);
    CHECK(s.at(mon_0900_shanghai).until_ms == work_schedule::never_ms);
    CHECK(s.next_start(mon_0900_shanghai) == work_schedule::never_ms);
}

TEST_CASE("work schedule: a bad spec is refused with what is wrong", "[unit][notify]") {
    auto spec = shanghai_office();
    spec.time_zone = "Mars/Olympus_Mons";
    auto bad = work_schedule::make(spec);
    REQUIRE_FALSE(bad.has_value());
    CHECK_THAT(bad.error(), Catch::Contains("unknown time zone"));
    spec = shanghai_office();
    spec.end_minute = 1440;
    CHECK_FALSE(work_schedule::make(spec).has_value());
    spec = shanghai_office();
    spec.work_days = 0x80;
    CHECK_FALSE(work_schedule::make(spec).has_value());
}

TEST_CASE("work schedule: dates and times in text", "[unit][notify]") {
    CHECK(holiday_day("1970-01-01") == 0);
    CHECK(holiday_day("2026-12-07") == 20'794);
    CHECK(holiday_text(20'794) == "2026-12-07");
    CHECK_FALSE(holiday_day("2026-02-30"));
    CHECK_FALSE(holiday_day("2026-1-07"));
    CHECK_FALSE(holiday_day("20261207xx"));
    CHECK(minute_of_day("09:30") == 570);
    CHECK(minute_of_day("23:59") == 1439);
    CHECK_FALSE(minute_of_day("24:00"));
    CHECK_FALSE(minute_of_day("9:30"));
    CHECK_FALSE(minute_of_day("09:60"));
    CHECK(minute_text(570) == "09:30");
    CHECK(minute_text(0) == "00:00");
}
