// The vocabulary of the store: identifiers, records and the answers of reads.
//
// Everything here is a plain value type with no RocksDB or protobuf type in it. Identifiers are
// numbers; the tenant is part of every key the store writes, so no read or write can reach another
// tenant's data.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tern::storage {

using tenant_id = std::uint64_t;
using user_id = std::uint64_t;
using device_id = std::uint64_t;
using seq_t = std::uint64_t;

enum class conv_type : std::uint8_t { direct = 1, group = 2 };

// A conversation inside a tenant. Direct: (direct, smaller user, larger user), so both users name
// the same conversation. Group: (group, group id, 0). Matches tern.v1.ConvId.
struct conv_id {
    conv_type type = conv_type::group;
    std::uint64_t id = 0;
    std::uint64_t peer = 0;

    [[nodiscard]] static conv_id direct(user_id a, user_id b) noexcept {
        return a <= b ? conv_id{conv_type::direct, a, b} : conv_id{conv_type::direct, b, a};
    }
    [[nodiscard]] static conv_id group(std::uint64_t group_id) noexcept {
        return {conv_type::group, group_id, 0};
    }
    friend auto operator<=>(const conv_id&, const conv_id&) = default;
};

enum class role : std::uint8_t { member = 1, admin = 2, owner = 3 };

// What a timeline event is; the body itself is the encoded tern.v1.Event the store keeps.
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
    history_set,
};

// Encoded tern.v1.Event bytes, immutable and shared: encoded once by the owner, stored, and
// pushed to every recipient without copying.
using event_bytes = std::shared_ptr<const std::string>;

struct stored_event {
    seq_t seq = 0;
    user_id sender = 0;
    std::int64_t server_time_ms = 0;
    event_kind kind = event_kind::message;
    bool counts_unread = false;
    bool recalled = false;  // a later recall event names this one
    event_bytes bytes;
};

// Which of a conversation's messages may notify a member (docs/notifications.md). Matches
// tern.v1.NotifyLevel.
enum class notify_level : std::uint8_t { all = 0, mentions = 1, nothing = 2 };

// A member's mute setting for one conversation: `level` until `until_ms` (Unix ms; 0 = until
// changed), then all.
struct mute_setting {
    notify_level level = notify_level::all;
    std::int64_t until_ms = 0;
    // The level in force at `now_ms`.
    [[nodiscard]] notify_level at(std::int64_t now_ms) const noexcept {
        return until_ms == 0 || now_ms < until_ms ? level : notify_level::all;
    }
    friend bool operator==(const mute_setting&, const mute_setting&) = default;
};

struct member_record {
    user_id user = 0;
    role member_role = role::member;
    seq_t joined_seq = 0;  // the event that added the member
    mute_setting mute;     // set by the member alone
    friend bool operator==(const member_record&, const member_record&) = default;
};

struct conv_meta {
    conv_id conv;
    seq_t head_seq = 0;           // the newest seq; 0 before the first event
    std::uint64_t countable = 0;  // events so far that count toward unread
    std::uint32_t member_count = 0;
    user_id owner = 0;  // groups only
    std::string name;   // groups only
    std::int64_t created_ms = 0;
    std::int64_t last_event_ms = 0;
    bool whole_history = false;  // groups: members read what was said before they joined
    friend bool operator==(const conv_meta&, const conv_meta&) = default;
};

// Receipt cursors of one user in one conversation. Both are monotone and never beyond the head;
// delivered_up_to >= read_up_to always.
struct receipt_cursor {
    user_id user = 0;
    seq_t delivered_up_to = 0;
    seq_t read_up_to = 0;
    friend bool operator==(const receipt_cursor&, const receipt_cursor&) = default;
};

// A member with its cursors: read counts of many events in one pass over a conversation.
struct member_cursor {
    member_record member;
    receipt_cursor cursor;
    friend bool operator==(const member_cursor&, const member_cursor&) = default;
};

// One entry of a user's inbox, with the event it points at.
struct inbox_item {
    std::uint64_t inbox_seq = 0;
    conv_id conv;
    seq_t seq = 0;
    event_bytes bytes;  // null if the event is no longer stored
};

// A page of a user's inbox with its head, read at one point in time: what a device that resumes
// from `after` needs first.
struct inbox_page {
    std::uint64_t head = 0;   // the newest inbox_seq (0 when the inbox is empty)
    std::uint64_t after = 0;  // where the page starts: min(after asked, head)
    std::vector<inbox_item> items;
};

// What a client_msg_id named: the request's kind and a fingerprint of its content (both chosen
// by the core; the store keeps them), and the event it produced. Records written before kinds
// were kept read back with kind 0 and fingerprint 0.
struct dedup_record {
    conv_id conv;
    seq_t seq = 0;
    std::int64_t expires_ms = 0;
    std::uint8_t kind = 0;
    std::uint64_t fingerprint = 0;
    friend bool operator==(const dedup_record&, const dedup_record&) = default;
};

// An urgent message in the tenant's index (append_event::urgent): when, who, which event.
struct urgent_send {
    std::int64_t time_ms = 0;
    conv_id conv;
    seq_t seq = 0;
    user_id sender = 0;
    friend bool operator==(const urgent_send&, const urgent_send&) = default;
};

// Where a device's push service reaches it (set_push_token): the platform ("apns", "fcm" or a
// relay's own name), the platform's token, the app.
struct push_registration {
    device_id device = 0;
    std::string platform;
    std::string token;
    std::string app_id;
    friend bool operator==(const push_registration&, const push_registration&) = default;
};

// A message stored to be released into its conversation later (put_scheduled;
// docs/notifications.md, "Scheduled messages"). Its id is unique per (tenant, sender).
struct scheduled_message {
    user_id sender = 0;
    std::uint64_t id = 0;
    conv_id conv;
    std::string client_msg_id;  // the released message's
    std::string content;        // tern.v1.Content, serialized
    std::int64_t release_at_ms = 0;
    std::int64_t created_ms = 0;
    friend bool operator==(const scheduled_message&, const scheduled_message&) = default;
};

// Where a scheduled message waits in the release order of every tenant (store::scheduled_due).
struct scheduled_ref {
    std::int64_t release_at_ms = 0;
    tenant_id tenant = 0;
    user_id sender = 0;
    std::uint64_t id = 0;
    friend auto operator<=>(const scheduled_ref&, const scheduled_ref&) = default;
};

// A member's acknowledgement of an urgent message (ack_urgent).
struct urgent_ack {
    user_id user = 0;
    std::int64_t at_ms = 0;
    friend bool operator==(const urgent_ack&, const urgent_ack&) = default;
};

// "Who has acknowledged urgent seq N": the members who were members at N, excluding N's
// sender, split by whether they acknowledged it. A member who acknowledged and left since is
// not listed. Both lists ascend by user id.
struct urgent_roll {
    std::vector<urgent_ack> acknowledged;
    std::vector<user_id> awaiting;
    friend bool operator==(const urgent_roll&, const urgent_roll&) = default;
};

// "Who has read seq N": computed from the cursors of the members who were members at N,
// excluding N's sender. Both lists ascend by user id.
struct who_read {
    std::vector<user_id> read;
    std::vector<user_id> unread;
    friend bool operator==(const who_read&, const who_read&) = default;
};

// A line of a user's conversation list.
struct conv_summary {
    conv_meta meta;
    role member_role = role::member;
    receipt_cursor cursor;
    std::uint64_t unread = 0;  // countable events after read_up_to
    mute_setting mute;         // the user's own setting for the conversation
    friend bool operator==(const conv_summary&, const conv_summary&) = default;
};

// A place in a user's conversation list, which is ordered newest activity first, then by
// conversation (so that equal times still have one order): a page continues after it.
struct conv_position {
    std::int64_t last_event_ms = 0;
    conv_id conv;
    friend bool operator==(const conv_position&, const conv_position&) = default;

    [[nodiscard]] static conv_position of(const conv_meta& m) noexcept {
        return {m.last_event_ms, m.conv};
    }
    // Whether `a` comes before `b` in the list.
    [[nodiscard]] static bool before(const conv_position& a, const conv_position& b) noexcept {
        if (a.last_event_ms != b.last_event_ms) return a.last_event_ms > b.last_event_ms;
        return a.conv < b.conv;
    }
};

// A page of a user's conversation list.
struct conv_summary_page {
    std::vector<conv_summary> items;
    bool has_more = false;  // more after the last item
};

enum class direction : std::uint8_t { forward, backward };

// How durable a commit is before it is acknowledged. See docs/storage.md for what each survives.
enum class durability : std::uint8_t {
    fsync,   // written and synced (group commit): survives power loss
    os,      // written to the OS: survives a process crash, not power loss
    memory,  // no write-ahead log: survives nothing (tests and benches only)
};

}  // namespace tern::storage
