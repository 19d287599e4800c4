#include <tern/server/config.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <type_traits>

#include <toml++/toml.h>

extern char** environ;

namespace tern::server {
namespace {

// One configuration key: how to set it from text (environment, flags) and from the file.
struct key_spec {
    std::string name;  // "section.key"
    std::function<void(config&, std::string_view)> from_text;
    std::function<void(config&, const toml::node&)> from_toml;
};

[[noreturn]] void fail(const std::string& key, const std::string& why) {
    throw config_error(key + ": " + why);
}

template <class T>
T parse_unsigned(const std::string& key, std::string_view text) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
        fail(key, "expected a non-negative integer, got '" + std::string(text) + "'");
    }
    if (v > std::numeric_limits<T>::max()) fail(key, "too large");
    return static_cast<T>(v);
}

bool parse_bool(const std::string& key, std::string_view text) {
    if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "0" || text == "no" || text == "off") return false;
    fail(key, "expected true or false, got '" + std::string(text) + "'");
}

std::vector<std::string> parse_list(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = std::min(text.find(',', start), text.size());
        auto item = text.substr(start, comma - start);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
            item.remove_prefix(1);
        }
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
            item.remove_suffix(1);
        }
        if (!item.empty()) out.emplace_back(item);
        start = comma + 1;
    }
    return out;
}

// A key_spec for the field `get` returns, by the field's type.
template <class Get>
key_spec make_key(std::string name, Get get) {
    using T = std::remove_reference_t<decltype(get(std::declval<config&>()))>;
    key_spec spec;
    spec.name = name;
    spec.from_text = [name, get](config& c, std::string_view text) {
        auto& field = get(c);
        if constexpr (std::is_same_v<T, std::string>) {
            field = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
            field = parse_bool(name, text);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            field = parse_list(text);
        } else {
            field = parse_unsigned<T>(name, text);
        }
    };
    spec.from_toml = [name, get](config& c, const toml::node& node) {
        auto& field = get(c);
        if constexpr (std::is_same_v<T, std::string>) {
            const auto v = node.value<std::string>();
            if (!v) fail(name, "expected a string");
            field = *v;
        } else if constexpr (std::is_same_v<T, bool>) {
            const auto v = node.value<bool>();
            if (!v) fail(name, "expected true or false");
            field = *v;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            const auto* array = node.as_array();
            if (!array) fail(name, "expected an array of strings");
            field.clear();
            for (const auto& item : *array) {
                const auto v = item.value<std::string>();
                if (!v) fail(name, "expected an array of strings");
                field.push_back(*v);
            }
        } else {
            const auto* integer = node.as_integer();
            if (!integer) fail(name, "expected an integer");
            const auto v = integer->get();
            if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) {
                fail(name, "out of range");
            }
            field = static_cast<T>(v);
        }
    };
    return spec;
}

const std::vector<key_spec>& keys() {
    static const std::vector<key_spec> all = [] {
        std::vector<key_spec> k;
        k.push_back(make_key(
            "server.shards", [](config & c) -> auto& { return c.server.shards; }));
        k.push_back(make_key(
            "server.data_dir", [](config & c) -> auto& { return c.server.data_dir; }));
        k.push_back(make_key(
            "server.durability", [](config & c) -> auto& { return c.server.durability; }));
        k.push_back(make_key(
            "server.store_background_priority",
            [](config & c) -> auto& { return c.server.store_background_priority; }));
        k.push_back(make_key(
            "server.heap_release_interval_ms",
            [](config & c) -> auto& { return c.server.heap_release_interval_ms; }));
        k.push_back(make_key(
            "server.heap_free_reserve_mib",
            [](config & c) -> auto& { return c.server.heap_free_reserve_mib; }));
        k.push_back(make_key(
            "server.commit_queue_entries",
            [](config & c) -> auto& { return c.server.commit_queue_entries; }));
        k.push_back(make_key(
            "listen.tcp", [](config & c) -> auto& { return c.listen.tcp; }));
        k.push_back(make_key(
            "listen.tls", [](config & c) -> auto& { return c.listen.tls; }));
        k.push_back(make_key(
            "listen.ws", [](config & c) -> auto& { return c.listen.ws; }));
        k.push_back(make_key(
            "listen.wss", [](config & c) -> auto& { return c.listen.wss; }));
        k.push_back(make_key(
            "tls.cert_file", [](config & c) -> auto& { return c.tls.cert_file; }));
        k.push_back(make_key(
            "tls.key_file", [](config & c) -> auto& { return c.tls.key_file; }));
        k.push_back(make_key(
            "websocket.allowed_origins",
            [](config & c) -> auto& { return c.websocket.allowed_origins; }));
        k.push_back(make_key(
            "auth.issuer", [](config & c) -> auto& { return c.auth.issuer; }));
        k.push_back(make_key(
            "auth.audience", [](config & c) -> auto& { return c.auth.audience; }));
        k.push_back(make_key(
            "auth.allow_hs256", [](config & c) -> auto& { return c.auth.allow_hs256; }));
        k.push_back(make_key(
            "auth.max_skew_seconds", [](config & c) -> auto& { return c.auth.max_skew_seconds; }));
        auto& l = k;
#define TERN_LIMIT(field) \
    l.push_back(make_key( \
        "limits." #field, [](config & c) -> auto& { return c.limits.field; }))
        TERN_LIMIT(max_frame_bytes);
        TERN_LIMIT(auth_deadline_ms);
        TERN_LIMIT(max_tls_handshakes);
        TERN_LIMIT(heartbeat_interval_ms);
        TERN_LIMIT(idle_timeout_ms);
        TERN_LIMIT(outbound_queue_bytes);
        TERN_LIMIT(outbound_queue_frames);
        TERN_LIMIT(inbound_frames_per_second);
        TERN_LIMIT(inbound_burst);
        TERN_LIMIT(max_group_members);
        TERN_LIMIT(max_devices_per_user);
        TERN_LIMIT(max_content_bytes);
        TERN_LIMIT(sync_page_max);
        TERN_LIMIT(recall_window_seconds);
        TERN_LIMIT(max_presence_subscriptions);
        TERN_LIMIT(read_count_interval_ms);
#undef TERN_LIMIT
        k.push_back(make_key(
            "admin.listen", [](config & c) -> auto& { return c.admin.listen; }));
        k.push_back(make_key(
            "admin.token", [](config & c) -> auto& { return c.admin.token; }));
        k.push_back(make_key(
            "admin.drain_seconds", [](config & c) -> auto& { return c.admin.drain_seconds; }));
#define TERN_CLUSTER(field) \
    k.push_back(make_key(   \
        "cluster." #field, [](config & c) -> auto& { return c.cluster.field; }))
        TERN_CLUSTER(enabled);
        TERN_CLUSTER(node);
        TERN_CLUSTER(nats_servers);
        TERN_CLUSTER(nats_user);
        TERN_CLUSTER(nats_password);
        TERN_CLUSTER(partitions);
        TERN_CLUSTER(replicas);
        TERN_CLUSTER(retention_days);
        TERN_CLUSTER(append_timeout_ms);
        TERN_CLUSTER(placements);
#undef TERN_CLUSTER
#define TERN_PUSH(field)  \
    k.push_back(make_key( \
        "push." #field, [](config & c) -> auto& { return c.push.field; }))
        TERN_PUSH(url);
        TERN_PUSH(contract);
        TERN_PUSH(secret);
        TERN_PUSH(timeout_ms);
        TERN_PUSH(concurrency);
        TERN_PUSH(queue);
        TERN_PUSH(grace_ms);
#undef TERN_PUSH
        k.push_back(make_key(
            "log.level", [](config & c) -> auto& { return c.log.level; }));
        k.push_back(make_key(
            "log.format", [](config & c) -> auto& { return c.log.format; }));
        return k;
    }();
    return all;
}

const key_spec* find_key(std::string_view name) {
    const auto& all = keys();
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const key_spec& k) { return k.name == name; });
    return it == all.end() ? nullptr : &*it;
}

// auth.keys: an array of tables, from the file only.
void load_auth_keys(config& c, const toml::node& node) {
    const auto* array = node.as_array();
    if (!array) fail("auth.keys", "expected an array of tables ([[auth.keys]])");
    c.auth.keys.clear();
    for (const auto& item : *array) {
        const auto* table = item.as_table();
        if (!table) fail("auth.keys", "expected tables");
        auth_key_config key;
        for (const auto& [name, value] : *table) {
            const std::string field(name.str());
            if (field == "kid" && value.is_string()) {
                key.kid = *value.value<std::string>();
            } else if (field == "public_key_file" && value.is_string()) {
                key.public_key_file = *value.value<std::string>();
            } else if (field == "hmac_secret" && value.is_string()) {
                key.hmac_secret = *value.value<std::string>();
            } else if (field == "tenant" && value.is_integer() &&
                       *value.value<std::int64_t>() >= 0) {
                key.tenant = static_cast<std::uint64_t>(*value.value<std::int64_t>());
            } else {
                fail("auth.keys." + field, "unknown field or wrong type");
            }
        }
        c.auth.keys.push_back(std::move(key));
    }
}

void load_file(config& c, const std::string& path, std::vector<std::string>& warnings) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw config_error(path + ": " + std::string(e.description()) + " at line " +
                           std::to_string(e.source().begin.line));
    }
    for (const auto& [section_name, section] : root) {
        const std::string section_key(section_name.str());
        const auto* table = section.as_table();
        if (!table) {
            warnings.push_back(path + ": unknown key '" + section_key + "' ignored");
            continue;
        }
        for (const auto& [key_name, value] : *table) {
            const std::string name = section_key + "." + std::string(key_name.str());
            if (name == "auth.keys") {
                load_auth_keys(c, value);
            } else if (const auto* spec = find_key(name)) {
                spec->from_toml(c, value);
            } else {
                warnings.push_back(path + ": unknown key '" + name + "' ignored");
            }
        }
    }
}

// TERN_LIMITS__MAX_FRAME_BYTES -> limits.max_frame_bytes
std::optional<std::string> key_of_variable(const std::string& variable) {
    constexpr std::string_view prefix = "TERN_";
    if (variable.rfind(prefix, 0) != 0) return std::nullopt;
    const auto rest = variable.substr(prefix.size());
    const auto split = rest.find("__");
    if (split == std::string::npos) return std::nullopt;
    std::string name = rest.substr(0, split) + "." + rest.substr(split + 2);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return name;
}

void validate_cluster(const config& c) {
    const auto& k = c.cluster;
    if (!k.enabled) return;
    const auto name_ok = !k.node.empty() && k.node.size() <= 64 &&
                         std::all_of(k.node.begin(), k.node.end(), [](unsigned char ch) {
                             return std::isalnum(ch) || ch == '-' || ch == '_';
                         });
    if (!name_ok) {
        fail("cluster.node",
             "set this node's name (its nats-server's server_name): letters, "
             "digits, - and _, at most 64");
    }
    if (k.nats_servers.empty()) fail("cluster.nats_servers", "list at least one NATS server");
    for (const auto& url : k.nats_servers) {
        if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
            fail("cluster.nats_servers", "'" + url + "' is not a nats:// or tls:// URL");
        }
    }
    if (k.partitions < 1 || k.partitions > 1000) fail("cluster.partitions", "must be 1 to 1000");
    if (k.replicas < 1 || k.replicas > 5) fail("cluster.replicas", "must be 1 to 5");
    if (k.retention_days < 1) fail("cluster.retention_days", "must be at least 1");
    if (k.append_timeout_ms < 100 || k.append_timeout_ms > 60'000) {
        fail("cluster.append_timeout_ms", "must be 100 to 60000");
    }
    std::set<std::uint64_t> placed;
    for (const auto& p : k.placements) {
        const auto colon = p.find(':');
        std::uint64_t tenant = 0;
        std::uint64_t partition = 0;
        const auto* end = p.data() + p.size();
        const bool ok =
            colon != std::string::npos &&
            std::from_chars(p.data(), p.data() + colon, tenant).ptr == p.data() + colon &&
            std::from_chars(p.data() + colon + 1, end, partition).ptr == end && tenant != 0;
        if (!ok) fail("cluster.placements", "'" + p + "' is not tenant:partition");
        if (partition >= k.partitions) {
            fail("cluster.placements", "'" + p + "' names a partition beyond cluster.partitions");
        }
        if (!placed.insert(tenant).second) {
            fail("cluster.placements", "tenant " + std::to_string(tenant) + " is placed twice");
        }
    }
    if (c.server.durability != "fsync") {
        fail("server.durability",
             "a cluster node acknowledges after its own synced apply "
             "(docs/cluster.md): use fsync");
    }
}

void validate_push(const config& c) {
    const auto& p = c.push;
    if (p.url.empty()) return;
    if (!p.url.starts_with("http://") && !p.url.starts_with("https://")) {
        fail("push.url", "must start with http:// or https://");
    }
    if (p.contract != "webhook" && p.contract != "matrix") {
        fail("push.contract", "must be webhook or matrix");
    }
    if (p.contract == "webhook" && p.secret.size() < 16) {
        fail("push.secret",
             "the webhook needs a secret of at least 16 characters "
             "(TERN_PUSH__SECRET)");
    }
    if (p.timeout_ms == 0 || p.concurrency == 0 || p.concurrency > 256 || p.queue == 0) {
        fail("push", "timeout_ms and queue must be positive, concurrency 1 to 256");
    }
    if (p.grace_ms > 3'600'000) fail("push.grace_ms", "must be at most an hour");
}

void validate(const config& c) {
    const std::set<std::string> durabilities{"fsync", "os", "memory"};
    if (!durabilities.contains(c.server.durability)) {
        fail("server.durability", "must be fsync, os or memory");
    }
    const std::set<std::string> priorities{"normal", "low", "idle"};
    if (!priorities.contains(c.server.store_background_priority)) {
        fail("server.store_background_priority", "must be normal, low or idle");
    }
    if (c.server.shards > 256) fail("server.shards", "must be at most 256 (0: one per core)");
    if (c.server.commit_queue_entries < 1024) {
        fail("server.commit_queue_entries", "must be at least 1024");
    }
    const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.contains(c.log.level))
        fail("log.level", "must be trace, debug, info, warn, error or off");
    if (c.log.format != "text" && c.log.format != "json")
        fail("log.format", "must be text or json");
    if (c.listen.tcp.empty() && c.listen.tls.empty() && c.listen.ws.empty() &&
        c.listen.wss.empty()) {
        fail("listen", "enable at least one listener");
    }
    if ((!c.listen.tls.empty() || !c.listen.wss.empty()) &&
        (c.tls.cert_file.empty() || c.tls.key_file.empty())) {
        fail("tls", "cert_file and key_file are needed for the tls and wss listeners");
    }
    if (c.admin.drain_seconds > 3600) fail("admin.drain_seconds", "must be at most 3600");
    validate_cluster(c);
    validate_push(c);
    if (!c.admin.token.empty() && c.admin.token.size() < 16) {
        fail("admin.token", "must be at least 16 characters (or empty: no changing routes)");
    }
    const auto& l = c.limits;
    // 16 KiB at least: a group operation's event names up to 1,000 users (about 11 KB).
    if (l.max_frame_bytes < 16u * 1024 || l.max_frame_bytes > 16u * 1024 * 1024) {
        fail("limits.max_frame_bytes", "must be between 16 KiB and 16 MiB");
    }
    // Mentions, ids and the envelope of a message's event take up to about 1.5 KB.
    if (l.max_content_bytes + 4096 > l.max_frame_bytes) {
        fail("limits.max_content_bytes", "must leave 4 KiB of the frame for the event's envelope");
    }
    if (l.heartbeat_interval_ms == 0 || l.idle_timeout_ms <= l.heartbeat_interval_ms) {
        fail("limits.idle_timeout_ms", "must be longer than the heartbeat interval");
    }
    if (l.auth_deadline_ms == 0 || l.max_tls_handshakes == 0 ||
        l.outbound_queue_bytes < l.max_frame_bytes || l.outbound_queue_frames == 0 ||
        l.inbound_frames_per_second == 0 || l.inbound_burst == 0 || l.max_group_members < 2 ||
        l.max_devices_per_user == 0 || l.sync_page_max == 0 || l.max_presence_subscriptions == 0 ||
        l.read_count_interval_ms == 0) {
        fail("limits", "limits must be positive (and the outbound queue hold a whole frame)");
    }
    std::set<std::string> kids;
    for (const auto& k : c.auth.keys) {
        if (k.kid.empty()) fail("auth.keys", "every key needs a kid");
        if (!kids.insert(k.kid).second) fail("auth.keys", "duplicate kid '" + k.kid + "'");
        if (k.public_key_file.empty() == k.hmac_secret.empty()) {
            fail("auth.keys." + k.kid, "set exactly one of public_key_file and hmac_secret");
        }
        if (!k.hmac_secret.empty() && !c.auth.allow_hs256) {
            fail("auth.keys." + k.kid, "an hmac_secret needs auth.allow_hs256 = true");
        }
    }
}

}  // namespace

loaded_config load_config(const std::optional<std::string>& file,
                          const std::map<std::string, std::string>& environment,
                          const std::vector<std::string>& overrides) {
    loaded_config out;
    if (file) load_file(out.values, *file, out.warnings);
    for (const auto& [variable, value] : environment) {
        const auto name = key_of_variable(variable);
        if (!name) continue;
        if (const auto* spec = find_key(*name)) {
            spec->from_text(out.values, value);
        } else {
            out.warnings.push_back("environment: unknown variable " + variable + " ignored");
        }
    }
    for (const auto& o : overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos)
            throw config_error("--set " + o + ": expected section.key=value");
        const auto* spec = find_key(o.substr(0, eq));
        if (!spec) throw config_error("--set " + o + ": unknown key");
        spec->from_text(out.values, std::string_view(o).substr(eq + 1));
    }
    validate(out.values);
    return out;
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> out;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos) out.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return out;
}

}  // namespace tern::server
