// The admin listener's routes over the gateway's parts: the JSON of varz and connz, drain, kick,
// the log level, checkpoints, the cluster's partitions and the tenants' notification policies.
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <tern/wire/time.hpp>

#include "app/gateway_parts.hpp"
#include "logging.hpp"
#include "tern/v1/notifications.pb.h"

namespace tern::server::app {
namespace {

std::string shard_late() {
    return "a shard did not answer within " +
           std::to_string(core_admin::default_wait.count() / 1000) +
           " s (busy or stuck): try again; a kick still closes the connections when the shard "
           "gets to it";
}

nlohmann::json varz(gateway_parts& p) {
    const auto stats = p.writer.stats();
    const auto now = wire::unix_ms();
    return {
        {"version", TERN_VERSION},
        {"build_type", TERN_BUILD_TYPE},
        {"pid", ::getpid()},
        {"started_at_ms", p.started_at_ms},
        {"uptime_seconds", (now - p.started_at_ms) / 1000},
        {"ready", p.started && !p.draining},
        {"draining", p.draining.load()},
        {"shards", p.shards.size()},
        {"durability", p.durability},
        {"connections", p.metrics.connections()},
        {"listeners",
         {{"tcp", p.listeners.port(transport_kind::tcp)},
          {"tls", p.listeners.port(transport_kind::tls)},
          {"ws", p.listeners.port(transport_kind::ws)},
          {"wss", p.listeners.port(transport_kind::wss)},
          {"admin", p.admin ? p.admin->port() : 0}}},
        {"store",
         {{"commits", stats.commits},
          {"entries", stats.entries},
          {"failed_commits", stats.failed_commits},
          {"max_batch", stats.max_batch},
          {"syncs", stats.syncs},
          {"refused_full", stats.refused_full}}},
        {"limits",
         {{"max_frame_bytes", p.limits.max_frame_bytes},
          {"outbound_queue_bytes", p.limits.outbound_queue_bytes},
          {"inbound_frames_per_second", p.limits.inbound.per_second},
          {"max_devices_per_user", p.limits.max_devices_per_user},
          {"max_group_members", p.limits.max_group_members}}},
    };
}

nlohmann::json checkpoint(gateway_parts& p, const std::string& name) {
    const auto dir = std::filesystem::path(p.checkpoints) / name;
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) throw admin::conflict(dir.string() + " exists");
    std::filesystem::create_directories(p.checkpoints, ec);
    if (ec) throw std::runtime_error(p.checkpoints + ": " + ec.message());
    const auto started = std::chrono::steady_clock::now();
    if (const auto made = p.store->checkpoint(dir.string()); !made) {
        throw std::runtime_error("checkpoint " + dir.string() + ": " + made.error().message());
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    spdlog::info("admin: checkpoint of the store written to {} in {} ms", dir.string(),
                 took.count());
    return {{"path", dir.string()}, {"milliseconds", took.count()}};
}

nlohmann::json connz(gateway_parts& p, std::uint64_t after, std::size_t limit) {
    // A cluster node's connections are its relayed sessions (the local core serves none).
    auto answer = p.cluster ? p.cluster->devices(after, limit + 1, core_admin::default_wait)
                            : p.admin_core.devices(after, limit + 1);
    if (!answer) throw admin::unavailable(shard_late());
    auto& list = *answer;
    const bool more = list.size() > limit;
    if (more) list.resize(limit);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : list) {
        items.push_back({{"id", c.id},
                         {"session", c.session},
                         {"tenant", c.who.tenant},
                         {"user", c.who.user},
                         {"device", c.who.device},
                         {"transport", c.transport},
                         {"remote", c.remote},
                         {"shard", c.shard},
                         {"connected_at_ms", c.connected_at_ms},
                         {"queued_bytes", c.queued_bytes}});
    }
    nlohmann::json page = {{"connections", items}, {"total", p.metrics.connections()}};
    page["next_after"] = more ? nlohmann::json(list.back().id) : nlohmann::json(nullptr);
    return page;
}

std::size_t kick(gateway_parts& p, std::uint64_t tenant, std::uint64_t user,
                 std::optional<std::uint64_t> device) {
    // On a cluster node the owner of the tenant's partition, wherever it is, knows (and closes)
    // every device of the user.
    const auto kicked = p.cluster ? p.cluster->kick(tenant, user, device, core_admin::default_wait)
                                  : p.admin_core.kick(tenant, user, device);
    if (!kicked) {
        spdlog::warn("admin kick: tenant {} user {}: {}", tenant, user,
                     p.cluster ? "no owner of the tenant's partition answered in time"
                               : "a shard had not answered yet");
        throw admin::unavailable(p.cluster ? "the owner of the tenant's partition did not "
                                             "answer in time (an election?): try again"
                                           : shard_late());
    }
    if (*kicked != 0) {
        spdlog::warn("admin kick: tenant {} user {}{}: {} connection(s) closed", tenant, user,
                     device ? " device " + std::to_string(*device) : std::string(), *kicked);
    }
    return *kicked;
}

// The policy file: the protobuf JSON mapping of tern.v1.TenantPolicy, with the proto's field
// names (docs/notifications.md, "Company policy").
nlohmann::json policy_json(const v1::TenantPolicy& policy) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(policy, &text, options).ok()) {
        throw std::runtime_error("a policy would not print as JSON");
    }
    return nlohmann::json::parse(text);
}

nlohmann::json stored_policy_json(const std::string& encoded) {
    v1::TenantPolicy policy;
    if (!policy.ParseFromString(encoded))
        throw std::runtime_error("a stored policy does not parse");
    return policy_json(policy);
}

v1::TenantPolicy policy_from_json(const std::string& body) {
    if (body.empty()) throw admin::bad_request("the body: the policy as JSON ({} removes it)");
    v1::TenantPolicy policy;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;  // a misspelt field is an error, not a silent default
    const auto parsed = google::protobuf::util::JsonStringToMessage(body, &policy, options);
    if (!parsed.ok()) throw admin::bad_request("not a policy: " + std::string(parsed.message()));
    return policy;
}

std::string owner_late(std::uint64_t tenant) {
    return "the owner of tenant " + std::to_string(tenant) +
           "'s partition did not answer in time (an election?): try again";
}

nlohmann::json read_policy(gateway_parts& p, std::uint64_t tenant) {
    if (p.cluster) {
        const auto read = p.cluster->policy(tenant, core_admin::default_wait);
        if (!read) throw admin::unavailable(owner_late(tenant));
        if (read->outcome.result != core::policy_outcome::status::stored) {
            throw admin::unavailable(read->outcome.message);
        }
        return stored_policy_json(read->bytes);
    }
    const auto stored = p.core.policy(tenant);
    if (!stored) throw admin::unavailable("store read failed (" + stored.error().message() + ")");
    return stored_policy_json(stored->value_or(std::string()));
}

nlohmann::json replace_policy(gateway_parts& p, std::uint64_t tenant, const std::string& body) {
    const auto policy = policy_from_json(body);
    const auto outcome = p.cluster ? p.cluster->set_policy(tenant, policy.SerializeAsString(),
                                                           core_admin::default_wait)
                                   : p.admin_core.set_policy(tenant, policy);
    if (!outcome) {
        throw admin::unavailable(p.cluster ? owner_late(tenant)
                                           : "not durable within 5 s (a slow store?): read the "
                                             "policy back before trying again");
    }
    switch (outcome->result) {
        case core::policy_outcome::status::stored:
            break;
        case core::policy_outcome::status::invalid:
            throw admin::bad_request(outcome->message);
        case core::policy_outcome::status::unavailable:
            throw admin::unavailable(outcome->message);
    }
    return {{"tenant", tenant}, {"policy", policy_json(policy)}};
}

nlohmann::json audit_json(const v1::UrgentAudit& audit) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;  // next_from_ms 0 says "the last page"
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(audit, &text, options).ok()) {
        throw std::runtime_error("an audit page would not print as JSON");
    }
    return nlohmann::json::parse(text);
}

nlohmann::json read_audit(gateway_parts& p, std::uint64_t tenant, std::int64_t from_ms,
                          std::size_t limit) {
    v1::UrgentAudit audit;
    if (p.cluster) {
        const auto read = p.cluster->urgent_audit(tenant, from_ms, limit, core_admin::default_wait);
        if (!read) throw admin::unavailable(owner_late(tenant));
        if (read->outcome.result != core::policy_outcome::status::stored) {
            throw admin::unavailable(read->outcome.message);
        }
        if (!audit.ParseFromString(read->bytes)) throw std::runtime_error("an audit page garbled");
    } else if (!p.core.urgent_audit(tenant, from_ms, limit, audit)) {
        throw admin::unavailable("store read failed; retry");
    }
    return audit_json(audit);
}

}  // namespace

admin::routes admin_routes(gateway_parts& p) {
    admin::routes r;
    r.metrics = [&p] {
        if (p.cluster) {
            for (const auto& part : p.cluster->partitions()) {
                // No lag for a partition this node does not apply.
                p.metrics.cluster_partition(part.partition, part.applied,
                                            part.has_copy ? part.last_seq : part.applied,
                                            part.owner, part.refused);
            }
        }
        if (p.push) p.metrics.push_queue_depth(p.push->depth());
        return p.metrics.scrape();
    };
    r.not_ready = [&p]() -> std::optional<std::string> {
        if (!p.started) return "starting";
        if (p.draining) return "draining";
        if (p.cluster && !p.cluster->ready()) return "catching up with the cluster's partitions";
        return std::nullopt;
    };
    r.varz = [&p] { return varz(p); };
    r.connz = [&p](std::uint64_t after, std::size_t limit) { return connz(p, after, limit); };
    r.drain = [&p](std::optional<std::uint32_t> seconds) {
        const auto window = seconds ? std::chrono::seconds(*seconds) : p.drain_window;
        const bool already = p.draining.load();
        p.drain(window);
        return nlohmann::json{{"draining", true},
                              {"already", already},
                              {"window_seconds", window.count()},
                              {"connections", p.metrics.connections()}};
    };
    r.kick = [&p](std::uint64_t tenant, std::uint64_t user, std::optional<std::uint64_t> device) {
        return kick(p, tenant, user, device);
    };
    r.set_log_level = [](const std::string& level) { return set_log_level(level); };
    if (!p.checkpoints.empty()) {
        r.checkpoint = [&p](const std::string& name) { return checkpoint(p, name); };
    }
    if (p.cluster) {
        r.partitions = [&p] {
            auto list = nlohmann::json::array();
            for (const auto& part : p.cluster->partitions()) {
                list.push_back({{"partition", part.partition},
                                {"leader", part.leader},
                                {"owner", part.owner},
                                {"applied", part.applied},
                                {"last_seq", part.last_seq},
                                {"has_copy", part.has_copy},
                                {"lag", part.has_copy && part.last_seq > part.applied
                                            ? part.last_seq - part.applied
                                            : 0},
                                {"digest", std::to_string(part.digest)},
                                {"stream_current", part.stream_current},
                                {"refused", part.refused},
                                {"halted", part.halted}});
            }
            return nlohmann::json{{"node", p.cluster->name()}, {"partitions", list}};
        };
    }
    if (p.cluster) {
        r.remove_peer = [&p](std::uint32_t partition, const std::string& peer) {
            if (auto refused = p.cluster->remove_peer(partition, peer)) {
                if (!refused->in_time) throw admin::unavailable(refused->why);
                throw admin::conflict(refused->why);
            }
            return nlohmann::json{{"partition", partition}, {"removed", peer}};
        };
    }
    r.tenant_admin = [&p](std::string_view token) -> std::optional<std::uint64_t> {
        const auto claims = p.verifier.verify(token, wire::unix_ms() / 1000);
        if (!claims || !claims->has_role(auth::tenant_admin_role)) return std::nullopt;
        return claims->tenant;
    };
    r.policy = [&p](std::uint64_t tenant) { return read_policy(p, tenant); };
    r.set_policy = [&p](std::uint64_t tenant, const std::string& body) {
        return replace_policy(p, tenant, body);
    };
    r.audit = [&p](std::uint64_t tenant, std::int64_t from_ms, std::size_t limit) {
        return read_audit(p, tenant, from_ms, limit);
    };
    r.answered = [&p](unsigned status) { p.metrics.admin_request(status); };
    return r;
}

}  // namespace tern::server::app
