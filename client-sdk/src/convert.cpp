#include "convert.hpp"

#include "tern/v1/events.pb.h"

namespace tern::client::detail {

void to_proto(const conv_id& c, v1::ConvId& out) {
    out.set_type(c.type == conv_type::group ? v1::CONV_TYPE_GROUP : v1::CONV_TYPE_DIRECT);
    out.set_id(c.id);
    out.set_peer(c.peer);
}

void to_proto(const content& c, v1::Content& out) {
    if (c.custom_type.empty()) {
        out.set_text(c.text);
    } else {
        out.mutable_custom()->set_type(c.custom_type);
        out.mutable_custom()->set_data(c.custom_data);
    }
    for (auto u : c.mentions) out.add_mentions(u);
    out.set_mention_all(c.mention_all);
    out.set_reply_to_seq(c.reply_to_seq);
    out.set_flags(c.flags);
    out.set_urgent_reason(c.urgent_reason);
}

v1::Role to_proto(role r) noexcept { return static_cast<v1::Role>(static_cast<int>(r)); }

v1::PresenceStatus to_proto(presence_status s) noexcept {
    switch (s) {
        case presence_status::online:
            return v1::PRESENCE_ONLINE;
        case presence_status::away:
            return v1::PRESENCE_AWAY;
        case presence_status::do_not_disturb:
            return v1::PRESENCE_DO_NOT_DISTURB;
        case presence_status::offline:
            return v1::PRESENCE_OFFLINE;
    }
    return v1::PRESENCE_STATUS_UNSPECIFIED;
}

conv_id from_proto(const v1::ConvId& c) noexcept {
    return {c.type() == v1::CONV_TYPE_GROUP ? conv_type::group : conv_type::direct, c.id(),
            c.peer()};
}

content from_proto(const v1::Content& c) {
    content out;
    if (c.has_custom()) {
        out.custom_type = c.custom().type();
        out.custom_data = c.custom().data();
    } else {
        out.text = c.text();
    }
    out.mentions.assign(c.mentions().begin(), c.mentions().end());
    out.mention_all = c.mention_all();
    out.reply_to_seq = c.reply_to_seq();
    out.flags = c.flags();
    out.urgent_reason = c.urgent_reason();
    return out;
}

role from_proto(v1::Role r) noexcept {
    switch (r) {
        case v1::ROLE_ADMIN:
            return role::admin;
        case v1::ROLE_OWNER:
            return role::owner;
        default:
            return role::member;
    }
}

namespace {

member member_of(const v1::Member& m) {
    return {m.user_id(), detail::from_proto(m.role()), m.joined_seq()};
}

}  // namespace

event from_proto(const v1::Event& e) {
    event out;
    out.conv = from_proto(e.conv());
    out.seq = e.seq();
    out.sender = e.sender();
    out.sender_device = e.sender_device();
    out.server_time_ms = e.server_time_ms();
    out.client_msg_id = e.client_msg_id();
    switch (e.body_case()) {
        case v1::Event::kMessage:
            out.kind = event_kind::message;
            out.content = from_proto(e.message().content());
            break;
        case v1::Event::kRecall:
            out.kind = event_kind::recall;
            out.target_seq = e.recall().target_seq();
            break;
        case v1::Event::kEdit:
            out.kind = event_kind::edit;
            out.target_seq = e.edit().target_seq();
            out.content = from_proto(e.edit().content());
            break;
        case v1::Event::kGroupCreated:
            out.kind = event_kind::group_created;
            out.name = e.group_created().name();
            for (const auto& m : e.group_created().members()) out.members.push_back(member_of(m));
            out.member_count = e.group_created().member_count();
            out.whole_history = e.group_created().history() == v1::HISTORY_WHOLE;
            break;
        case v1::Event::kMembersAdded:
            out.kind = event_kind::members_added;
            out.users.assign(e.members_added().user_ids().begin(),
                             e.members_added().user_ids().end());
            break;
        case v1::Event::kMembersRemoved:
            out.kind = event_kind::members_removed;
            out.users.assign(e.members_removed().user_ids().begin(),
                             e.members_removed().user_ids().end());
            break;
        case v1::Event::kMemberLeft:
            out.kind = event_kind::member_left;
            out.new_owner = e.member_left().new_owner();
            break;
        case v1::Event::kRenamed:
            out.kind = event_kind::renamed;
            out.name = e.renamed().name();
            break;
        case v1::Event::kRoleChanged:
            out.kind = event_kind::role_changed;
            out.users = {e.role_changed().user_id()};
            out.new_role = from_proto(e.role_changed().role());
            break;
        case v1::Event::kHistorySet:
            out.kind = event_kind::history_set;
            out.whole_history = e.history_set().history() == v1::HISTORY_WHOLE;
            break;
        default:
            break;
    }
    return out;
}

sent from_proto(const v1::SendAck& a) {
    return {from_proto(a.conv()), a.seq(), a.server_time_ms(), a.duplicate()};
}

receipt_update from_proto(const v1::ReceiptUpdate& u) {
    receipt_update out;
    out.conv = from_proto(u.conv());
    for (const auto& c : u.cursors()) {
        out.cursors.push_back({c.user_id(), c.delivered_up_to(), c.read_up_to()});
    }
    for (const auto& r : u.read_counts())
        out.read_counts.push_back({r.seq(), r.read(), r.members()});
    return out;
}

who_read from_proto(const v1::WhoReadReply& r) {
    who_read out;
    out.conv = from_proto(r.conv());
    out.seq = r.seq();
    out.read_count = r.read_count();
    out.unread_count = r.unread_count();
    out.read_users.assign(r.read_users().begin(), r.read_users().end());
    out.unread_users.assign(r.unread_users().begin(), r.unread_users().end());
    return out;
}

urgent_status from_proto(const v1::UrgentStatus& s) {
    urgent_status out;
    out.conv = from_proto(s.conv());
    out.seq = s.seq();
    out.sender = s.sender();
    for (const auto& a : s.acknowledged()) out.acknowledged.push_back({a.user_id(), a.at_ms()});
    out.awaiting.assign(s.awaiting().begin(), s.awaiting().end());
    return out;
}

urgent_acknowledged from_proto(const v1::UrgentAcknowledged& a) {
    return {from_proto(a.conv()), a.seq(), a.user_id(), a.at_ms()};
}

digest from_proto(const v1::Digest& d) {
    digest out;
    out.messages = d.messages();
    out.conversation_count = d.conversation_count();
    out.mentions = d.mentions();
    out.since_ms = d.since_ms();
    for (const auto& c : d.conversations()) {
        out.conversations.push_back(
            {from_proto(c.conv()), c.messages(), c.mentions(), c.last_seq()});
    }
    return out;
}

scheduled_message from_proto(const v1::ScheduledMessage& m) {
    return {m.schedule_id(),         from_proto(m.conv()), m.client_msg_id(),
            from_proto(m.content()), m.release_at_ms(),    m.created_ms()};
}

scheduled_update from_proto(const v1::ScheduledUpdate& u) {
    scheduled_update out;
    out.message = from_proto(u.scheduled());
    switch (u.state()) {
        case v1::SCHEDULED_STATE_EDITED:
            out.what = scheduled_update::state::edited;
            break;
        case v1::SCHEDULED_STATE_CANCELLED:
            out.what = scheduled_update::state::cancelled;
            break;
        case v1::SCHEDULED_STATE_RELEASED:
            out.what = scheduled_update::state::released;
            break;
        case v1::SCHEDULED_STATE_FAILED:
            out.what = scheduled_update::state::failed;
            break;
        default:
            out.what = scheduled_update::state::scheduled;
            break;
    }
    out.seq = u.seq();
    out.failure = static_cast<error_code>(u.error_code());
    out.failure_text = u.error();
    return out;
}

presence from_proto(const v1::UserPresence& p) {
    presence out;
    out.user = p.user_id();
    switch (p.status()) {
        case v1::PRESENCE_ONLINE:
            out.status = presence_status::online;
            break;
        case v1::PRESENCE_AWAY:
            out.status = presence_status::away;
            break;
        case v1::PRESENCE_DO_NOT_DISTURB:
            out.status = presence_status::do_not_disturb;
            break;
        default:
            out.status = presence_status::offline;
    }
    out.text = p.status_text();
    out.last_seen_ms = p.last_seen_ms();
    return out;
}

typing from_proto(const v1::Typing& t) { return {from_proto(t.conv()), t.user_id(), t.typing()}; }

conversation_list from_proto(const v1::ConversationList& l) {
    conversation_list out;
    for (const auto& c : l.conversations()) {
        out.conversations.push_back(
            {from_proto(c.conv()), c.name(), c.head_seq(), c.unread(), c.read_up_to(),
             c.delivered_up_to(), c.last_event_ms(), from_proto(c.role()), c.member_count(),
             static_cast<notify_level>(
                 c.notify() <= v1::NOTIFY_LEVEL_NOTHING ? c.notify() : v1::NOTIFY_LEVEL_ALL),
             c.mute_until_ms()});
    }
    out.has_more = l.has_more();
    out.next_cursor = l.next_cursor();
    return out;
}

mute_update from_proto(const v1::MuteUpdate& m) {
    mute_update out;
    out.conv = from_proto(m.conv());
    out.level = m.level() >= v1::NOTIFY_LEVEL_ALL && m.level() <= v1::NOTIFY_LEVEL_NOTHING
                    ? static_cast<notify_level>(m.level())
                    : notify_level::all;
    out.until_ms = m.until_ms();
    return out;
}

notice from_proto(v1::Notice n) noexcept {
    return n >= v1::NOTICE_UNSPECIFIED && n <= v1::NOTICE_ALERT ? static_cast<notice>(n)
                                                                : notice::unspecified;
}

notification_settings from_proto(const v1::NotificationSettings& s) {
    notification_settings out;
    out.dnd_until_ms = s.dnd_until_ms();
    out.notify_off_hours = s.notify_off_hours();
    out.limit_urgent_off_hours = s.limit_urgent_off_hours();
    out.urgent_off_hours_from.assign(s.urgent_off_hours_from().begin(),
                                     s.urgent_off_hours_from().end());
    if (s.has_hours()) {
        const auto& h = s.hours();
        out.hours =
            work_hours{h.time_zone(), static_cast<std::uint8_t>(h.work_days() & 0x7f), h.start(),
                       h.end(), std::vector<std::string>(h.holidays().begin(), h.holidays().end())};
    }
    return out;
}

void to_proto(const notification_settings& s, v1::NotificationSettings& out) {
    out.set_dnd_until_ms(s.dnd_until_ms);
    out.set_notify_off_hours(s.notify_off_hours);
    out.set_limit_urgent_off_hours(s.limit_urgent_off_hours);
    for (const auto u : s.urgent_off_hours_from) out.add_urgent_off_hours_from(u);
    if (!s.hours) return;
    auto& h = *out.mutable_hours();
    h.set_time_zone(s.hours->time_zone);
    h.set_work_days(s.hours->work_days);
    h.set_start(s.hours->start);
    h.set_end(s.hours->end);
    for (const auto& day : s.hours->holidays) h.add_holidays(day);
}

working_hours from_proto(const v1::WorkingHours& w) {
    return {w.user_id(),  w.has_hours(),     w.working(),
            w.until_ms(), w.next_start_ms(), w.time_zone()};
}

history_page from_proto(const v1::HistoryPage& p) {
    history_page out;
    out.conv = from_proto(p.conv());
    for (const auto& e : p.events()) out.events.push_back(from_proto(e));
    out.head_seq = p.head_seq();
    out.has_more = p.has_more();
    return out;
}

group_info from_proto(const v1::GroupInfo& g) {
    group_info out;
    out.conv = from_proto(g.conv());
    out.name = g.name();
    out.owner = g.owner();
    for (const auto& m : g.members()) out.members.push_back(member_of(m));
    out.head_seq = g.head_seq();
    out.created_ms = g.created_ms();
    out.member_count = g.member_count();
    return out;
}

error from_proto(const v1::Error& e) {
    return {static_cast<error_code>(e.code()), e.message(), e.retryable()};
}

disconnect_reason from_proto(v1::DisconnectReason r) noexcept {
    switch (r) {
        case v1::DISCONNECT_CLIENT_CLOSED:
            return disconnect_reason::client_closed;
        case v1::DISCONNECT_SERVER_DRAINING:
            return disconnect_reason::server_draining;
        case v1::DISCONNECT_AUTH_FAILED:
            return disconnect_reason::auth_failed;
        case v1::DISCONNECT_TOKEN_EXPIRED:
            return disconnect_reason::token_expired;
        case v1::DISCONNECT_PROTOCOL_ERROR:
            return disconnect_reason::protocol_error;
        case v1::DISCONNECT_SLOW_CONSUMER:
            return disconnect_reason::slow_consumer;
        case v1::DISCONNECT_IDLE_TIMEOUT:
            return disconnect_reason::idle_timeout;
        case v1::DISCONNECT_KICKED:
            return disconnect_reason::kicked;
        case v1::DISCONNECT_REPLACED:
            return disconnect_reason::replaced;
        case v1::DISCONNECT_RATE_LIMITED:
            return disconnect_reason::rate_limited;
        case v1::DISCONNECT_UNSUPPORTED_VERSION:
            return disconnect_reason::unsupported_version;
        case v1::DISCONNECT_TOO_MANY_DEVICES:
            return disconnect_reason::too_many_devices;
        case v1::DISCONNECT_TOKEN_NOT_YET_VALID:
            return disconnect_reason::token_not_yet_valid;
        default:
            return disconnect_reason::server_error;
    }
}

}  // namespace tern::client::detail
