// ternd's configuration: one TOML file, every key overridable by an environment variable
// TERN_<SECTION>__<KEY> and by a flag `--set section.key=value`, in that order of precedence
// (flags > environment > file > defaults). config/ternd.example.toml documents every key.
//
// Loading throws config_error with a message naming the key (start-up only, never on the data
// path). Unknown keys in the file or the environment are not errors: they come back as warnings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tern::server {

class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct auth_key_config {
    std::string kid;
    std::string public_key_file;  // PEM; P-256 (ES256) or Ed25519 (EdDSA)
    std::string hmac_secret;      // HS256, only with auth.allow_hs256
    std::uint64_t tenant = 0;     // 0: any tenant; otherwise the only tenant it signs for
};

struct config {
    struct {
        unsigned shards = 0;  // 0: one per core (at most 256)
        std::string data_dir = "data";
        std::string durability = "fsync";  // fsync | os | memory
        // CPU priority of the store's flushes and compactions: normal | low (nice 19) | idle
        // (SCHED_IDLE; only on a host dedicated to ternd).
        std::string store_background_priority = "low";
        // Every interval, free memory the allocator held above the reserve at both this look and
        // the one before goes back to the OS (after a burst of logins or TLS handshakes); 0
        // never gives it back.
        std::uint32_t heap_release_interval_ms = 5'000;
        std::uint32_t heap_free_reserve_mib = 8;
        // Requests waiting for the commit writer, at most: past it a send, group operation or
        // read mark is refused with a retryable UNAVAILABLE (and counted) rather than queued;
        // Acks are dropped from half of it (the next one covers them).
        std::uint32_t commit_queue_entries = 262'144;
    } server;

    struct {
        // "host:port"; empty disables the listener; port 0 picks a free port.
        std::string tcp = "127.0.0.1:7400";
        std::string tls;
        std::string ws;
        std::string wss;
    } listen;

    struct {
        std::string cert_file;
        std::string key_file;
    } tls;

    struct {
        std::vector<std::string> allowed_origins;  // empty: any Origin
    } websocket;

    struct {
        std::string issuer = "tern-dev";
        std::string audience = "tern";
        bool allow_hs256 = false;
        unsigned max_skew_seconds = 60;
        std::vector<auth_key_config> keys;
    } auth;

    struct {
        std::uint32_t max_frame_bytes = 64 * 1024;
        std::uint32_t auth_deadline_ms = 10'000;
        std::uint32_t max_tls_handshakes = 10'000;
        std::uint32_t heartbeat_interval_ms = 30'000;
        std::uint32_t idle_timeout_ms = 75'000;
        std::uint32_t outbound_queue_bytes = 1024 * 1024;
        std::uint32_t outbound_queue_frames = 1000;
        std::uint32_t inbound_frames_per_second = 50;
        std::uint32_t inbound_burst = 200;
        std::uint32_t max_group_members = 10'000;
        std::uint32_t max_devices_per_user = 10;
        std::uint32_t max_content_bytes = 16 * 1024;
        std::uint32_t sync_page_max = 256;
        std::uint32_t recall_window_seconds = 24 * 3600;
        std::uint32_t max_presence_subscriptions = 1'000;
        std::uint32_t read_count_interval_ms = 1'000;
    } limits;

    struct {
        // The admin HTTP listener (/metrics, /livez, /readyz, /admin/v1/...), "host:port";
        // empty disables it. Keep it on loopback or a private network.
        std::string listen = "127.0.0.1:7480";
        // Bearer token for the routes that change something (drain, kick, log level); empty:
        // those routes are refused. Prefer the environment (TERN_ADMIN__TOKEN) to the file.
        std::string token;
        // A drain (SIGTERM or POST /admin/v1/drain) spreads its clients' reconnects over this.
        std::uint32_t drain_seconds = 30;
    } admin;

    // The gateway cluster (docs/cluster.md). Off: one node on its own store, no NATS.
    struct {
        bool enabled = false;
        // This node's name: its nats-server's server_name (the owner of a partition is the
        // ternd beside the stream's leader).
        std::string node;
        // The NATS servers, this node's own first ("nats://127.0.0.1:4222").
        std::vector<std::string> nats_servers{"nats://127.0.0.1:4222"};
        // ternd's own NATS user (clients never speak NATS); prefer the environment for the
        // password (TERN_CLUSTER__NATS_PASSWORD).
        std::string nats_user;
        std::string nats_password;
        std::uint32_t partitions = 32;  // fixed when the cluster is created
        std::uint32_t replicas = 3;
        std::uint32_t retention_days = 7;  // how long each partition's log keeps entries
        std::uint32_t append_timeout_ms = 2'000;
        // Tenants placed in a partition of the operator's choice: "tenant:partition".
        std::vector<std::string> placements;
    } cluster;
    // The push relay (docs/notifications.md, "Push relays"): pushes for devices that are offline
    // or in the background. An empty url: no pushes.
    struct {
        std::string url;                   // http(s)://host[:port]/path
        std::string contract = "webhook";  // webhook (Tern's signed JSON) | matrix (Sygnal)
        // The webhook's HMAC-SHA256 key, at least 16 characters; prefer the environment
        // (TERN_PUSH__SECRET) to the file.
        std::string secret;
        std::uint32_t timeout_ms = 5'000;  // one post, connect to the answer's last byte
        std::uint32_t concurrency = 4;     // posts open at once
        std::uint32_t queue = 10'000;      // pushes waiting or in flight, at most
        // While a user has a desktop or web device in the foreground, their phones wait this
        // long; a read anywhere meanwhile cancels the push.
        std::uint32_t grace_ms = 60'000;
    } push;
    struct {
        std::string level = "info";   // trace | debug | info | warn | error | off
        std::string format = "text";  // text | json
    } log;
};

struct loaded_config {
    config values;
    std::vector<std::string> warnings;  // unknown keys, with where they came from
};

// Loads defaults, then `file` (if any), then TERN_* variables of `environment`, then `overrides`
// ("section.key=value"), and validates the result.
[[nodiscard]] loaded_config load_config(const std::optional<std::string>& file,
                                        const std::map<std::string, std::string>& environment,
                                        const std::vector<std::string>& overrides);

// The process environment as a map (for load_config).
[[nodiscard]] std::map<std::string, std::string> process_environment();

}  // namespace tern::server
