// The values apps exchange with the SDK: conversations, message content, timeline events,
// receipts, presence, conversation lists. Plain structs, copyable, with no protocol types in them;
// docs/protocol.md defines what every field means.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <tern/client/error.hpp>

namespace tern::client {

using user_id = std::uint64_t;
using seq_t = std::uint64_t;

enum class conv_type : std::uint8_t { direct = 1, group = 2 };

// A conversation of the client's tenant. A direct one is named by its two users (smaller first),
// so both sides name it without asking the server; a group by the id the server assigned.
struct conv_id {
    conv_type type = conv_type::direct;
    std::uint64_t id = 0;
    std::uint64_t peer = 0;

    [[nodiscard]] static conv_id direct(user_id a, user_id b) noexcept {
        return {conv_type::direct, a < b ? a : b, a < b ? b : a};
    }
    [[nodiscard]] static conv_id group(std::uint64_t id) noexcept {
        return {conv_type::group, id, 0};
    }
    friend bool operator==(const conv_id&, const conv_id&) = default;
    friend auto operator<=>(const conv_id&, const conv_id&) = default;
};

struct conv_id_hash {
    std::size_t operator()(const conv_id& c) const noexcept {
        std::size_t h = std::hash<std::uint64_t>{}(c.id);
        h ^= std::hash<std::uint64_t>{}(c.peer) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        return h ^ static_cast<std::size_t>(c.type);
    }
};

enum class role : std::uint8_t { member = 1, admin = 2, owner = 3 };

// Bits of content::flags.
enum message_flag : std::uint32_t {
    flag_urgent = 1,     // passes mute and quiet hours, if the tenant's policy lets the sender
    flag_silent = 2,     // no notification on recipients' devices
    flag_no_unread = 4,  // does not count toward unread counts
};

// What a user sends: text, or an app-defined payload (custom_type non-empty).
struct content {
    std::string text;
    std::string custom_type;  // e.g. "image/v1"; empty for text
    std::string custom_data;  // opaque bytes
    std::vector<user_id> mentions;
    bool mention_all = false;
    seq_t reply_to_seq = 0;
    std::uint32_t flags = 0;
    // Why it is urgent: required with flag_urgent (1 to 200 bytes), refused without it.
    std::string urgent_reason;

    [[nodiscard]] static content from_text(std::string text) {
        content c;
        c.text = std::move(text);
        return c;
    }
    // An urgent text (docs/notifications.md, "Urgent messages"): it alerts through mute,
    // do-not-disturb and quiet hours when the tenant's policy lets the sender send urgent, and
    // spends one of the sender's urgent messages for the day.
    [[nodiscard]] static content urgent(std::string text, std::string reason) {
        content c = from_text(std::move(text));
        c.flags = flag_urgent;
        c.urgent_reason = std::move(reason);
        return c;
    }
};

enum class event_kind : std::uint8_t {
    message = 1,
    recall,
    edit,
    group_created,
    members_added,
    members_removed,
    member_left,
    renamed,
    role_changed,
    history_set,  // whole_history says what members added later read
};

struct member {
    user_id user = 0;
    client::role role = role::member;
    seq_t joined_seq = 0;
};

// One entry of a conversation's timeline. The fields a kind does not use stay empty.
// How the device should announce an event (Push.notice, docs/notifications.md): the server's
// decision for this user. unspecified: events read by a sync or after a reconnect (announce
// nothing for them).
enum class notice : std::uint8_t { unspecified = 0, none, silent, alert };

// Which messages of a conversation may notify the user (mute()).
enum class notify_level : std::uint8_t { all = 0, mentions, nothing };

struct event {
    conv_id conv;
    seq_t seq = 0;
    user_id sender = 0;
    std::uint64_t sender_device = 0;
    std::int64_t server_time_ms = 0;
    std::string client_msg_id;
    event_kind kind = event_kind::message;
    client::content content;         // message, edit
    seq_t target_seq = 0;            // recall, edit
    std::string name;                // group_created, renamed
    std::vector<member> members;     // group_created: the first 100 (the owner first)
    std::uint32_t member_count = 0;  // group_created: all members (group_info() lists them)
    bool whole_history = false;      // group_created, history_set: new members read it all
    std::vector<user_id> users;      // members_added, members_removed; role_changed: the one user
    client::role new_role = role::member;         // role_changed
    user_id new_owner = 0;                        // member_left: the new owner when the owner left
    client::notice notice = notice::unspecified;  // live pushes: alert, silent or none
};

// Working hours: a shift on each work day in an IANA time zone (docs/notifications.md).
struct work_hours {
    std::string time_zone = "UTC";
    std::uint8_t work_days = 0b001'1111;  // bit 0 = Monday ... bit 6 = Sunday
    std::string start = "09:00";          // local "HH:MM"
    std::string end = "18:00";            // at or before start: the shift ends the next day
    std::vector<std::string> holidays;    // "YYYY-MM-DD"
};

// The user's own notification settings, the same on all their devices.
struct notification_settings {
    std::int64_t dnd_until_ms = 0;    // do-not-disturb until then (0: off)
    bool notify_off_hours = false;    // alerted outside working hours anyway
    std::optional<work_hours> hours;  // none: always at work
    // Off hours, only these users' urgent messages alert (when limited).
    bool limit_urgent_off_hours = false;
    std::vector<user_id> urgent_off_hours_from;
};

// Whether a user is at work now (working_hours()).
struct working_hours {
    user_id user = 0;
    bool has_hours = false;  // false: no working hours set (always at work)
    bool working = true;
    std::int64_t until_ms = 0;       // when `working` changes (0: never)
    std::int64_t next_start_ms = 0;  // the next shift (0: none within a year)
    std::string time_zone;
};

// The user muted or unmuted a conversation (from any of their devices).
struct mute_update {
    conv_id conv;
    notify_level level = notify_level::all;
    std::int64_t until_ms = 0;  // 0: until changed
};

// A member acknowledged an urgent message (acknowledge_urgent()): told to the sender's devices
// and the member's own.
struct urgent_acknowledged {
    conv_id conv;
    seq_t seq = 0;
    user_id user = 0;
    std::int64_t at_ms = 0;  // when (the server's clock)
};

// A message stored on the server to be released into its conversation later
// (client::schedule_send; docs/notifications.md, "Scheduled messages").
struct scheduled_message {
    std::uint64_t id = 0;
    conv_id conv;
    std::string client_msg_id;  // the released message's
    content body;
    std::int64_t release_at_ms = 0;
    std::int64_t created_ms = 0;
};

// When a scheduled message goes: at a time, or at a member's next work start (at once when they
// are at work).
struct release_time {
    std::int64_t at_ms = 0;        // Unix ms, when `at_work_start_of` is 0
    user_id at_work_start_of = 0;  // a member of the conversation
    [[nodiscard]] static release_time at(std::int64_t unix_ms) { return {unix_ms, 0}; }
    [[nodiscard]] static release_time work_start_of(user_id user) { return {0, user}; }
};

// One of this user's scheduled messages changed, on any of their devices
// (listener::on_scheduled).
struct scheduled_update {
    enum class state : std::uint8_t { scheduled, edited, cancelled, released, failed };
    scheduled_message message;
    enum state what = state::scheduled;
    seq_t seq = 0;         // released: its place in the conversation
    error_code failure{};  // failed: why the server refused to release it
    std::string failure_text;
};

// The work-start digest (listener::on_digest): what reached this user outside their working hours
// (delivered silently then) and was still unread when their work day began. Sent once per work
// start to the user's online devices; the others get it as a push through the relay.
struct digest {
    struct conversation {
        conv_id conv;
        std::uint32_t messages = 0;
        std::uint32_t mentions = 0;
        seq_t last_seq = 0;
    };
    std::uint32_t messages = 0;
    std::uint32_t conversation_count = 0;  // all of them; `conversations` lists at most 50
    std::uint32_t mentions = 0;
    std::vector<conversation> conversations;  // the most recent first
    std::int64_t since_ms = 0;                // when the first of them arrived
};

// Who has acknowledged an urgent message and who not yet (urgent_status()): the members at the
// message, less its sender; both lists ascend by user id.
struct urgent_status {
    conv_id conv;
    seq_t seq = 0;
    user_id sender = 0;
    struct acknowledgement {
        user_id user = 0;
        std::int64_t at_ms = 0;
    };
    std::vector<acknowledgement> acknowledged;
    std::vector<user_id> awaiting;
};

// What SendAck said: where the event landed.
struct sent {
    conv_id conv;
    seq_t seq = 0;
    std::int64_t server_time_ms = 0;
    bool duplicate = false;  // the server had it already (a retry)
};

struct receipt_cursor {
    user_id user = 0;
    seq_t delivered_up_to = 0;
    seq_t read_up_to = 0;
};

struct read_count {
    seq_t seq = 0;
    std::uint32_t read = 0;
    std::uint32_t members = 0;  // members other than the sender
};

// Pushed by the server: in direct chats the peer's cursors; in groups, read counts of messages
// this user sent (coalesced).
struct receipt_update {
    conv_id conv;
    std::vector<receipt_cursor> cursors;
    std::vector<read_count> read_counts;
};

struct who_read {
    conv_id conv;
    seq_t seq = 0;
    std::uint32_t read_count = 0;
    std::uint32_t unread_count = 0;
    std::vector<user_id> read_users;  // with lists only
    std::vector<user_id> unread_users;
};

enum class presence_status : std::uint8_t { offline = 1, online, away, do_not_disturb };

struct presence {
    user_id user = 0;
    presence_status status = presence_status::offline;
    std::string text;
    std::int64_t last_seen_ms = 0;
};

struct typing {
    conv_id conv;
    user_id user = 0;
    bool active = false;
};

struct conversation {
    conv_id conv;
    std::string name;
    seq_t head_seq = 0;
    std::uint64_t unread = 0;
    seq_t read_up_to = 0;
    seq_t delivered_up_to = 0;
    std::int64_t last_event_ms = 0;
    client::role role = role::member;
    std::uint32_t member_count = 0;
    notify_level notify = notify_level::all;  // the user's mute setting, as stored
    std::int64_t mute_until_ms = 0;           // when it reverts to all (0: until changed)
};

struct conversation_list {
    std::vector<conversation> conversations;
    bool has_more = false;
    std::string next_cursor;  // for list_conversations(): where the next page starts
};

struct history_page {
    conv_id conv;
    std::vector<event> events;  // in the requested direction
    seq_t head_seq = 0;
    bool has_more = false;
};

struct group_info {
    conv_id conv;
    std::string name;
    user_id owner = 0;
    std::vector<member> members;  // all of them, ascending user id
    seq_t head_seq = 0;
    std::int64_t created_ms = 0;
    std::uint32_t member_count = 0;
};

enum class connection_state : std::uint8_t {
    connecting,    // dialing, or waiting to redial
    connected,     // Welcome received; events flow
    disconnected,  // not connected; the client will reconnect after a backoff
    stopped,       // not connected and not reconnecting: disconnect() was called, or the server
                   // said not to (kicked, replaced, auth failed, unsupported version)
};

// Why the connection state changed (for `disconnected` and `stopped`).
enum class disconnect_reason : std::uint8_t {
    none,
    network,        // the connection failed or dropped
    client_closed,  // disconnect() was called
    server_draining,
    auth_failed,
    token_expired,  // a new token is asked for before reconnecting
    protocol_error,
    slow_consumer,
    idle_timeout,
    kicked,
    replaced,  // the same device connected elsewhere
    rate_limited,
    unsupported_version,
    server_error,
    too_many_devices,
    token_not_yet_valid,  // the token is ahead of the server's clock; retried later
};

struct state_change {
    connection_state state = connection_state::connecting;
    disconnect_reason reason = disconnect_reason::none;
    std::string message;  // the server's words, or the network error
};

}  // namespace tern::client
