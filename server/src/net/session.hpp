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

    // Queues a frame. Past the outbound bounds the connection is closed as a slow consumer and
    // the frame is dropped (the device resyncs from its inbox cursor).
    virtual void send(wire::out_frame frame) = 0;

    // Sends Disconnect{reason, code, message}, flushes and closes.
    virtual void close(v1::DisconnectReason reason, v1::ErrorCode code, std::string message) = 0;
};

// The core: receives every request after the handshake.
class frame_handler {
public:
    virtual ~frame_handler() = default;
    virtual void on_open(const std::shared_ptr<session>& s, const v1::Hello& hello) = 0;
    virtual void on_request(const std::shared_ptr<session>& s, v1::Frame& frame) = 0;
    virtual void on_close(const std::shared_ptr<session>& s) = 0;
};

}  // namespace tern::server::net
