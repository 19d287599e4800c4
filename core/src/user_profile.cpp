#include "user_profile.hpp"

#include "tern/v1/notifications.pb.h"

namespace tern::core {

namespace {

constexpr int max_holidays = 400;

boost::system::result<work_schedule, std::string> schedule_of(const v1::WorkHours& h) {
    work_schedule_spec spec;
    spec.time_zone = h.time_zone();
    if (h.work_days() > 0x7f) return std::string("hours.work_days: bits 0 (Monday) to 6 (Sunday)");
    spec.work_days = static_cast<std::uint8_t>(h.work_days());
    const auto start = minute_of_day(h.start());
    const auto end = minute_of_day(h.end());
    if (!start) return std::string("hours.start: HH:MM, 00:00 to 23:59");
    if (!end) return std::string("hours.end: HH:MM, 00:00 to 23:59");
    spec.start_minute = *start;
    spec.end_minute = *end;
    if (h.holidays_size() > max_holidays) return std::string("hours.holidays: at most 400");
    for (const auto& text : h.holidays()) {
        const auto day = holiday_day(text);
        if (!day) return "hours.holidays: \"" + text.substr(0, 16) + "\" is not a YYYY-MM-DD date";
        spec.holidays.push_back(*day);
    }
    auto made = work_schedule::make(std::move(spec));
    if (!made) return "hours: " + made.error();
    return *made;
}

}  // namespace

boost::system::result<std::shared_ptr<const user_profile>, std::string> profile_of(
    const v1::NotificationSettings& settings) {
    auto p = std::make_shared<user_profile>();
    p->dnd_until_ms = settings.dnd_until_ms();
    p->notify_off_hours = settings.notify_off_hours();
    if (settings.has_hours()) {
        auto hours = schedule_of(settings.hours());
        if (!hours) return hours.error();
        p->hours = std::move(*hours);
    }
    return std::shared_ptr<const user_profile>(std::move(p));
}

std::shared_ptr<const user_profile> profile_of_stored(const std::optional<std::string>& bytes) {
    if (!bytes) return nullptr;
    v1::NotificationSettings settings;
    if (!settings.ParseFromString(*bytes)) return nullptr;
    auto p = profile_of(settings);
    return p ? *p : nullptr;
}

}  // namespace tern::core
