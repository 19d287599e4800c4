#include "app/settings.hpp"

#include <optional>
#include <stdexcept>

namespace tern::server::app {
namespace {

storage::durability durability_of(const config& cfg) {
    if (cfg.server.durability == "os") return storage::durability::os;
    if (cfg.server.durability == "memory") return storage::durability::memory;
    return storage::durability::fsync;
}

storage::background_priority background_priority_of(const config& cfg) {
    const auto& p = cfg.server.store_background_priority;
    if (p == "normal") return storage::background_priority::normal;
    if (p == "idle") return storage::background_priority::idle;
    return storage::background_priority::low;
}

}  // namespace

core::limits limits_of(const config& cfg) {
    const auto& l = cfg.limits;
    core::limits out;
    out.max_frame_bytes = l.max_frame_bytes;
    out.auth_deadline = std::chrono::milliseconds(l.auth_deadline_ms);
    out.max_tls_handshakes = l.max_tls_handshakes;
    out.heartbeat_interval = std::chrono::milliseconds(l.heartbeat_interval_ms);
    out.idle_timeout = std::chrono::milliseconds(l.idle_timeout_ms);
    out.outbound_queue_bytes = l.outbound_queue_bytes;
    out.outbound_queue_frames = l.outbound_queue_frames;
    out.inbound = {static_cast<double>(l.inbound_frames_per_second),
                   static_cast<double>(l.inbound_burst)};
    out.max_group_members = l.max_group_members;
    out.max_content_bytes = l.max_content_bytes;
    out.sync_page_max = l.sync_page_max;
    out.recall_window = std::chrono::seconds(l.recall_window_seconds);
    out.max_devices_per_user = l.max_devices_per_user;
    out.max_presence_subscriptions = l.max_presence_subscriptions;
    out.read_count_interval = std::chrono::milliseconds(l.read_count_interval_ms);
    out.push_grace = std::chrono::milliseconds(cfg.push.grace_ms);
    return out;
}

auth::jwt_verifier::options verifier_options_of(const config& cfg) {
    auth::jwt_verifier::options o;
    o.issuer = cfg.auth.issuer;
    o.audience = cfg.auth.audience;
    o.allow_hs256 = cfg.auth.allow_hs256;
    o.max_skew = std::chrono::seconds(cfg.auth.max_skew_seconds);
    return o;
}

std::vector<auth::jwt_key> load_keys(const config& cfg) {
    std::vector<auth::jwt_key> keys;
    for (const auto& k : cfg.auth.keys) {
        const std::optional<std::uint64_t> tenant =
            k.tenant == 0 ? std::nullopt : std::optional<std::uint64_t>(k.tenant);
        auto key = k.hmac_secret.empty()
                       ? auth::jwt_key::from_public_pem_file(k.kid, k.public_key_file, tenant)
                       : auth::jwt_key::hmac(k.kid, k.hmac_secret, tenant);
        if (!key && key.error() == boost::system::errc::no_such_file_or_directory) {
            throw std::runtime_error("auth.keys." + k.kid + ": cannot read " + k.public_key_file);
        }
        if (!key) {
            throw std::runtime_error("auth.keys." + k.kid +
                                     ": not a P-256 or Ed25519 public key (or a short secret)");
        }
        keys.push_back(std::move(*key));
    }
    return keys;
}

std::unique_ptr<storage::store> open_store(const config& cfg) {
    storage::rocks_options options;
    options.path = cfg.server.data_dir;
    options.background = background_priority_of(cfg);
    auto store = storage::open_rocks_store(options);
    if (!store) {
        throw std::runtime_error("server.data_dir " + cfg.server.data_dir + ": " +
                                 store.error().message());
    }
    return std::move(*store);
}

storage::commit_writer_options writer_options_of(const config& cfg,
                                                 storage::commit_observer observer) {
    storage::commit_writer_options o;
    o.mode = durability_of(cfg);
    o.max_batch_entries = 4096;
    o.max_pending_entries = cfg.server.commit_queue_entries;
    o.observer = std::move(observer);
    return o;
}

cluster::node_settings cluster_settings_of(const config& cfg, server::metrics& m) {
    const auto& k = cfg.cluster;
    cluster::node_settings out;
    out.name = k.node;
    out.nats.servers = k.nats_servers;
    out.nats.user = k.nats_user;
    out.nats.password = k.nats_password;
    out.nats.name = "ternd " + k.node;
    out.log.cluster = "tern";
    out.log.partitions = k.partitions;
    out.log.replicas = static_cast<int>(k.replicas);
    out.log.max_age = std::chrono::hours(24) * k.retention_days;
    out.log.append_timeout = std::chrono::milliseconds(k.append_timeout_ms);
    out.observer.owner_changed = [&m](bool began) { m.cluster_owner_changed(began); };
    out.observer.appended = [&m](cluster::append_status status, std::chrono::nanoseconds took) {
        m.cluster_appended(status == cluster::append_status::ok       ? "ok"
                           : status == cluster::append_status::fenced ? "fenced"
                                                                      : "failed",
                           took);
    };
    out.observer.bus_message = [&m](bool inbound) { m.cluster_bus_message(inbound); };
    out.observer.bus_error = [&m](std::string_view why) { m.cluster_bus_error(why); };
    for (const auto& placement : k.placements) {  // "tenant:partition", checked by the config
        const auto colon = placement.find(':');
        out.placements[std::stoull(placement.substr(0, colon))] =
            static_cast<std::uint32_t>(std::stoul(placement.substr(colon + 1)));
    }
    return out;
}

}  // namespace tern::server::app
