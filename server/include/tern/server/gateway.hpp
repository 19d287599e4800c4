// ternd's gateway: the shards, the listeners and the connections on them.
//
// Built so far: the shards, the TCP listener, connections with the handshake (JWT), heartbeats,
// the auth deadline, the idle timeout, the inbound rate limit and the bounded outbound queue; the
// store and its commit writer; the core (core/service.hpp) serving sends, group operations, acks,
// read marks, sync, history, who-read, conversation lists and group info. TLS and WebSocket
// listeners, recall, edit, presence and typing arrive with the rest of the gateway issue.
//
// Thread safety: construct, start() and stop() from one thread. Start-up errors (unreadable keys,
// an address that cannot be bound) throw std::runtime_error.
#pragma once

#include <cstdint>
#include <memory>

#include <tern/server/config.hpp>

namespace tern::server {

class gateway {
public:
    explicit gateway(const config& cfg);
    ~gateway();
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    void start();
    void stop();

    // The bound port of the TCP listener (useful with port 0); 0 when disabled.
    [[nodiscard]] std::uint16_t tcp_port() const noexcept;
    [[nodiscard]] std::uint16_t ws_port() const noexcept;
    [[nodiscard]] std::uint16_t tls_port() const noexcept;
    [[nodiscard]] std::uint16_t wss_port() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tern::server
