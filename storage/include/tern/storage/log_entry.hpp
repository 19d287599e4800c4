// Log entries: the decisions of a conversation's owner, and what applying them produced.
//
// "Decide, then apply": the owner validates a request, dedups it and assigns the seq; the entry
// carries those decisions. Applying an entry is deterministic: every derived record (inbox entries,
// receipt cursors, unread counters, membership, the reverse index) is computed from the entry and
// the state before it by fixed rules, so any replica applying the same entries in the same order
// reaches the same state. docs/storage.md lists the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <tern/storage/types.hpp>

namespace tern::storage {

// The version of the entry format and of the apply rules; stored with the data. 2 added
// set_mute, put_user_settings and the member record's mute setting; 3 added append_event's
// urgent flag and the urgent index it writes; 4 added ack_urgent and set_push_token; 5 added
// put_scheduled and remove_scheduled. A store of an older version is taken up as it is (its
// records are valid under the newer rules, which only added to them) and stamped with this
// version, after which older builds refuse it.
inline constexpr std::uint32_t log_format_version = 5;

struct membership_change {
    user_id user = 0;
    std::optional<role> new_role;  // nullopt: the user is no longer a member
};

// Append one timeline event (a message, recall, edit or group operation).
struct append_event {
    tenant_id tenant = 0;
    conv_id conv;
    seq_t seq = 0;  // must be head + 1
    user_id sender = 0;
    device_id sender_device = 0;
    std::int64_t server_time_ms = 0;
    event_kind kind = event_kind::message;
    bool counts_unread = false;  // a message others should count as unread
    event_bytes bytes;           // the encoded tern.v1.Event
    std::string client_msg_id;   // empty: no dedup record
    std::int64_t dedup_expires_ms = 0;
    std::uint8_t dedup_kind = 0;  // kept in the dedup record: which request the id named
    std::uint64_t dedup_fingerprint = 0;
    std::vector<membership_change> membership;  // applied before the event is fanned out
    std::optional<std::string> new_name;
    std::optional<bool> whole_history;  // group_created, history_set: the group's new setting
    seq_t recalls = 0;  // kind recall: the event it recalls, which is marked recalled
    // A message sent urgent under the tenant's policy (docs/notifications.md): indexed by time
    // for the tenant's audit trail and its senders' daily budgets (store::urgent_sends).
    bool urgent = false;
};

// A device has everything up to inbox_seq (cumulative).
struct ack_inbox {
    tenant_id tenant = 0;
    user_id user = 0;
    device_id device = 0;
    std::uint64_t inbox_seq = 0;
};

// A user has read a conversation up to seq.
struct mark_read {
    tenant_id tenant = 0;
    conv_id conv;
    user_id user = 0;
    seq_t up_to = 0;
};

// Where a replica stands in a partition's replicated log (the cluster, docs/cluster.md): written
// in the same batch as the entries it covers, so a restarted replica resumes right after the last
// entry it applied, and replicas can compare what they applied. It moves one entry at a time (the
// first is 1): any other sequence fails with errc::invalid_entry, so no entry is ever skipped.
struct log_position {
    std::uint32_t partition = 0;
    std::uint64_t sequence = 0;  // the stream sequence of the last entry applied
    std::uint64_t digest = 0;    // a rolling hash of the entries up to `sequence`
    friend bool operator==(const log_position&, const log_position&) = default;
};

// A member sets how the conversation may notify them (docs/notifications.md). Applies only to a
// member; the member record keeps it until the member changes it or leaves.
struct set_mute {
    tenant_id tenant = 0;
    conv_id conv;
    user_id user = 0;
    mute_setting mute;
};

// A user's notification settings (docs/notifications.md): bytes the core encodes and reads
// (tern.v1.NotificationSettings), kept as they are; empty bytes remove them. At most
// max_settings_bytes. User tenant_policy_record (0, never a user) holds the tenant's own
// notification policy (tern.v1.TenantPolicy) the same way.
struct put_user_settings {
    tenant_id tenant = 0;
    user_id user = 0;
    std::string settings;
};
inline constexpr std::size_t max_settings_bytes = 16 * 1024;
inline constexpr user_id tenant_policy_record = 0;

// A member acknowledged an urgent message (docs/notifications.md, "Acknowledgements"): records,
// or replaces, the time the member acknowledged event `seq`. Applies only to a member and an
// event the conversation has; the owner writes one per member and event (it refuses the rest).
struct ack_urgent {
    tenant_id tenant = 0;
    conv_id conv;
    seq_t seq = 0;
    user_id user = 0;
    std::int64_t at_ms = 0;
};

// A device's push registration (docs/notifications.md, "Push tokens"): how its platform's push
// service reaches it through the relay. An empty token removes it. With `only_if_token` set, the
// entry applies only while the stored token is that one: a token the relay reported dead goes,
// a newer one the device registered meanwhile stays. Refused above the field limits below.
struct set_push_token {
    tenant_id tenant = 0;
    user_id user = 0;
    device_id device = 0;
    push_registration registration;  // its `device` is ignored
    std::string only_if_token;
};
inline constexpr std::size_t max_push_platform_bytes = 64;
inline constexpr std::size_t max_push_token_bytes = 4096;
inline constexpr std::size_t max_push_app_id_bytes = 256;

// A scheduled message, stored or replaced (an edit) under (tenant, message.sender, message.id),
// with its place in the release order moved to its time. Refused without a tenant, sender or id,
// or above the field limits below.
struct put_scheduled {
    tenant_id tenant = 0;
    scheduled_message message;
};
inline constexpr std::size_t max_scheduled_content_bytes = 64 * 1024;
inline constexpr std::size_t max_scheduled_client_msg_id_bytes = 64;

// A scheduled message released or cancelled: gone, with its place in the release order. Applies
// as nothing when there is none.
struct remove_scheduled {
    tenant_id tenant = 0;
    user_id sender = 0;
    std::uint64_t id = 0;
};

using log_entry =
    std::variant<append_event, ack_inbox, mark_read, log_position, set_mute, put_user_settings,
                 ack_urgent, set_push_token, put_scheduled, remove_scheduled>;

struct inbox_assignment {
    user_id user = 0;
    std::uint64_t inbox_seq = 0;
    friend bool operator==(const inbox_assignment&, const inbox_assignment&) = default;
};

struct delivered_change {
    conv_id conv;
    receipt_cursor cursor;          // the user's cursors after the change
    seq_t previous_read_up_to = 0;  // read_up_to before it: events in between gained a reader
    friend bool operator==(const delivered_change&, const delivered_change&) = default;
};

// What applying one entry produced, for the owner to acknowledge and fan out.
struct apply_outcome {
    // append_event: one per recipient (members after the event, and any it removed), ascending.
    std::vector<inbox_assignment> inbox;
    // ack_inbox: conversations whose delivered cursor moved. mark_read: the one cursor, if moved.
    // set_mute, put_user_settings, ack_urgent, set_push_token, put_scheduled, remove_scheduled:
    // nothing (it applied; a set_push_token whose only_if_token no longer matches applies as
    // nothing).
    // append_event: the sender's cursor (sending reads everything up to the event), if a member.
    std::vector<delivered_change> cursors;
};

}  // namespace tern::storage
