// A user's notification settings as the delivery decision reads them (docs/notifications.md):
// do-not-disturb, whether to be alerted off hours anyway, and their working hours; and the
// tenant's policy, which may give or set those hours. Built from the stored
// tern.v1.NotificationSettings and tern.v1.TenantPolicy, checked when they are set.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include <tern/core/requester.hpp>
#include <tern/push/push_message.hpp>

#include "notice_rules.hpp"
#include "work_schedule.hpp"

namespace tern::v1 {
class NotificationSettings;
class TenantPolicy;
}  // namespace tern::v1

namespace tern::core {

struct user_profile {
    std::int64_t dnd_until_ms = 0;  // do-not-disturb while now < dnd_until_ms
    bool notify_off_hours = false;
    std::optional<work_schedule> hours;  // none: always at work
    // Off hours, only these senders' urgent messages alert (ascending), when limited.
    bool limit_urgent_off_hours = false;
    std::vector<storage::user_id> urgent_off_hours_from;

    // Whether `sender`'s urgent message may alert this user now (at work or not).
    [[nodiscard]] bool urgent_reaches(storage::user_id sender, bool working) const {
        return working || !limit_urgent_off_hours ||
               std::binary_search(urgent_off_hours_from.begin(), urgent_off_hours_from.end(),
                                  sender);
    }
};

// The settings as a profile; the error names the field that is wrong (for INVALID_ARGUMENT).
[[nodiscard]] boost::system::result<std::shared_ptr<const user_profile>, std::string> profile_of(
    const v1::NotificationSettings& settings);

// Stored bytes (storage::put_user_settings) as a profile; null for none, or for bytes that do not
// parse (what the user set was checked, so that means a newer build wrote them).
[[nodiscard]] std::shared_ptr<const user_profile> profile_of_stored(
    const std::optional<std::string>& bytes);

// How far a user may change the company's hours for themselves (tern.v1.HoursFreedom).
enum class hours_freedom : std::uint8_t {
    own,        // a user's own hours replace the company's
    time_zone,  // the company's hours in the user's time zone
    none,       // the company's hours for everyone
};

// What a phone push shows of a message (tern.v1.PushPreview).
enum class push_preview : std::uint8_t { text, sender_only, none };

struct tenant_policy {
    std::optional<work_schedule> hours;  // the company's; none: always at work
    hours_freedom freedom = hours_freedom::own;
    // Who may send urgent (nobody when both are empty), and how many a day each.
    std::vector<std::string> urgent_roles;
    std::vector<storage::user_id> urgent_users;  // ascending
    std::uint32_t urgent_budget = 5;
    push_preview preview = push_preview::text;
    // Unacknowledged urgent messages pushed again every `escalate_after` (0: never), up to
    // `escalate_times` times, the k-th naming escalation_channels[k-1] (the last repeats).
    std::chrono::minutes escalate_after{0};
    std::uint32_t escalate_times = 0;
    std::vector<push::channel> escalation_channels;

    // The channel of the `attempt`-th escalation (1-based).
    [[nodiscard]] push::channel escalation_channel(std::uint32_t attempt) const {
        if (escalation_channels.empty()) return push::channel::push;
        return escalation_channels[std::min<std::size_t>(attempt, escalation_channels.size()) - 1];
    }

    [[nodiscard]] bool may_send_urgent(const requester& who) const;
    // The start of the day `unix_ms` falls on, for the budget: the company's time zone, else UTC.
    [[nodiscard]] std::int64_t budget_day_start(std::int64_t unix_ms) const;
};

[[nodiscard]] boost::system::result<std::shared_ptr<const tenant_policy>, std::string> policy_of(
    const v1::TenantPolicy& policy);
// Stored bytes (put_user_settings of storage::tenant_policy_record) as a policy; null for none.
[[nodiscard]] std::shared_ptr<const tenant_policy> policy_of_stored(
    const std::optional<std::string>& bytes);

// The profile the decision uses: the user's own settings, with the hours that count under the
// tenant's policy (theirs, the company's, or the company's in their time zone). Either may be
// null; the result is null when neither says anything.
[[nodiscard]] std::shared_ptr<const user_profile> in_force(std::shared_ptr<const user_profile> own,
                                                           const tenant_policy* policy);

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

// The decision for one recipient of an event, from what the event says, the conversation's
// mute table when it was decided, and the recipient's profile in force with its hours cache:
// what a device table decides for its online devices and the push desk for the offline ones.
[[nodiscard]] notice_decision decide_for(const event_facts& event, const mute_table* mutes,
                                         storage::user_id user, const user_profile* profile,
                                         hours_cache& hours, std::int64_t now_ms);

}  // namespace tern::core
