// The checks every store makes before applying an entry, shared so that the RocksDB store and
// the in-memory model refuse exactly the same entries. The effects of applying are written out
// separately in each store on purpose: the model-based test compares two independent writings.
#pragma once

#include <tern/storage/log_entry.hpp>
#include <tern/storage/types.hpp>

namespace tern::storage::detail {

// A conversation id is well formed: a direct one names two non-zero users in order, a group one
// a non-zero group id.
[[nodiscard]] inline bool valid_conv(const conv_id& c) noexcept {
    switch (c.type) {
        case conv_type::direct:
            return c.id != 0 && c.id <= c.peer;
        case conv_type::group:
            return c.id != 0 && c.peer == 0;
    }
    return false;
}

[[nodiscard]] inline bool in_direct_pair(const conv_id& c, user_id u) noexcept {
    return u == c.id || u == c.peer;
}

// A push registration within the field limits (an empty token: a removal).
[[nodiscard]] inline bool valid_push(const set_push_token& e) noexcept {
    const auto& r = e.registration;
    return e.tenant != 0 && r.platform.size() <= max_push_platform_bytes &&
           r.token.size() <= max_push_token_bytes && r.app_id.size() <= max_push_app_id_bytes &&
           e.only_if_token.size() <= max_push_token_bytes &&
           (!r.token.empty() || r.platform.empty());
}

// A scheduled message with its keys and within the field limits.
[[nodiscard]] inline bool valid_scheduled(const put_scheduled& e) noexcept {
    const auto& m = e.message;
    return e.tenant != 0 && m.sender != 0 && m.id != 0 && m.release_at_ms >= 0 &&
           !m.client_msg_id.empty() &&
           m.client_msg_id.size() <= max_scheduled_client_msg_id_bytes &&
           m.content.size() <= max_scheduled_content_bytes;
}

// A mute setting names a known level; a time only with a level that mutes something.
[[nodiscard]] inline bool valid_mute(const mute_setting& m) noexcept {
    if (m.level > notify_level::nothing) return false;
    return m.until_ms >= 0 && (m.level != notify_level::all || m.until_ms == 0);
}

// Checks that need only the entry and the conversation's head (0 if it does not exist).
[[nodiscard]] inline bool valid_append(const append_event& e, seq_t head) noexcept {
    if (e.tenant == 0 || !valid_conv(e.conv) || !e.bytes || e.sender == 0) return false;
    if (e.seq != head + 1) return false;
    if (e.new_name && e.conv.type != conv_type::group) return false;
    if (e.whole_history && e.conv.type != conv_type::group) return false;
    // A recall names an earlier event of the same conversation, and only a recall does.
    if ((e.kind == event_kind::recall) != (e.recalls != 0) || e.recalls > head) return false;
    if (e.urgent && e.kind != event_kind::message) return false;
    for (const auto& m : e.membership) {
        if (m.user == 0) return false;
        if (e.conv.type == conv_type::direct &&
            (!in_direct_pair(e.conv, m.user) || m.new_role != role::member)) {
            return false;
        }
    }
    if (head == 0) {
        // The first event creates the conversation and must bring its members.
        if (e.conv.type == conv_type::group && e.kind != event_kind::group_created) return false;
        if (e.membership.empty()) return false;
    }
    return true;
}

}  // namespace tern::storage::detail
