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

boost::system::result<std::shared_ptr<const tenant_policy>, std::string> policy_of(
    const v1::TenantPolicy& policy) {
    auto p = std::make_shared<tenant_policy>();
    switch (policy.freedom()) {
        case v1::HOURS_FREEDOM_OWN:
            p->freedom = hours_freedom::own;
            break;
        case v1::HOURS_FREEDOM_TIME_ZONE:
            p->freedom = hours_freedom::time_zone;
            break;
        case v1::HOURS_FREEDOM_NONE:
            p->freedom = hours_freedom::none;
            break;
        default:
            return std::string(
                "freedom: HOURS_FREEDOM_OWN, HOURS_FREEDOM_TIME_ZONE or HOURS_FREEDOM_NONE");
    }
    if (policy.has_hours()) {
        auto hours = schedule_of(policy.hours());
        if (!hours) return hours.error();
        p->hours = std::move(*hours);
    }
    return std::shared_ptr<const tenant_policy>(std::move(p));
}

std::shared_ptr<const tenant_policy> policy_of_stored(const std::optional<std::string>& bytes) {
    if (!bytes) return nullptr;
    v1::TenantPolicy policy;
    if (!policy.ParseFromString(*bytes)) return nullptr;
    auto p = policy_of(policy);
    return p ? *p : nullptr;
}

namespace {

// The company's hours, moved to `zone` (a zone a user's valid hours named, so known).
std::optional<work_schedule> company_hours_in(const work_schedule& company,
                                              const std::string& zone) {
    if (company.spec().time_zone == zone) return company;
    auto spec = company.spec();
    spec.time_zone = zone;
    auto moved = work_schedule::make(std::move(spec));
    return moved ? std::optional(std::move(*moved)) : std::optional(company);
}

}  // namespace

std::shared_ptr<const user_profile> in_force(std::shared_ptr<const user_profile> own,
                                             const tenant_policy* policy) {
    if (!policy || (!own && !policy->hours)) return own;
    const work_schedule* mine = own && own->hours ? &*own->hours : nullptr;
    const auto& company = policy->hours;
    if (policy->freedom == hours_freedom::own && (mine || !company)) return own;
    if (policy->freedom == hours_freedom::time_zone && !company) return own;
    auto p = own ? std::make_shared<user_profile>(*own) : std::make_shared<user_profile>();
    if (policy->freedom == hours_freedom::time_zone && mine) {
        p->hours = company_hours_in(*company, mine->spec().time_zone);
    } else {
        p->hours = company;  // own without hours of theirs, or none: the company's (or none)
    }
    return p;
}

}  // namespace tern::core
