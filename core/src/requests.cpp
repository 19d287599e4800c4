#include "requests.hpp"

#include <array>

#include "keys.hpp"
#include "schedule_desk.hpp"
#include "settings_desk.hpp"

namespace tern::core {
namespace {

using v1::Frame;
using route = request_route;

const std::string& no_id(const Frame&) {
    static const std::string none;
    return none;
}

decided<storage::append_event> decide_group_creation(const decision_input& in) {
    // The id is derived from (tenant, creator, client_msg_id): a group of that id already made
    // by another request means the id was reused.
    if (in.state.exists) return refusal{v1::CLIENT_MSG_ID_REUSED, "use another client_msg_id"};
    return decide_group_create(in.who, in.frame.group_create(), in.group_id, in.limit, in.now_ms);
}

// clang-format off
const std::array<request_kind, 32> table{{
    {Frame::kSend, route::event, "send",
     [](const Frame& f) { return &f.send().conv(); },
     [](const Frame& f) -> const std::string& { return f.send().client_msg_id(); }, nullptr,
     [](const decision_input& in) {
         return decide_send(in.who, in.frame.send(), in.state, in.limit, in.now_ms);
     }},
    {Frame::kRecall, route::event, "recall",
     [](const Frame& f) { return &f.recall().conv(); },
     [](const Frame& f) -> const std::string& { return f.recall().client_msg_id(); },
     [](const Frame& f) { return storage::seq_t{f.recall().seq()}; },
     [](const decision_input& in) {
         return decide_recall(in.who, in.frame.recall(), in.state, in.target, in.limit,
                              in.now_ms);
     }},
    {Frame::kEdit, route::event, "edit",
     [](const Frame& f) { return &f.edit().conv(); },
     [](const Frame& f) -> const std::string& { return f.edit().client_msg_id(); },
     [](const Frame& f) { return storage::seq_t{f.edit().seq()}; },
     [](const decision_input& in) {
         return decide_edit(in.who, in.frame.edit(), in.state, in.target, in.limit, in.now_ms);
     }},
    {Frame::kGroupCreate, route::event, "group_create", nullptr,
     [](const Frame& f) -> const std::string& { return f.group_create().client_msg_id(); },
     nullptr, decide_group_creation},
    {Frame::kGroupAddMembers, route::event, "group_add_members",
     [](const Frame& f) { return &f.group_add_members().conv(); },
     [](const Frame& f) -> const std::string& { return f.group_add_members().client_msg_id(); },
     nullptr,
     [](const decision_input& in) {
         return decide_add_members(in.who, in.frame.group_add_members(), in.state, in.limit,
                                   in.now_ms);
     }},
    {Frame::kGroupRemoveMembers, route::event, "group_remove_members",
     [](const Frame& f) { return &f.group_remove_members().conv(); },
     [](const Frame& f) -> const std::string& {
         return f.group_remove_members().client_msg_id();
     },
     nullptr,
     [](const decision_input& in) {
         return decide_remove_members(in.who, in.frame.group_remove_members(), in.state,
                                      in.limit, in.now_ms);
     }},
    {Frame::kGroupLeave, route::event, "group_leave",
     [](const Frame& f) { return &f.group_leave().conv(); },
     [](const Frame& f) -> const std::string& { return f.group_leave().client_msg_id(); },
     nullptr,
     [](const decision_input& in) {
         return decide_leave(in.who, in.frame.group_leave(), in.state, in.limit, in.now_ms);
     }},
    {Frame::kGroupRename, route::event, "group_rename",
     [](const Frame& f) { return &f.group_rename().conv(); },
     [](const Frame& f) -> const std::string& { return f.group_rename().client_msg_id(); },
     nullptr,
     [](const decision_input& in) {
         return decide_rename(in.who, in.frame.group_rename(), in.state, in.limit, in.now_ms);
     }},
    {Frame::kGroupSetRole, route::event, "group_set_role",
     [](const Frame& f) { return &f.group_set_role().conv(); },
     [](const Frame& f) -> const std::string& { return f.group_set_role().client_msg_id(); },
     nullptr,
     [](const decision_input& in) {
         return decide_set_role(in.who, in.frame.group_set_role(), in.state, in.limit,
                                in.now_ms);
     }},
    {Frame::kGroupSetHistory, route::event, "group_set_history",
     [](const Frame& f) { return &f.group_set_history().conv(); },
     [](const Frame& f) -> const std::string& { return f.group_set_history().client_msg_id(); },
     nullptr,
     [](const decision_input& in) {
         return decide_set_history(in.who, in.frame.group_set_history(), in.state, in.limit,
                                   in.now_ms);
     }},
    {Frame::kAck, route::ack, "ack", nullptr, no_id},
    {Frame::kMarkRead, route::mark_read, "mark_read",
     [](const Frame& f) { return &f.mark_read().conv(); }, no_id},
    {Frame::kTyping, route::typing, "typing",
     [](const Frame& f) { return &f.typing().conv(); }, no_id},
    {Frame::kMuteConversation, route::mute, "mute_conversation",
     [](const Frame& f) { return &f.mute_conversation().conv(); }, no_id},
    {Frame::kSetNotificationSettings, route::settings, "set_notification_settings", nullptr,
     no_id},
    {Frame::kWorkingHoursRequest, route::working_hours, "working_hours_request", nullptr, no_id},
    {Frame::kRegisterPushToken, route::push_token, "register_push_token", nullptr, no_id},
    {Frame::kSetAppState, route::app_state, "set_app_state", nullptr, no_id},
    {Frame::kGetNotificationSettings, route::query, "get_notification_settings", nullptr, no_id,
     nullptr, nullptr, answer_settings},
    {Frame::kPresenceUpdate, route::presence_update, "presence_update", nullptr, no_id},
    {Frame::kPresenceSubscribe, route::presence_subscribe, "presence_subscribe", nullptr, no_id},
    {Frame::kSync, route::query, "sync", nullptr, no_id, nullptr, nullptr, answer_sync},
    {Frame::kHistory, route::query, "history",
     [](const Frame& f) { return &f.history().conv(); }, no_id, nullptr, nullptr,
     answer_history},
    {Frame::kWhoRead, route::query, "who_read",
     [](const Frame& f) { return &f.who_read().conv(); }, no_id, nullptr, nullptr,
     answer_who_read},
    {Frame::kAcknowledgeUrgent, route::urgent_ack, "acknowledge_urgent",
     [](const Frame& f) { return &f.acknowledge_urgent().conv(); }, no_id},
    {Frame::kUrgentStatusRequest, route::query, "urgent_status_request",
     [](const Frame& f) { return &f.urgent_status_request().conv(); }, no_id, nullptr, nullptr,
     answer_urgent_status},
    {Frame::kListConversations, route::query, "list_conversations", nullptr, no_id, nullptr,
     nullptr, answer_list},
    {Frame::kGroupInfoRequest, route::query, "group_info_request",
     [](const Frame& f) { return &f.group_info_request().conv(); }, no_id, nullptr, nullptr,
     answer_group_info},
    {Frame::kScheduleSend, route::scheduled, "schedule_send", nullptr, no_id},
    {Frame::kEditScheduled, route::scheduled, "edit_scheduled", nullptr, no_id},
    {Frame::kCancelScheduled, route::scheduled, "cancel_scheduled", nullptr, no_id},
    {Frame::kListScheduled, route::query, "list_scheduled", nullptr, no_id, nullptr, nullptr,
     answer_scheduled},
}};
// clang-format on

}  // namespace

request_identity identity_of(const v1::Frame& frame) {
    const auto body = frame.body_case();
    const auto* field = v1::Frame::descriptor()->FindFieldByNumber(body);
    const auto& message = frame.GetReflection()->GetMessage(frame, field);
    std::string bytes;
    message.SerializeToString(&bytes);
    return {static_cast<std::uint8_t>(body), stable_hash{}.feed(bytes).value()};
}

const request_kind* find_request(v1::Frame::BodyCase body) noexcept {
    for (const auto& row : table) {
        if (row.body == body) return &row;
    }
    return nullptr;
}

std::span<const request_kind> request_table() noexcept { return table; }

}  // namespace tern::core
