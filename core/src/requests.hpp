// The request table: every request a device may send after its handshake, in one place, with
// what the core does with it, the conversation it names, its client_msg_id, and the function that
// decides or answers it. The facade dispatches through it and the conversation owner decides
// through it; adding a request is adding a row here (and its decide_* or answer_* function).
//
// Not in the table: Hello, Ping and Disconnect (the connection handles them) and the bodies only
// a server sends (Welcome, Push, SendAck, pages...), which the core refuses as UNKNOWN_REQUEST
// and closes the connection for, like every 1xx error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <tern/core/limits.hpp>
#include <tern/core/requester.hpp>

#include "decide.hpp"
#include "queries.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::core {

// Where a request goes.
enum class request_route : std::uint8_t {
    query,               // answered on the device's shard from the store (queries.hpp)
    event,               // appends a timeline event: the conversation's owner decides
    ack,                 // a device's cumulative Ack, applied by the commit writer
    mark_read,           // a read mark, applied by the commit writer
    typing,              // relayed by the conversation's owner to the members online
    presence_update,     // the device's own status, aggregated on the user's home shard
    presence_subscribe,  // follow users' presence, registered on their home shards
    mute,                // a member's setting, kept by the conversation's owner
    settings,            // the caller's notification settings, committed from the device's shard
    working_hours,       // whether a user is at work now: answered on the device's shard
    urgent_ack,          // a member acknowledges an urgent message, at the conversation's owner
    push_token,          // the device's push registration, committed from the device's shard
    app_state,           // the device's app in the foreground or not: its user's home shard
    scheduled,           // schedule, edit or cancel a scheduled message: the sender's home shard
};

// What the owner decides from.
struct decision_input {
    const requester& who;
    const v1::Frame& frame;
    const conv_state& state;
    const target_event& target;  // recall and edit: the event named (empty for others)
    std::uint64_t group_id;      // group creation: the id derived from the request
    const limits& limit;
    std::int64_t now_ms;
};

struct request_kind {
    v1::Frame::BodyCase body;
    request_route route;
    std::string_view name;  // the body's field name, for logs
    // The conversation the request names; null when none does (group creation, presence).
    const v1::ConvId* (*conv)(const v1::Frame&) = nullptr;
    // event: the client_msg_id that dedups it.
    const std::string& (*client_msg_id)(const v1::Frame&) = nullptr;
    // event, recall and edit: the seq of the event they name.
    storage::seq_t (*target_seq)(const v1::Frame&) = nullptr;
    // event: the decision.
    decided<storage::append_event> (*decide)(const decision_input&) = nullptr;
    // query: the answer.
    query_answer answer = nullptr;
};

// What a client_msg_id names: one request, by its kind (the Frame body's field number, which the
// protocol never reuses) and a fingerprint of the whole body (conversation, content, target,
// members...). A retry sends the same body, so it has the same identity; the same id on any other
// request is CLIENT_MSG_ID_REUSED. Kept in the dedup record, so it must not change across
// versions: it hashes the body's serialization, which protobuf keeps in field-number order.
struct request_identity {
    std::uint8_t kind = 0;
    std::uint64_t fingerprint = 0;
    friend bool operator==(const request_identity&, const request_identity&) = default;
};

[[nodiscard]] request_identity identity_of(const v1::Frame& frame);

// The row for `body`, or null for a body that is not a request the core serves.
[[nodiscard]] const request_kind* find_request(v1::Frame::BodyCase body) noexcept;

// Every row (tests check the table against the protocol's bodies).
[[nodiscard]] std::span<const request_kind> request_table() noexcept;

}  // namespace tern::core
