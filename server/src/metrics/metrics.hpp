// ternd's metrics, exposed in the Prometheus text format on the admin listener's /metrics.
//
// Names follow Prometheus conventions: a `tern_` prefix, base units (seconds, bytes), `_total` on
// counters, and no per-user or per-connection labels (cardinality stays fixed whatever the load).
// The recording functions are cheap (an atomic add, or a short lock for histograms) and safe from
// any thread: the shards, the commit writer and the admin thread all record. The Prometheus
// library stays inside metrics.cpp: this header is included by every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tern::server {

enum class transport_kind : std::uint8_t { tcp, tls, ws, wss };

// "tcp", "tls", "ws", "wss".
[[nodiscard]] const char* transport_name(transport_kind t) noexcept;

// Why a connection ended before its handshake completed.
enum class reject_reason : std::uint8_t {
    tls_handshake,      // not TLS, an old version, or too slow
    websocket_upgrade,  // not an upgrade, no tern.v1, a refused Origin, or too slow
    protocol,           // no Hello first, a bad Hello, an unsupported version
    auth,               // the token did not verify (or expired)
    auth_timeout,       // no Hello within the auth deadline
    admission,          // the core refused it (too many devices)
    draining,           // the gateway is draining
};

// Why a frame for a device was not sent.
enum class drop_reason : std::uint8_t {
    reply_too_large,  // a reply did not fit a frame: the request got an INTERNAL error instead
    push_too_large,   // an event did not fit a Push (the core refuses such events: never expected)
    queue_overflow,   // the outbound queue overflowed: the device was closed as a slow consumer
};

struct build_info {
    std::string version;
    std::string build_type;
};

class metrics {
public:
    explicit metrics(const build_info& build);
    ~metrics();
    metrics(const metrics&) = delete;
    metrics& operator=(const metrics&) = delete;

    // ---- connections ----------------------------------------------------------------------
    void accepted(transport_kind t);
    void rejected(reject_reason r);
    // A TLS handshake that completed; `resumed`: on a session ticket this server gave before (no
    // certificate sent, no signature made).
    void tls_handshake(bool resumed);
    void tls_handshakes_in_progress(std::int64_t delta);  // the gauge: +1 accepted, -1 done
    void connection_opened(transport_kind t);             // a connection object lives (the gauge)
    void connection_closed(transport_kind t);
    // A Disconnect sent to a peer, by its DisconnectReason (the protocol enum's value).
    void disconnected(int disconnect_reason);
    void peer_closed();  // the peer went away without a Disconnect from us
    void auth_duration(std::chrono::nanoseconds took);
    void rate_limited();  // one inbound frame refused RATE_LIMITED
    // An Error answer to a request, by its ErrorCode (the protocol enum's value): refused
    // requests, including every attempt to reach another tenant's data (NOT_FOUND, NOT_MEMBER).
    void request_error(int error_code);
    void outbound_queue_bytes(std::int64_t delta);
    // `frames` frames for a device not sent, and why; logged at most once a second per reason.
    void frames_dropped(drop_reason why, std::size_t frames, std::string_view detail);

    // ---- messages -------------------------------------------------------------------------
    void message_received();  // a Send request, before any decision
    // `pushes` pushes of one event to devices of one shard; `since_accepted` from the request's
    // arrival at its owner to the last of them (one counter and one histogram update per batch:
    // a group event reaches hundreds of devices at once).
    void messages_delivered(std::size_t pushes, std::chrono::nanoseconds since_accepted);
    void fanout(std::size_t recipients);  // users an event was assigned to
    // Something the core could not do, by core::failure's name (core/telemetry.hpp).
    void core_failed(std::string_view what);

    // ---- storage --------------------------------------------------------------------------
    void committed(std::size_t entries, std::chrono::nanoseconds took, bool failed);
    void synced(std::chrono::nanoseconds took, bool failed);

    // ---- the cluster (docs/cluster.md) -----------------------------------------------------
    void cluster_owner_changed(bool began);
    // An append to a partition's log: "ok", "fenced" (another writer appended) or "failed".
    void cluster_appended(std::string_view outcome, std::chrono::nanoseconds took);
    void cluster_bus_message(bool inbound);
    void cluster_bus_error(std::string_view why);  // "malformed" or "unsent"
    // A partition as this node last saw it (set before each scrape); `refused`: the stale
    // owners' entries its replica refused since this node started.
    void cluster_partition(std::uint32_t partition, std::uint64_t applied, std::uint64_t last_seq,
                           bool owned, std::uint64_t refused);

    // ---- the push relay (docs/notifications.md, "Push relays") ------------------------------
    // `n` pushes by tern::push::outcome's name: sent, coalesced, cancelled, failed, dropped,
    // retried, token_invalid.
    void push_counted(std::string_view outcome, std::size_t n);
    void push_queue_depth(std::size_t depth);  // set before each scrape
    // A user's work-start digest by core::digest_outcome's name: sent, all_read, dropped.
    void digest(std::string_view outcome);

    // ---- the admin listener ---------------------------------------------------------------
    // One admin HTTP request by the status it was answered with; 0: it could not be parsed
    // (too large, too slow, not HTTP) and was dropped unanswered.
    void admin_request(unsigned status);

    // ---- memory ---------------------------------------------------------------------------
    void heap_released(std::uint64_t bytes);  // free memory the heap keeper gave back to the OS

    // ---- lifecycle ------------------------------------------------------------------------
    void set_draining(bool draining);

    // Live connections, all transports (for /admin/v1/varz).
    [[nodiscard]] std::int64_t connections() const;
    // Frames dropped since start, every reason (tests check it stays 0 where nothing provokes it).
    [[nodiscard]] std::uint64_t frames_dropped_total() const;

    // Everything, plus the standard process_* metrics, in the Prometheus text format 0.0.4.
    [[nodiscard]] std::string scrape() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tern::server
