// The composition root: every part of a gateway, built from the configuration in dependency
// order and destroyed in reverse. The public face is tern::server::gateway (gateway.hpp); the
// admin listener's routes read these parts (admin_routes.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <tern/auth/jwt.hpp>
#include <tern/cluster/node.hpp>
#include <tern/core/service.hpp>
#include <tern/server/config.hpp>
#include <tern/storage/commit_writer.hpp>

#include "admin/admin_server.hpp"
#include "app/core_admin.hpp"
#include "app/core_telemetry.hpp"
#include "app/push_link.hpp"
#include "heap_keeper.hpp"
#include "metrics/metrics.hpp"
#include "net/connection_settings.hpp"
#include "net/listeners.hpp"
#include "net/shard_pool.hpp"
#include "net/shard_router.hpp"
#include "net/tls_context.hpp"

namespace tern::server::app {

struct gateway_parts {
    gateway_parts(const config& cfg, std::unique_ptr<storage::store> given);

    // Starts a drain (idempotent): readiness fails, the listeners close, the core tells every
    // device to reconnect elsewhere over `window`.
    void drain(std::chrono::seconds window);

    // Destroyed in reverse: connections (with the shards' contexts) go last, after the core, the
    // writer and the store; gateway::stop() has already stopped the shards and drained the
    // writer. The metrics outlive them all (connections count themselves out as they go).
    server::metrics metrics;
    core::limits limits;  // the one limits object: the connections and the core read it
    net::shard_pool shards;
    net::shard_router router{shards};
    auth::jwt_verifier verifier;
    std::unique_ptr<storage::store> store;
    storage::commit_writer writer;
    core::writer_commit_port commits{writer};
    core_telemetry telemetry{metrics};
    // The push relay (push.url; null: none). Before the core, which pushes through it; stopped
    // by gateway::stop() once nothing submits any more.
    std::unique_ptr<push_link> push;
    core::service core;
    core_admin admin_core{core};
    // A cluster node (cluster.enabled): the connections talk to it instead of `core`, which then
    // serves nothing.
    std::unique_ptr<cluster::node> cluster;
    net::connection_settings settings;
    net::tls_contexts tls;
    net::listeners listeners;
    net::listen_addresses addresses;
    std::string admin_address;
    std::string admin_token;
    // Where POST /admin/v1/checkpoint writes: beside the store, "<data_dir>.checkpoints" (the
    // same file system, so table files are hard links); empty for a memory store.
    std::string checkpoints;
    std::chrono::seconds drain_window;
    std::string durability;
    std::unique_ptr<admin::admin_server> admin;
    heap_keeper heap;
    std::atomic<bool> started{false};
    std::atomic<bool> draining{false};
    std::int64_t started_at_ms = 0;
};

// The admin listener's routes (/metrics, health, varz, connz, drain, kick, log level) over the
// gateway's parts.
[[nodiscard]] admin::routes admin_routes(gateway_parts& parts);

}  // namespace tern::server::app
