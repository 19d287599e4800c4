// The notification decision: whether a delivered event may interrupt its recipient, as a pure
// function of what the event says and what the recipient set (docs/notifications.md holds the
// same rules as a table; tests/unit/core/notice_rules_test.cpp has a case per row).
//
// Delivery and interruption are separate: every event is delivered whatever this decides. The
// decision only says how the recipient's devices announce it: with sound or banner (`alert`),
// by a badge and list update only (`silent`), or not at all (`none`).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <tern/core/notice.hpp>
#include <tern/storage/types.hpp>

namespace tern::core {

// The row of the table that decided: the docs name each, and the work-start digest will count
// one of them (off_hours).
enum class notice_reason : std::uint8_t {
    own_event,        // the recipient sent it (their other devices)
    not_a_message,    // a recall, an edit, a group change: the list changes, nobody is called
    urgent,           // an urgent message the tenant's policy lets through to this recipient
    sender_silenced,  // the sender flagged it silent
    muted,            // the recipient muted the conversation
    not_mentioned,    // muted to mentions only, and this does not mention them
    no_unread,        // flagged not to count as unread (bots, system notices)
    do_not_disturb,   // the recipient is in do-not-disturb
    off_hours,        // outside the recipient's working hours (counted for their digest)
    mentioned,        // mentions the recipient (or everyone)
    message,          // an ordinary message
};

struct notice_decision {
    notice level = notice::none;
    notice_reason why = notice_reason::message;
    friend bool operator==(const notice_decision&, const notice_decision&) = default;
};

// What the event says, the same for every recipient (built once per event).
struct event_facts {
    storage::user_id sender = 0;
    bool is_message = false;  // event_kind::message; everything else is a change to the list
    std::uint32_t flags = 0;  // tern.v1.MessageFlag bits
    bool mentions_all = false;
    std::span<const storage::user_id> mentions;  // ascending
};

// Bits of event_facts::flags (tern.v1.MessageFlag).
inline constexpr std::uint32_t flag_urgent = 1;
inline constexpr std::uint32_t flag_silent = 2;
inline constexpr std::uint32_t flag_no_unread = 4;

// Where the recipient stands when the event reaches them.
struct recipient_facts {
    storage::user_id user = 0;
    storage::notify_level mute = storage::notify_level::all;  // in force now
    bool do_not_disturb = false;
    bool working = true;            // inside their working hours now
    bool notify_off_hours = false;  // they asked to be notified outside working hours anyway
    // The event is urgent and the tenant's policy lets its sender reach this recipient urgently
    // (the owner checked the sender, the reason and the budget when it accepted the send).
    bool urgent_allowed = false;
};

// The table, first matching row wins (docs/notifications.md, "The decision").
[[nodiscard]] notice_decision decide_notice(const event_facts& event,
                                            const recipient_facts& recipient) noexcept;

// The members of a conversation who muted it (to mentions or to nothing), ascending by user:
// kept by the conversation's owner, shared by every delivery decided while it was in force.
using mute_table = std::vector<std::pair<storage::user_id, storage::mute_setting>>;

// `user`'s setting in `table` (not muted when absent or when there is no table).
[[nodiscard]] storage::mute_setting mute_of(const mute_table* table,
                                            storage::user_id user) noexcept;

// The table with `user`'s setting replaced (a default setting removes the user); null when the
// result is empty.
[[nodiscard]] std::shared_ptr<const mute_table> with_mute(const mute_table* table,
                                                          storage::user_id user,
                                                          const storage::mute_setting& mute);

// What an event says for the decision, kept with its delivery (event_facts points into it).
struct notice_basis {
    storage::user_id sender = 0;
    bool is_message = false;
    std::uint32_t flags = 0;
    bool mentions_all = false;
    std::vector<storage::user_id> mentions;   // ascending, no repeats
    std::shared_ptr<const mute_table> mutes;  // the conversation's, when the event was decided

    [[nodiscard]] event_facts facts() const noexcept {
        return {sender, is_message, flags, mentions_all, mentions};
    }
};

}  // namespace tern::core
