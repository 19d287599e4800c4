// The gateway's four listeners (TCP, TLS, WebSocket, WebSocket over TLS) and the paths a socket
// takes from accept to a running connection. Acceptors run on shard 0 and hand each socket to the
// next shard (round-robin), for life; there a TLS socket completes its handshake
// (net/tls_socket.hpp), a WebSocket its upgrade (net/ws_upgrade.hpp), both within the auth
// deadline, and a connection (net/connection.hpp) starts.
//
// TLS handshakes in progress are bounded (limits.max_tls_handshakes, over both TLS listeners):
// each holds about 60 KB of OpenSSL state and costs crypto work, so clients that never finish,
// or fail and retry, would otherwise grow ternd's memory without bound (1.1 GB seen with 19,000
// clients failing verification). At the bound each TLS listener holds the socket it accepted
// last, with no TLS state yet, and the kernel's backlog holds the rest.
//
// Threading: start() and ports from the thread that starts the gateway (before the shards run);
// close() from any thread but shard 0's.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "connection_settings.hpp"
#include "log_throttle.hpp"
#include "shard_pool.hpp"
#include "tls_context.hpp"

namespace tern::server::net {

struct listen_addresses {
    std::string tcp, tls, ws, wss;  // "host:port"; empty disables; port 0 picks one
};

class listeners {
public:
    listeners(shard_pool& shards, const connection_settings& settings, const tls_contexts& tls,
              std::vector<std::string> allowed_origins, server::metrics& metrics);
    ~listeners();
    listeners(const listeners&) = delete;
    listeners& operator=(const listeners&) = delete;

    // Binds every configured address (throws std::runtime_error naming the key) and starts
    // accepting on shard 0 (once the shards run).
    void start(const listen_addresses& addresses);
    // Closes every acceptor on shard 0, where they accept, and waits for it: no socket is
    // accepted after this returns. The shards must be running.
    void close();
    // Destroys the acceptors; after the shards stopped.
    void reset();

    // The bound port (useful with port 0); 0 for a disabled listener.
    [[nodiscard]] std::uint16_t port(transport_kind kind) const noexcept;

private:
    class accept_paths;
    std::unique_ptr<accept_paths> paths_;
    std::array<std::unique_ptr<boost::asio::ip::tcp::acceptor>, 4> acceptors_;  // by kind
    shard_pool& shards_;
};

}  // namespace tern::server::net
