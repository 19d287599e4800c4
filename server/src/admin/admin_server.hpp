// The admin HTTP listener: Prometheus metrics, health checks and the operator's API, on its own
// thread (a busy shard never delays a health check) and, by default, on loopback.
//
//   GET  /metrics              Prometheus text format
//   GET  /livez                200 while the process serves
//   GET  /readyz               200 when it takes new connections; 503 starting or draining
//   GET  /admin/v1/varz        JSON status: version, uptime, connections, store, limits
//   GET  /admin/v1/connz       JSON page of authenticated connections (?after=ID&limit=N)
//   POST /admin/v1/drain       start a drain (?seconds=N, default admin.drain_seconds)
//   POST /admin/v1/kick        close a user's or a device's connections (?tenant=&user=[&device=])
//   POST /admin/v1/loglevel    set the log level (?level=trace|debug|info|warn|error|off)
//   POST /admin/v1/checkpoint  write a checkpoint of the store (?name=N) beside the data_dir
//   POST /admin/v1/partitions/remove-peer  drop a node's copy of a partition's stream
//                              (?partition=P&peer=NODE; a cluster node)
//   GET  /admin/v1/policy      a tenant's notification policy as JSON (?tenant=T)
//   POST /admin/v1/policy      replace it (?tenant=T; the body: the policy's JSON, {} removes it)
//   GET  /admin/v1/audit       a tenant's urgent messages (?tenant=T[&from_ms=MS][&limit=N])
//
// POST routes need `Authorization: Bearer <admin.token>`; without a configured token they are
// refused (403). The policy and audit routes take the admin token or a tenant admin's JWT (a token
// of that tenant with the `admin` role), which reaches its own tenant only (403 for another).
// Requests are bounded (8 KiB of headers, 64 KiB of body, 10 s to arrive); a bad one gets a 4xx
// answer and is counted, never a crash. A route that asks the shards (connz, kick) or the
// tenant's owner (policy) waits at most 5 s, then answers 503.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tern::server::admin {

// Thrown by a route that cannot answer now (a shard did not answer in time): a 503 with the
// message, and the listener goes on serving.
class unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by a route whose target already exists (a 409 with the message).
class conflict : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by a route whose request body is wrong (a 400 with the message).
class bad_request : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What the routes ask of the gateway. Each runs on the admin thread and may block briefly.
struct routes {
    std::function<std::string()> metrics;
    std::function<std::optional<std::string>()> not_ready;  // nullopt: ready; else why not
    std::function<nlohmann::json()> varz;
    std::function<nlohmann::json(std::uint64_t after_id, std::size_t limit)> connz;
    std::function<nlohmann::json(std::optional<std::uint32_t> seconds)> drain;
    // The number of connections closed.
    std::function<std::size_t(std::uint64_t tenant, std::uint64_t user,
                              std::optional<std::uint64_t> device)>
        kick;
    std::function<bool(const std::string& level)> set_log_level;  // false: not a level
    // Writes a checkpoint of the store named `name` (checked: [A-Za-z0-9_-], at most 64) and
    // returns where; throws admin::conflict when it exists, std::runtime_error when it fails.
    std::function<nlohmann::json(const std::string& name)> checkpoint;
    // The cluster's partitions as this node sees them; empty on a single node (404).
    std::function<nlohmann::json()> partitions;
    // Drops node `peer`'s copy of the partition's stream (JetStream places a fresh one); throws
    // admin::conflict with the reason when it cannot. Empty on a single node (404).
    std::function<nlohmann::json(std::uint32_t partition, const std::string& peer)> remove_peer;
    // The tenant whose administrator bears `token` (a verified JWT with the admin role), or
    // nullopt; empty: no tenant admins (the admin token only).
    std::function<std::optional<std::uint64_t>(std::string_view token)> tenant_admin;
    // A tenant's policy as JSON, and its replacement from a JSON body (throws bad_request for
    // a body that is not a valid policy, unavailable when the owner did not answer in time).
    std::function<nlohmann::json(std::uint64_t tenant)> policy;
    std::function<nlohmann::json(std::uint64_t tenant, const std::string& body)> set_policy;
    // The tenant's audit trail of urgent messages (from a time, at most `limit`) as JSON.
    std::function<nlohmann::json(std::uint64_t tenant, std::int64_t from_ms, std::size_t limit)>
        audit;
    // Told of every request's status (0: malformed and dropped): the metrics.
    std::function<void(unsigned status)> answered;
};

struct request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path and query
    std::string authorization;
    std::string body;
};

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
};

// Answers one request (no sockets: the listener's logic, testable on its own).
[[nodiscard]] response handle(const routes& r, const std::string& token, const request& req);

class admin_server {
public:
    // Binds `address` ("host:port"; port 0 picks one); throws std::runtime_error naming it.
    admin_server(const std::string& address, std::string token, routes r);
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    void start();  // its thread
    void stop();   // closes the listener and every admin connection, joins the thread
    [[nodiscard]] std::uint16_t port() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tern::server::admin
