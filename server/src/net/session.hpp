// What the core sees of a connection, and what a connection asks of the core. Both live on the
// connection's shard: the core calls a session only from that shard's thread.
#pragma once

#include <memory>
#include <string>

#include <tern/wire/frame_codec.hpp>

#include "core/decide.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::server::net {

class session {
public:
    virtual ~session() = default;

    // The authenticated caller, from the token (valid once the handshake is done).
    [[nodiscard]] virtual const core::requester& who() const noexcept = 0;

    // The shard the connection lives on, for life.
    [[nodiscard]] virtual std::size_t shard() const noexcept = 0;

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

    // Sends Disconnect{reason, code, message}, flushes and closes.
    virtual void close(v1::DisconnectReason reason, v1::ErrorCode code, std::string message) = 0;
};

// The core: receives every request after the handshake.
class frame_handler {
public:
    virtual ~frame_handler() = default;
    // After the token is verified and before Welcome is sent: the core registers the device and
    // fills in the Welcome's inbox fields. It must not send from within on_open (the frame would
    // precede the Welcome); work posted to the shard from here runs after it.
    virtual void on_open(const std::shared_ptr<session>& s, const v1::Hello& hello,
                         v1::Welcome& welcome) = 0;
    virtual void on_request(const std::shared_ptr<session>& s, v1::Frame& frame) = 0;
    virtual void on_close(const std::shared_ptr<session>& s) = 0;
};

}  // namespace tern::server::net
