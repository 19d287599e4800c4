// A device's connection as the core sees it: the port the core owns and every transport (TCP,
// TLS, WebSocket, a test's fake) implements. The core calls a port only on the port's shard
// (shard()), the connection's thread for life.
//
// The core hands over frames and committed events; the port frames them its own way (a length
// prefix, or a WebSocket header) and queues them in its bounded outbound queue. Past the bounds a
// port closes itself as a slow consumer and drops what it was given: the device resyncs from its
// inbox cursor, so nothing acked is lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <tern/core/notice.hpp>
#include <tern/core/requester.hpp>
#include <tern/storage/types.hpp>

namespace tern::v1 {
class Frame;
enum ErrorCode : int;
enum DisconnectReason : int;
}  // namespace tern::v1

namespace tern::core {

// A connection as the admin API lists it.
struct device_info {
    std::uint64_t id = 0;
    requester who;
    std::size_t shard = 0;
    std::string transport;             // "tcp", "tls", "ws", "wss"
    std::string remote;                // "address:port"; empty once the socket is closed
    std::int64_t connected_at_ms = 0;  // Unix time
    std::size_t queued_bytes = 0;
    std::string session;  // Welcome.session_id, which users quote in support requests
};

class device_port {
public:
    virtual ~device_port() = default;

    // The authenticated caller, from the token (valid once the handshake is done).
    [[nodiscard]] virtual const requester& who() const noexcept = 0;
    // The shard the connection lives on, for life.
    [[nodiscard]] virtual std::size_t shard() const noexcept = 0;
    // Ascending in the order connections were accepted: of two connections of one device, the
    // later one has the larger id, whatever order their handshakes finish in.
    [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;

    // Completes the handshake the core was asked to decide (frame_handler::on_open): sends the
    // Welcome and starts reading requests. False if the connection closed meanwhile: then it
    // never becomes open and on_close will not be called for it.
    virtual bool admit(const v1::Frame& welcome) = 0;

    // Queues a reply or a notification.
    virtual void send(const v1::Frame& frame) = 0;

    // Queues the push of a committed event: Push{inbox_seq, event, notice}, sharing `event` (the
    // encoded tern.v1.Event, encoded once for every recipient); `notice` is the decision for this
    // recipient (unspecified on catch-up pages). False, with nothing queued, when it does not fit
    // a frame; true when it was queued or the port closed itself as a slow consumer.
    virtual bool push(std::uint64_t inbox_seq, const storage::event_bytes& event,
                      notice announce) = 0;

    // Whether `bytes` more can be queued while staying under half the outbound bounds: a sender
    // that controls its pace (a catch-up from the store) waits rather than overflow the queue.
    [[nodiscard]] virtual bool has_room(std::size_t bytes) const noexcept = 0;
    // Frames queued and not yet written to the device (a cluster gateway tells the owner how
    // far its device read, from this).
    [[nodiscard]] virtual std::size_t queued_frames() const noexcept = 0;
    [[nodiscard]] virtual bool closing() const noexcept = 0;

    // Sends Disconnect{reason, code, message}, flushes and closes.
    virtual void close(v1::DisconnectReason reason, v1::ErrorCode code, std::string message) = 0;

    [[nodiscard]] virtual device_info describe() = 0;
};

}  // namespace tern::core
