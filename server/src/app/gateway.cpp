// The gateway's life: built from the configuration (gateway_parts), started, drained, stopped.
#include <tern/server/gateway.hpp>

#include <filesystem>

#include <spdlog/spdlog.h>

#include <tern/wire/time.hpp>

#include "app/gateway_parts.hpp"
#include "app/settings.hpp"

namespace tern::server {

namespace app {

namespace {

storage::commit_observer commit_observer_of(server::metrics& m) {
    return {[&m](std::size_t entries, std::chrono::nanoseconds took, bool failed) {
                m.committed(entries, took, failed);
            },
            [&m](std::chrono::nanoseconds took, bool failed) { m.synced(took, failed); }};
}

std::unique_ptr<cluster::node> cluster_node_of(const config& cfg, gateway_parts& p) {
    if (!cfg.cluster.enabled) return nullptr;
    auto settings = cluster_settings_of(cfg, p.metrics);
    settings.pushes = p.push.get();
    return std::make_unique<cluster::node>(std::move(settings), p.router, *p.store, p.writer,
                                           p.limits, p.telemetry);
}

std::string checkpoints_of(const config& cfg) {
    if (cfg.server.data_dir.empty()) return {};
    auto dir = std::filesystem::path(cfg.server.data_dir).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();  // "data/" names "data"
    return dir.string() + ".checkpoints";
}

}  // namespace

gateway_parts::gateway_parts(const config& cfg, std::unique_ptr<storage::store> given)
    : metrics({TERN_VERSION, TERN_BUILD_TYPE}),
      limits(limits_of(cfg)),
      shards(cfg.server.shards),
      verifier(verifier_options_of(cfg), load_keys(cfg)),
      store(given ? std::move(given) : open_store(cfg)),
      writer(*store, writer_options_of(cfg, commit_observer_of(metrics))),
      push(push_link_of(cfg, metrics, *store)),
      core(router, *store, commits, limits, telemetry, core::system_clock(), push.get()),
      cluster(cluster_node_of(cfg, *this)),
      settings{&limits, &verifier,
               cluster ? &cluster->gateway() : static_cast<core::frame_handler*>(&core), &metrics},
      listeners(shards, settings, tls, cfg.websocket.allowed_origins, metrics),
      addresses{cfg.listen.tcp, cfg.listen.tls, cfg.listen.ws, cfg.listen.wss},
      admin_address(cfg.admin.listen),
      admin_token(cfg.admin.token),
      checkpoints(checkpoints_of(cfg)),
      drain_window(std::chrono::seconds(cfg.admin.drain_seconds)),
      durability(cfg.server.durability),
      heap(std::chrono::milliseconds(cfg.server.heap_release_interval_ms),
           std::uint64_t{cfg.server.heap_free_reserve_mib} << 20,
           [this](std::uint64_t bytes) { metrics.heap_released(bytes); }) {
    if (!addresses.tls.empty() || !addresses.wss.empty()) {
        tls.load(cfg.tls.cert_file, cfg.tls.key_file);
    }
    if (push && cluster) {
        push->forget_with(
            [node = cluster.get()](auto tenant, auto user, auto device, const std::string& token) {
                node->forget_push_token(tenant, user, device, token);
            });
    } else if (push) {
        push->forget_with(
            [core = &core](auto tenant, auto user, auto device, const std::string& token) {
                core->forget_push_token(tenant, user, device, token);
            });
    }
}

void gateway_parts::drain(std::chrono::seconds window) {
    if (draining.exchange(true)) return;
    spdlog::warn("draining: listeners closed, {} connection(s) told to reconnect over {} s",
                 metrics.connections(), window.count());
    metrics.set_draining(true);
    listeners.close();
    if (cluster) {
        cluster->drain(window);
    } else {
        core.drain(window);
    }
}

}  // namespace app

gateway::gateway(const config& cfg) : impl_(std::make_unique<app::gateway_parts>(cfg, nullptr)) {}

gateway::gateway(const config& cfg, std::unique_ptr<storage::store> store)
    : impl_(std::make_unique<app::gateway_parts>(cfg, std::move(store))) {}

gateway::~gateway() { stop(); }

void gateway::start() {
    auto& p = *impl_;
    p.listeners.start(p.addresses);
    p.shards.start();
    if (p.cluster) p.cluster->start();
    // Before the admin thread starts: varz reads it there.
    p.started_at_ms = wire::unix_ms();
    if (!p.admin_address.empty()) {
        p.admin = std::make_unique<admin::admin_server>(p.admin_address, p.admin_token,
                                                        app::admin_routes(p));
        p.admin->start();
    }
    p.started = true;
}

void gateway::stop() {
    if (!impl_) return;
    auto& p = *impl_;
    if (p.admin) p.admin->stop();      // its routes wait on the shards: before them
    if (p.cluster) p.cluster->stop();  // its terms end on the shards: before them
    p.shards.stop();
    p.writer.stop();             // commits what is pending; its completions only post
    if (p.push) p.push->stop();  // nothing submits any more
    // In `os` mode acked data may still be in the OS's cache only: a clean stop syncs it.
    if (const auto synced = p.store->sync(); !synced) {
        spdlog::error("syncing the store at stop failed: {}", synced.error().message());
    }
    p.listeners.reset();
}

std::uint16_t gateway::tcp_port() const noexcept {
    return impl_->listeners.port(transport_kind::tcp);
}
std::uint16_t gateway::ws_port() const noexcept {
    return impl_->listeners.port(transport_kind::ws);
}
std::uint16_t gateway::tls_port() const noexcept {
    return impl_->listeners.port(transport_kind::tls);
}
std::uint16_t gateway::wss_port() const noexcept {
    return impl_->listeners.port(transport_kind::wss);
}
std::uint16_t gateway::admin_port() const noexcept {
    return impl_->admin ? impl_->admin->port() : 0;
}

void gateway::drain(std::optional<std::chrono::seconds> window) {
    impl_->drain(window.value_or(impl_->drain_window));
}

bool gateway::draining() const noexcept { return impl_->draining; }

std::int64_t gateway::connections() const { return impl_->metrics.connections(); }

std::uint64_t gateway::frames_dropped() const { return impl_->metrics.frames_dropped_total(); }

void gateway::reload_tls(const std::string& cert_file, const std::string& key_file) {
    if (impl_->addresses.tls.empty() && impl_->addresses.wss.empty()) return;
    impl_->tls.load(cert_file, key_file);
}

}  // namespace tern::server
