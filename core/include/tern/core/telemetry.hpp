// What the core reports: counts for metrics, and what it could not do. The core knows nothing of
// Prometheus or logs; the server implements this port (server/src/app/core_telemetry.cpp) with
// its metrics and rate-limited log lines. Every member is called from any thread (the shards and
// the commit writer's threads), must be cheap and must not block.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::core {

// Something the core could not do. Each is answered (an error frame, where a request asked), and
// reported here to be counted and logged.
enum class failure : std::uint8_t {
    commit_failed,       // a commit failed (a full disk, an I/O error): its requests were refused
    commit_queue_full,   // the commit writer's queue was full: a request refused, retryable
    store_read_failed,   // a store read failed: the request refused, retryable, or work skipped
    push_not_framed,     // an event could not be framed for a device (decide() bounds events)
    handover_timed_out,  // a device's earlier connection did not end in time for its next one
    event_too_large,     // a decided event would not fit a frame: refused (the limits prevent it)
};

[[nodiscard]] std::string_view to_string(failure f) noexcept;

// What became of a user's work-start digest (docs/notifications.md, "The work-start digest").
enum class digest_outcome : std::uint8_t {
    sent,      // told at the work start: an online event and/or pushes
    all_read,  // everything it counted was read before the work start: nothing to tell
    dropped,   // forgotten before the work start (the table's bound, a restart loses them all)
};

[[nodiscard]] std::string_view to_string(digest_outcome d) noexcept;

class telemetry {
public:
    virtual ~telemetry() = default;

    // A Send request arrived, before any decision.
    virtual void message_received() = 0;
    // An event was committed for `recipients` users.
    virtual void fanout(std::size_t recipients) = 0;
    // `pushes` pushes of one event on one shard; `since_accepted` from the request's arrival at
    // its owner to the last of them.
    virtual void messages_delivered(std::size_t pushes,
                                    std::chrono::nanoseconds since_accepted) = 0;
    // `detail` says where (a tenant id may appear; never content, tokens or user ids).
    virtual void failed(failure what, std::string_view detail) = 0;
    // A user's work-start digest, once per user and work start.
    virtual void digest(digest_outcome what) = 0;
};

}  // namespace tern::core
