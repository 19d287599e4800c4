// How a client connects and behaves. Everything has a working default except the endpoints and
// the token provider.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tern/client/executor.hpp>
#include <tern/client/export.hpp>

namespace tern::client {

enum class transport : std::uint8_t { tcp, tls, ws, wss };

struct endpoint {
    client::transport transport = transport::tcp;
    std::string host = "127.0.0.1";
    std::uint16_t port = 7400;
    std::string path = "/";  // WebSocket only

    // "tcp://host:port", "tls://host:port", "ws://host:port/path", "wss://host:port/path".
    // nullopt if it is none of these.
    [[nodiscard]] TERN_CLIENT_API static std::optional<endpoint> parse(const std::string& url);
};

struct tls_options {
    bool verify_peer = true;  // check the server's certificate chain and name
    std::string ca_file;      // PEM bundle to trust; empty: the system's trust store
    std::string server_name;  // the name to verify and to send (SNI); empty: the endpoint's host
};

// Exponential backoff with full jitter: before attempt n the client waits a random time in
// [0, min(max_delay, initial_delay * 2^n)], and at least what the server's Disconnect asked.
struct reconnect_policy {
    std::chrono::milliseconds initial_delay{250};
    std::chrono::milliseconds max_delay{30'000};
};

enum class log_level : std::uint8_t { trace, debug, info, warn, error, off };

enum class platform : std::uint8_t {
    unspecified,
    ios,
    android,
    windows,
    macos,
    linux_desktop,
    web,
    bot
};

// Asked for a token before the first connection and again whenever the server said the token
// expired. Runs on the client's callback executor; may block briefly (a refresh call). An empty
// string means "none now": the client retries after its backoff.
using token_provider = std::function<std::string()>;

// Receives the SDK's log lines (never message bodies or tokens). Called from network threads:
// must be thread-safe and quick.
using log_sink = std::function<void(log_level, const std::string&)>;

struct options {
    std::vector<endpoint> endpoints;  // tried in turn, from the first, on every reconnect
    tls_options tls;
    client::token_provider token_provider;
    // The device this client is. The server takes the device from the token; when this is set a
    // Welcome for another device is refused (a token minted for the wrong device).
    std::uint64_t device_id = 0;
    client::platform platform = platform::unspecified;
    std::string app_version;
    reconnect_policy reconnect;
    // Silence after which a Ping is sent; 0: the interval the server announced in Welcome.
    std::chrono::milliseconds heartbeat{0};
    std::chrono::milliseconds connect_timeout{10'000};  // dial, TLS and WebSocket handshakes
    std::chrono::milliseconds request_timeout{15'000};  // reads and other non-send requests
    // How long a send (or another event-appending request) is retried before it completes with
    // error_code::expired. The server remembers client_msg_ids for 7 days.
    std::chrono::milliseconds send_expiry{std::chrono::hours(24)};
    // Events handed to the app and not yet returned from on_event, beyond which the client stops
    // reading its connection (the server then holds, and past its bounds drops, the rest: the
    // client catches up from its cursor when the app is back). Bounds the client's memory.
    std::size_t max_app_backlog = 2'000;
    // The socket's receive buffer (SO_RCVBUF); 0: the system's, which may grow to megabytes.
    std::size_t socket_receive_buffer = 0;
    // The source address to connect from (e.g. "127.0.0.2"); empty: the system chooses. A load
    // generator spreads connections over several to pass one address's ephemeral port range.
    std::string local_address;
    // Callbacks run here, one at a time per client. Null: one internal thread per client.
    std::shared_ptr<client::executor> executor;
    client::log_sink log_sink;
    client::log_level log_level = log_level::warn;
};

}  // namespace tern::client
