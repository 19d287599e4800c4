// Every limit the gateway enforces, in one struct: the [limits] section of the configuration,
// built once from it by the composition root (server/src/app/settings.cpp), and the bounds the
// protocol fixes. The connections and the core read the same object; no layer copies it field
// by field. docs/operations.md lists the configuration keys, docs/protocol.md the fixed bounds.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <tern/wire/token_bucket.hpp>

namespace tern::core {

struct limits {
    // ---- connections -------------------------------------------------------------------------
    std::size_t max_frame_bytes = 64 * 1024;
    std::chrono::milliseconds auth_deadline{10'000};
    std::size_t max_tls_handshakes = 10'000;  // in progress at once, over both TLS listeners
    std::chrono::milliseconds heartbeat_interval{30'000};
    std::chrono::milliseconds idle_timeout{75'000};
    std::size_t outbound_queue_bytes = 1024 * 1024;
    std::size_t outbound_queue_frames = 1000;
    wire::rate_limit inbound{50, 200};  // frames a second sustained, and at once

    // ---- the core ----------------------------------------------------------------------------
    std::uint32_t max_group_members = 10'000;
    std::uint32_t max_content_bytes = 16 * 1024;  // text, or custom type + data
    std::uint32_t sync_page_max = 256;
    std::chrono::seconds recall_window{24 * 3600};  // recall and edit by senders
    std::uint32_t max_devices_per_user = 10;
    std::uint32_t max_presence_subscriptions = 1'000;  // users one connection follows
    // Group senders get at most one read-count update per conversation per interval.
    std::chrono::milliseconds read_count_interval{1'000};
    // While a user has a desktop or web device in the foreground, a push to their other devices
    // waits this long, and a read anywhere meanwhile cancels it (docs/notifications.md).
    std::chrono::milliseconds push_grace{60'000};
    // Users a home shard keeps push registrations and settings of; past it, those with no open
    // connection are forgotten and read again when a message next reaches them.
    std::size_t push_users_cached = 200'000;

    // ---- fixed by the protocol: not configuration keys ---------------------------------------
    std::size_t max_mentions = 100;
    std::size_t max_client_msg_id_bytes = 64;
    std::size_t max_group_name_bytes = 256;
    std::size_t max_users_per_request = 1'000;  // ids in one add/remove request
    std::size_t max_status_text_bytes = 128;
    std::chrono::milliseconds dedup_ttl{std::chrono::hours(24 * 7)};
    // Members a group_created event lists (the owner first); GroupInfo pages give the rest.
    std::size_t created_event_members = 100;
    // Room a frame keeps around one event: the Push envelope, or a page's own fields.
    static constexpr std::size_t event_envelope_bytes = 256;

    // The largest encoded event the owner stores, so that every event fits a Push, and a sync or
    // history page with it alone fits a frame. The configuration keeps every valid request's
    // event within it (docs/operations.md: max_frame_bytes and max_content_bytes).
    [[nodiscard]] std::size_t max_event_bytes() const noexcept {
        return max_frame_bytes - event_envelope_bytes;
    }
};

}  // namespace tern::core
