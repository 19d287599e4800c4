// Between the public types (tern/client/types.hpp) and the protocol's messages.
#pragma once

#include <tern/client/error.hpp>
#include <tern/client/types.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::client::detail {

void to_proto(const conv_id& c, v1::ConvId& out);
void to_proto(const content& c, v1::Content& out);
[[nodiscard]] v1::Role to_proto(role r) noexcept;
[[nodiscard]] v1::PresenceStatus to_proto(presence_status s) noexcept;

[[nodiscard]] conv_id from_proto(const v1::ConvId& c) noexcept;
[[nodiscard]] content from_proto(const v1::Content& c);
[[nodiscard]] role from_proto(v1::Role r) noexcept;
[[nodiscard]] event from_proto(const v1::Event& e);
[[nodiscard]] sent from_proto(const v1::SendAck& a);
[[nodiscard]] receipt_update from_proto(const v1::ReceiptUpdate& u);
[[nodiscard]] who_read from_proto(const v1::WhoReadReply& r);
[[nodiscard]] urgent_status from_proto(const v1::UrgentStatus& s);
[[nodiscard]] urgent_acknowledged from_proto(const v1::UrgentAcknowledged& a);
[[nodiscard]] digest from_proto(const v1::Digest& d);
[[nodiscard]] scheduled_message from_proto(const v1::ScheduledMessage& m);
[[nodiscard]] scheduled_update from_proto(const v1::ScheduledUpdate& u);
[[nodiscard]] presence from_proto(const v1::UserPresence& p);
[[nodiscard]] typing from_proto(const v1::Typing& t);
[[nodiscard]] conversation_list from_proto(const v1::ConversationList& l);
[[nodiscard]] history_page from_proto(const v1::HistoryPage& p);
[[nodiscard]] mute_update from_proto(const v1::MuteUpdate& m);
[[nodiscard]] notice from_proto(v1::Notice n) noexcept;
[[nodiscard]] notification_settings from_proto(const v1::NotificationSettings& s);
void to_proto(const notification_settings& s, v1::NotificationSettings& out);
[[nodiscard]] working_hours from_proto(const v1::WorkingHours& w);
[[nodiscard]] group_info from_proto(const v1::GroupInfo& g);
[[nodiscard]] error from_proto(const v1::Error& e);
[[nodiscard]] disconnect_reason from_proto(v1::DisconnectReason r) noexcept;

}  // namespace tern::client::detail
