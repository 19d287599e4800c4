// ternd's gateway, one process: the store and its commit writer, the core (tern::core) behind the
// in-process router, the shards, the four listeners (TCP, TLS, WebSocket, WebSocket over TLS)
// and their connections, the admin listener and the heap keeper, all built from one config.
// The parts and their order are in server/src/app/gateway_parts.hpp.
//
// Thread safety: construct, start() and stop() from one thread; drain(), reload_tls() and the
// observers from any thread. Start-up errors (unreadable keys, an address that cannot be bound,
// a store that cannot be opened) throw std::runtime_error.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <tern/server/config.hpp>

namespace tern::storage {
class store;
}

namespace tern::server {

namespace app {
struct gateway_parts;
}

class gateway {
public:
    explicit gateway(const config& cfg);
    // On a store opened by the caller (server.data_dir is then unused): an embedding, or a test
    // that gives the store a file system that fails on demand.
    gateway(const config& cfg, std::unique_ptr<storage::store> store);
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
    // The admin HTTP listener's port; 0 when disabled (admin.listen empty).
    [[nodiscard]] std::uint16_t admin_port() const noexcept;

    // Starts a drain (SIGTERM, or POST /admin/v1/drain): /readyz fails, the listeners close, new
    // handshakes are refused and connected clients are told to reconnect elsewhere
    // (DISCONNECT_SERVER_DRAINING) in even batches over `window` (default admin.drain_seconds).
    // Idempotent. stop() afterwards flushes what is queued and commits what is pending.
    void drain(std::optional<std::chrono::seconds> window = std::nullopt);
    [[nodiscard]] bool draining() const noexcept;
    // Open connections, every transport (handshakes included).
    [[nodiscard]] std::int64_t connections() const;
    // Frames for devices not sent since the start (tern_frames_dropped_total, every reason).
    [[nodiscard]] std::uint64_t frames_dropped() const;

    // Loads the TLS certificate and key again (SIGHUP): new handshakes use them, established
    // connections keep theirs. Throws std::runtime_error naming the file; the old pair stays.
    void reload_tls(const std::string& cert_file, const std::string& key_file);

private:
    std::unique_ptr<app::gateway_parts> impl_;
};

}  // namespace tern::server
