// The owner's decisions, as pure functions: given who asks, what they ask and the conversation's
// current state, either the log entry to apply (with the encoded tern.v1.Event, encoded once) or
// the protocol error to answer. No I/O, no clocks, no shared state: the conversation's owner
// (conversation_owner.hpp) calls these with its cached state, then commits the entry
// (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <boost/system/result.hpp>

#include <tern/core/limits.hpp>
#include <tern/core/requester.hpp>
#include <tern/storage/log_entry.hpp>

#include "tern/v1/errors.pb.h"
#include "tern/v1/groups.pb.h"
#include "tern/v1/messaging.pb.h"

namespace tern::core {

// Content.urgent_reason: required with MESSAGE_FLAG_URGENT, at most this long.
inline constexpr std::size_t max_urgent_reason_bytes = 200;

// What the owner knows of a conversation when it decides.
struct conv_state {
    storage::conv_id conv;
    bool exists = false;
    storage::seq_t head = 0;
    std::map<storage::user_id, storage::role> members;
    storage::user_id owner = 0;
};

// What the owner knows of the event a recall or edit names.
struct target_event {
    bool exists = false;
    storage::user_id sender = 0;
    std::int64_t server_time_ms = 0;
    storage::event_kind kind = storage::event_kind::message;
    bool recalled = false;  // recalled already, or a recall of it is in flight
};

// Whether a stored event is a message sent urgent (MESSAGE_FLAG_URGENT): what may be
// acknowledged (docs/notifications.md, "Acknowledgements"). Decodes the event's bytes.
[[nodiscard]] bool is_urgent_message(const storage::stored_event& e);

// A refusal: the code to answer with and a message for logs (never containing content).
struct refusal {
    v1::ErrorCode code;
    std::string message;
};

template <class T>
using decided = boost::system::result<T, refusal>;

// Lets decided<T>::value() throw (tests and tools only; the core checks results instead).
[[noreturn]] void throw_exception_from_error(const refusal& r, const boost::source_location& loc);

// Whether `who` is one of the two users of direct conversation `conv`.
[[nodiscard]] inline bool is_party(const requester& who, const storage::conv_id& conv) noexcept {
    return conv.type == storage::conv_type::direct &&
           (who.user == conv.id || who.user == conv.peer);
}

// Maps the protocol's ConvId to the store's, refusing malformed ids.
[[nodiscard]] decided<storage::conv_id> to_conv_id(const v1::ConvId& id);
void to_proto(const storage::conv_id& c, v1::ConvId& out);

// What a message's content must be whatever the conversation: one body, within the size and
// mention limits, a reason exactly when urgent. (The owner checks the rest against the
// conversation: mentions of members, mention_all, reply_to_seq.)
[[nodiscard]] decided<void> check_content_shape(const v1::Content& content, const limits& limits);

// Every decision needs `now_ms`, the owner's clock, which becomes the event's server time.
[[nodiscard]] decided<storage::append_event> decide_send(const requester& who,
                                                         const v1::SendRequest& req,
                                                         const conv_state& state,
                                                         const limits& limits, std::int64_t now_ms);

// Group creation: `group_id` is assigned by the caller (unique per tenant).
[[nodiscard]] decided<storage::append_event> decide_group_create(const requester& who,
                                                                 const v1::GroupCreate& req,
                                                                 std::uint64_t group_id,
                                                                 const limits& limits,
                                                                 std::int64_t now_ms);
[[nodiscard]] decided<storage::append_event> decide_add_members(const requester& who,
                                                                const v1::GroupAddMembers& req,
                                                                const conv_state& state,
                                                                const limits& limits,
                                                                std::int64_t now_ms);
[[nodiscard]] decided<storage::append_event> decide_remove_members(
    const requester& who, const v1::GroupRemoveMembers& req, const conv_state& state,
    const limits& limits, std::int64_t now_ms);
[[nodiscard]] decided<storage::append_event> decide_leave(const requester& who,
                                                          const v1::GroupLeave& req,
                                                          const conv_state& state,
                                                          const limits& limits,
                                                          std::int64_t now_ms);
[[nodiscard]] decided<storage::append_event> decide_rename(const requester& who,
                                                           const v1::GroupRename& req,
                                                           const conv_state& state,
                                                           const limits& limits,
                                                           std::int64_t now_ms);
// Recall: by the sender within the recall window, by a group's owner or admins at any time.
[[nodiscard]] decided<storage::append_event> decide_recall(
    const requester& who, const v1::RecallRequest& req, const conv_state& state,
    const target_event& target, const limits& limits, std::int64_t now_ms);
// Edit: by the sender within the recall window, of a message not recalled.
[[nodiscard]] decided<storage::append_event> decide_edit(const requester& who,
                                                         const v1::EditRequest& req,
                                                         const conv_state& state,
                                                         const target_event& target,
                                                         const limits& limits, std::int64_t now_ms);
// What members added later read of the history: by owners and admins.
[[nodiscard]] decided<storage::append_event> decide_set_history(const requester& who,
                                                                const v1::GroupSetHistory& req,
                                                                const conv_state& state,
                                                                const limits& limits,
                                                                std::int64_t now_ms);
[[nodiscard]] decided<storage::append_event> decide_set_role(const requester& who,
                                                             const v1::GroupSetRole& req,
                                                             const conv_state& state,
                                                             const limits& limits,
                                                             std::int64_t now_ms);

}  // namespace tern::core
