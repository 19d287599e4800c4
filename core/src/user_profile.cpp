#include "user_profile.hpp"

#include "tern/v1/notifications.pb.h"

namespace tern::core {

namespace {

constexpr int max_holidays = 400;
constexpr int max_listed_users = 1000;
constexpr std::uint32_t default_urgent_budget = 5;
constexpr std::size_t max_role_bytes = 64;

std::vector<storage::user_id> sorted_ids(
    const google::protobuf::RepeatedField<std::uint64_t>& ids) {
    std::vector<storage::user_id> out(ids.begin(), ids.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

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
    if (settings.urgent_off_hours_from_size() > max_listed_users) {
        return std::string("urgent_off_hours_from: at most 1,000 users");
    }
    p->limit_urgent_off_hours = settings.limit_urgent_off_hours();
    p->urgent_off_hours_from = sorted_ids(settings.urgent_off_hours_from());
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
    const auto& urgent = policy.urgent();
    if (urgent.sender_users_size() > max_listed_users || urgent.sender_roles_size() > 100) {
        return std::string("urgent: at most 1,000 sender_users and 100 sender_roles");
    }
    for (const auto& role : urgent.sender_roles()) {
        if (role.empty() || role.size() > max_role_bytes) {
            return std::string("urgent.sender_roles: each 1 to 64 bytes");
        }
        p->urgent_roles.push_back(role);
    }
    p->urgent_users = sorted_ids(urgent.sender_users());
    if (std::binary_search(p->urgent_users.begin(), p->urgent_users.end(), 0)) {
        return std::string("urgent.sender_users: user ids are positive");
    }
    p->urgent_budget = urgent.daily_budget() == 0 ? default_urgent_budget : urgent.daily_budget();
    if (urgent.escalate_times() > 10) return std::string("urgent.escalate_times: at most 10");
    if (urgent.escalate_times() > 0 &&
        (urgent.escalate_after_minutes() < 1 || urgent.escalate_after_minutes() > 1440)) {
        return std::string("urgent.escalate_after_minutes: 1 to 1,440 when escalating");
    }
    if (urgent.escalation_channels_size() > 10) {
        return std::string("urgent.escalation_channels: at most 10");
    }
    for (const auto& c : urgent.escalation_channels()) {
        if (c == "push") {
            p->escalation_channels.push_back(push::channel::push);
        } else if (c == "sms") {
            p->escalation_channels.push_back(push::channel::sms);
        } else if (c == "call") {
            p->escalation_channels.push_back(push::channel::call);
        } else {
            return std::string("urgent.escalation_channels: each push, sms or call");
        }
    }
    p->escalate_after = std::chrono::minutes(urgent.escalate_after_minutes());
    p->escalate_times = urgent.escalate_after_minutes() == 0 ? 0 : urgent.escalate_times();
    switch (policy.push_preview()) {
        case v1::PUSH_PREVIEW_TEXT:
            p->preview = push_preview::text;
            break;
        case v1::PUSH_PREVIEW_SENDER_ONLY:
            p->preview = push_preview::sender_only;
            break;
        case v1::PUSH_PREVIEW_NONE:
            p->preview = push_preview::none;
            break;
        default:
            return std::string(
                "push_preview: PUSH_PREVIEW_TEXT, PUSH_PREVIEW_SENDER_ONLY or PUSH_PREVIEW_NONE");
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

bool tenant_policy::may_send_urgent(const requester& who) const {
    if (std::binary_search(urgent_users.begin(), urgent_users.end(), who.user)) return true;
    return std::any_of(who.roles.begin(), who.roles.end(), [&](const std::string& role) {
        return std::find(urgent_roles.begin(), urgent_roles.end(), role) != urgent_roles.end();
    });
}

std::int64_t tenant_policy::budget_day_start(std::int64_t unix_ms) const {
    if (hours) return hours->day_start(unix_ms);
    constexpr std::int64_t day_ms = 86'400'000;
    return unix_ms - ((unix_ms % day_ms) + day_ms) % day_ms;
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

notice_decision decide_for(const event_facts& event, const mute_table* mutes, storage::user_id user,
                           const user_profile* profile, hours_cache& hours, std::int64_t now_ms) {
    recipient_facts to;
    to.user = user;
    to.mute = mute_of(mutes, user).at(now_ms);
    to.do_not_disturb = profile && now_ms < profile->dnd_until_ms;
    to.notify_off_hours = profile && profile->notify_off_hours;
    to.working = hours.working(profile, now_ms);
    // Let through at send by the tenant's policy; the recipient may still limit who reaches
    // them off hours.
    to.urgent_allowed = (event.flags & flag_urgent) != 0 &&
                        (!profile || profile->urgent_reaches(event.sender, to.working));
    return decide_notice(event, to);
}

}  // namespace tern::core
