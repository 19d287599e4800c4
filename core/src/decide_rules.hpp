// What the owner's decisions share (decide.cpp for messages, decide_group.cpp for groups): the
// refusal builder, roles, the client_msg_id rule, and the event and entry every decision makes.
#pragma once

#include <string>

#include "decide.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core::rules {

using storage::role;

[[nodiscard]] refusal refuse(v1::ErrorCode code, std::string message);
[[nodiscard]] bool is_manager(role r);
[[nodiscard]] v1::Role role_to_proto(role r);
[[nodiscard]] decided<void> check_client_msg_id(const std::string& id, const limits& limits);
// The caller's role in an existing group, or why it has none.
[[nodiscard]] decided<role> group_role(const requester& who, const conv_state& state);
// The parts every event shares.
[[nodiscard]] v1::Event event_for(const requester& who, const storage::conv_id& conv,
                                  storage::seq_t seq, std::int64_t now_ms,
                                  const std::string& client_msg_id);
// The entry for `ev`, with the event encoded once into the bytes every recipient will share.
[[nodiscard]] storage::append_event entry_for(const requester& who, const storage::conv_id& conv,
                                              const v1::Event& ev, storage::event_kind kind,
                                              const limits& limits);

}  // namespace tern::core::rules
