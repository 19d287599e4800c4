// What every connection of a gateway shares: limits, the token verifier, the core.
#pragma once

#include <chrono>
#include <cstdint>

#include <tern/auth/jwt.hpp>

#include "metrics/metrics.hpp"
#include "session.hpp"

namespace tern::server::net {

struct connection_limits {
    std::size_t max_frame_bytes = 64 * 1024;
    std::chrono::milliseconds auth_deadline{10'000};
    std::size_t max_tls_handshakes = 10'000;  // in progress at once, over both TLS listeners
    std::chrono::milliseconds heartbeat_interval{30'000};
    std::chrono::milliseconds idle_timeout{75'000};
    std::size_t outbound_queue_bytes = 1024 * 1024;
    std::size_t outbound_queue_frames = 1000;
    double inbound_frames_per_second = 50;
    double inbound_burst = 200;
    std::uint32_t max_group_members = 10'000;
    std::uint32_t max_content_bytes = 16 * 1024;
    std::uint32_t sync_page_max = 256;
    std::uint32_t recall_window_seconds = 24 * 3600;
    std::uint32_t max_devices_per_user = 10;
    std::uint32_t max_presence_subscriptions = 1'000;  // users one connection follows
    // Group senders get at most one read-count update per conversation per interval.
    std::chrono::milliseconds read_count_interval{1'000};
};

struct connection_settings {
    connection_limits limits;
    const auth::jwt_verifier* verifier = nullptr;
    frame_handler* handler = nullptr;    // null until the core is attached: requests are refused
    server::metrics* metrics = nullptr;  // never null once the gateway is built
};

}  // namespace tern::server::net
