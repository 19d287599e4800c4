// What a connection tells the core, on the connection's shard. The core (service.hpp) implements
// it; a connection holds a pointer to it.
#pragma once

#include <memory>

#include <tern/core/device_port.hpp>

namespace tern::v1 {
class Frame;
class Hello;
}  // namespace tern::v1

namespace tern::core {

class frame_handler {
public:
    virtual ~frame_handler() = default;

    // The token is verified: the core decides whether the device may connect (the
    // devices-per-user limit, a replaced connection of the same device), fills in the Welcome's
    // inbox fields and answers exactly once, later and on the device's shard:
    // device->admit(welcome) or device->close(). The connection reads nothing more until then;
    // its auth deadline still applies.
    virtual void on_open(const std::shared_ptr<device_port>& device, const v1::Hello& hello,
                         v1::Frame welcome) = 0;

    // A request after the handshake (not Hello, Ping or Disconnect, which the connection
    // handles). The core answers every request that carries a req_id, later or at once.
    virtual void on_request(const std::shared_ptr<device_port>& device, v1::Frame& frame) = 0;

    // Once for every admitted device, when its connection closed (for any reason).
    virtual void on_close(const std::shared_ptr<device_port>& device) = 0;
};

}  // namespace tern::core
