// What the core sees of a connection, and what a connection asks of the core. Both live on the
// connection's shard: the core calls a session only from that shard's thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <tern/wire/frame_codec.hpp>

#include "core/decide.hpp"
#include "metrics/metrics.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::server::net {

// A connection as the admin API lists it.
struct session_info {
    std::uint64_t id = 0;
    core::requester who;
    std::size_t shard = 0;
    transport_kind transport = transport_kind::tcp;
    std::string remote;                // "address:port"; empty once the socket is closed
    std::int64_t connected_at_ms = 0;  // Unix time
    std::size_t queued_bytes = 0;
};

class session {
public:
    virtual ~session() = default;

    // The authenticated caller, from the token (valid once the handshake is done).
    [[nodiscard]] virtual const core::requester& who() const noexcept = 0;

    // The shard the connection lives on, for life.
    [[nodiscard]] virtual std::size_t shard() const noexcept = 0;

    // Ascending in the order connections were accepted: of two connections of one device, the
    // later one has the larger id, whatever order their handshakes finish in.
    [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;

    // How this connection delimits frames (stream for TCP and TLS, message for WebSocket).
    [[nodiscard]] virtual wire::framing framing() const noexcept = 0;

    // Queues a frame. Past the outbound bounds the connection is closed as a slow consumer and
    // the frame is dropped (the device resyncs from its inbox cursor).
    virtual void send(wire::out_frame frame) = 0;
    // Encodes and queues a frame, the same way.
    virtual void send(const v1::Frame& frame) = 0;

    // Whether a frame of `bytes` can be queued while staying under half the outbound bounds:
    // senders that control their pace (a catch-up from the store) wait rather than overflow.
    [[nodiscard]] virtual bool has_room(std::size_t bytes) const noexcept = 0;
    [[nodiscard]] virtual bool closing() const noexcept = 0;

    [[nodiscard]] virtual session_info describe() = 0;

    // Sends Disconnect{reason, code, message}, flushes and closes.
    virtual void close(v1::DisconnectReason reason, v1::ErrorCode code, std::string message) = 0;

    // Completes the handshake the core was asked to decide (frame_handler::on_open): sends the
    // Welcome and starts reading requests. False if the connection closed meanwhile: then it
    // never becomes open and on_close will not be called for it.
    virtual bool admit(const v1::Frame& welcome) = 0;
};

// The next connection id (process-wide, ascending).
inline std::uint64_t next_connection_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

// The core: receives every request after the handshake.
class frame_handler {
public:
    virtual ~frame_handler() = default;
    // The token is verified: the core decides whether the device may connect (the devices-per-user
    // limit, a replaced connection of the same device), fills in the Welcome's inbox fields and
    // answers exactly once, later and on the session's shard: s->admit(welcome) or s->close().
    // The connection reads nothing more until then; the auth deadline still applies.
    virtual void on_open(const std::shared_ptr<session>& s, const v1::Hello& hello,
                         v1::Frame welcome) = 0;
    virtual void on_request(const std::shared_ptr<session>& s, v1::Frame& frame) = 0;
    // Once for every admitted session, when it closed (for any reason).
    virtual void on_close(const std::shared_ptr<session>& s) = 0;
};

}  // namespace tern::server::net
