// A user's own notification settings as the delivery decision reads them (docs/notifications.md):
// do-not-disturb, whether to be alerted off hours anyway, and their working hours. Built from the
// stored tern.v1.NotificationSettings, checked when the user sets them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/system/result.hpp>

#include "work_schedule.hpp"

namespace tern::v1 {
class NotificationSettings;
class WorkHours;
}  // namespace tern::v1

namespace tern::core {

struct user_profile {
    std::int64_t dnd_until_ms = 0;  // do-not-disturb while now < dnd_until_ms
    bool notify_off_hours = false;
    std::optional<work_schedule> hours;  // none: always at work
};

// The settings as a profile; the error names the field that is wrong (for INVALID_ARGUMENT).
[[nodiscard]] boost::system::result<std::shared_ptr<const user_profile>, std::string> profile_of(
    const v1::NotificationSettings& settings);

// Stored bytes (storage::put_user_settings) as a profile; null for none, or for bytes that do not
// parse (what the user set was checked, so that means a newer build wrote them).
[[nodiscard]] std::shared_ptr<const user_profile> profile_of_stored(
    const std::optional<std::string>& bytes);

// Whether the user is at work at `now_ms`, and until when; a cache the caller keeps per user.
struct hours_cache {
    work_schedule::state state{true, INT64_MIN};  // INT64_MIN: not yet computed
    [[nodiscard]] bool working(const user_profile* profile, std::int64_t now_ms) {
        if (!profile || !profile->hours) return true;
        if (state.until_ms == INT64_MIN || now_ms >= state.until_ms || now_ms < since_ms) {
            state = profile->hours->at(now_ms);
            since_ms = now_ms;
        }
        return state.working;
    }

private:
    std::int64_t since_ms = INT64_MIN;  // when `state` was computed (a clock set back recomputes)
};

}  // namespace tern::core
