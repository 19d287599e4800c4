#include "admin.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <tern/tooling/http_client.hpp>

namespace ternctl {
namespace {

namespace tooling = tern::tooling;
using json = nlohmann::json;

struct admin_args {
    CLI::App* status = nullptr;
    CLI::App* drain = nullptr;
    CLI::App* kick = nullptr;
    CLI::App* cluster_status = nullptr;
    CLI::App* checkpoint = nullptr;
    CLI::App* remove_peer = nullptr;
    CLI::App* policy_get = nullptr;
    CLI::App* audit = nullptr;
    std::int64_t audit_from_ms = 0;
    CLI::App* policy_set = nullptr;
    std::string policy_file;
    std::string checkpoint_name;
    std::uint32_t partition = 0;
    std::string peer;
    std::vector<std::string> node_urls;  // cluster status: every node's admin URL
    std::string url;
    std::string token;
    bool as_json = false;
    std::optional<std::uint32_t> seconds;
    bool wait = false;
    std::uint64_t tenant = 0;
    std::uint64_t user = 0;
    std::optional<std::uint64_t> device;
};

admin_args& args() {
    static admin_args a;
    return a;
}

std::string from_env(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::move(fallback);
}

// A request to the admin listener at `url` (plain http://host:port, on a private address).
tooling::http_reply call(const std::string& url, tooling::http_method method,
                         const std::string& target, std::string body = {}) {
    const auto where = tooling::parse_http_url(url);
    if (!where) throw std::runtime_error("--admin " + url + ": expected http://host:port");
    auto reply = tooling::send_http({method, where->host, where->port, target, args().token,
                                     std::chrono::seconds(30), std::move(body)});
    if (!reply) {
        throw std::runtime_error("cannot reach ternd's admin listener at " + url + " (" + target +
                                 "): " + reply.error().message());
    }
    return std::move(*reply);
}

json call_json(const std::string& url, tooling::http_method method, const std::string& target,
               std::string request_body = {}) {
    const auto r = call(url, method, target, std::move(request_body));
    json body = json::parse(r.body, nullptr, false);
    if (r.status >= 400) {
        const std::string why =
            body.is_object() && body.contains("error") ? body["error"].get<std::string>() : r.body;
        throw std::runtime_error(target + ": HTTP " + std::to_string(r.status) + ": " + why);
    }
    if (body.is_discarded()) throw std::runtime_error(target + ": not JSON");
    return body;
}

std::string duration(std::int64_t seconds) {
    const auto d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60;
    if (d) return std::to_string(d) + "d " + std::to_string(h) + "h";
    if (h) return std::to_string(h) + "h " + std::to_string(m) + "m";
    return std::to_string(m) + "m " + std::to_string(seconds % 60) + "s";
}

int status() {
    const auto varz = call_json(args().url, tooling::http_method::get, "/admin/v1/varz");
    if (args().as_json) {
        std::cout << varz.dump(2) << "\n";
        return 0;
    }
    const bool ready = varz["ready"].get<bool>();
    std::cout << "ternd " << varz["version"].get<std::string>() << " ("
              << varz["build_type"].get<std::string>() << "), pid " << varz["pid"] << ", up "
              << duration(varz["uptime_seconds"].get<std::int64_t>()) << ", "
              << (varz["draining"].get<bool>() ? "DRAINING"
                  : ready                      ? "ready"
                                               : "not ready")
              << "\n";
    std::cout << "connections  " << varz["connections"] << "\n";
    std::cout << "shards       " << varz["shards"] << ", durability "
              << varz["durability"].get<std::string>() << "\n";
    std::cout << "listeners   ";
    for (const auto& [name, port] : varz["listeners"].items()) {
        if (port.get<int>() != 0) std::cout << " " << name << ":" << port;
    }
    std::cout << "\n";
    const auto& store = varz["store"];
    std::cout << "store        " << store["commits"] << " commits, " << store["entries"]
              << " entries, " << store["failed_commits"] << " failed, largest batch "
              << store["max_batch"] << "\n";
    return ready ? 0 : 3;
}

int drain() {
    const auto& a = args();
    const std::string target =
        "/admin/v1/drain" + (a.seconds ? "?seconds=" + std::to_string(*a.seconds) : "");
    const auto r = call_json(args().url, tooling::http_method::post, target);
    std::cout << (r["already"].get<bool>() ? "already draining" : "draining") << ": "
              << r["connections"] << " connection(s) told to reconnect over " << r["window_seconds"]
              << " s\n";
    if (!a.wait) return 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        json varz;
        try {
            varz = call_json(args().url, tooling::http_method::get, "/admin/v1/varz");
        } catch (const std::runtime_error&) {
            std::cout << "ternd has exited\n";  // SIGTERM drains and exits; a POST does not
            return 0;
        }
        if (varz["connections"].get<std::int64_t>() == 0) {
            std::cout << "drained: no connection left\n";
            return 0;
        }
    }
}

int kick() {
    const auto& a = args();
    std::string target =
        "/admin/v1/kick?tenant=" + std::to_string(a.tenant) + "&user=" + std::to_string(a.user);
    if (a.device) target += "&device=" + std::to_string(*a.device);
    const auto r = call_json(args().url, tooling::http_method::post, target);
    std::cout << "kicked " << r["kicked"] << " connection(s)\n";
    return 0;
}

int checkpoint() {
    auto& a = args();
    if (a.checkpoint_name.empty()) {
        // A UTC time stamp sorts, and names when the copy was taken.
        const auto now = std::time(nullptr);
        char name[32];
        std::strftime(name, sizeof name, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
        a.checkpoint_name = name;
    }
    const auto r = call_json(a.url, tooling::http_method::post,
                             "/admin/v1/checkpoint?name=" + a.checkpoint_name);
    std::cout << "checkpoint written to " << r["path"].get<std::string>() << " in "
              << r["milliseconds"] << " ms\n";
    return 0;
}

int remove_peer() {
    const auto& a = args();
    const auto r =
        call_json(a.url, tooling::http_method::post,
                  "/admin/v1/partitions/remove-peer?partition=" + std::to_string(a.partition) +
                      "&peer=" + a.peer);
    std::cout << "partition " << r["partition"] << ": " << r["removed"].get<std::string>()
              << "'s copy of its stream removed; JetStream places a fresh copy, which catches up "
                 "from the others (watch: ternctl cluster status)\n";
    return 0;
}

// ---- cluster status ------------------------------------------------------------------------

// One partition as every node that answered sees it.
struct partition_view {
    std::set<std::string> leaders;  // as each node saw it last ("" while there is none)
    std::vector<std::string> owners;
    std::uint64_t last_seq = 0;
    std::map<std::string, json> by_node;  // node -> its entry of /admin/v1/partitions
};

// What an operator must look at; empty when the cluster is healthy.
std::vector<std::string> cluster_problems(const std::map<std::uint32_t, partition_view>& parts,
                                          const std::set<std::string>& nodes) {
    std::vector<std::string> problems;
    for (const auto& [id, v] : parts) {
        const auto where = "partition " + std::to_string(id) + ": ";
        if (v.leaders.size() > 1) {
            problems.push_back(where +
                               "the nodes name different leaders (a change under way: ask again)");
        } else if (v.leaders.begin()->empty()) {
            problems.push_back(where + "no leader (an election, or no quorum)");
        } else if (v.owners.empty() && nodes.count(*v.leaders.begin())) {
            problems.push_back(where + "its leader's ternd does not serve it (yet)");
        }
        if (v.owners.size() > 1) problems.push_back(where + "more than one node serves it");
        std::map<std::uint64_t, std::set<std::string>> digests;  // applied -> digests
        for (const auto& [node, e] : v.by_node) {
            if (!e.value("has_copy", true)) continue;  // its nats-server holds no copy by design
            const auto halted = e["halted"].get<std::string>();
            if (!halted.empty()) problems.push_back(where + node + " halted: " + halted);
            if (!e.value("stream_current", true)) {
                problems.push_back(where + node +
                                   "'s nats-server holds no current copy of its stream (catching "
                                   "up, or its copy was removed and not placed again)");
            }
            digests[e["applied"].get<std::uint64_t>()].insert(e["digest"].get<std::string>());
        }
        for (const auto& [applied, set] : digests) {
            if (set.size() > 1) {
                problems.push_back(where + "replicas differ at entry " + std::to_string(applied) +
                                   " (digests disagree): rebuild the odd one");
            }
        }
    }
    return problems;
}

int cluster_status() {
    const auto& a = args();
    const auto urls = a.node_urls.empty() ? std::vector<std::string>{a.url} : a.node_urls;
    std::map<std::uint32_t, partition_view> parts;
    std::set<std::string> nodes;
    std::vector<std::string> unreachable;
    json all = json::array();
    for (const auto& url : urls) {
        json body;
        try {
            body = call_json(url, tooling::http_method::get, "/admin/v1/partitions");
        } catch (const std::runtime_error& e) {
            unreachable.push_back(e.what());
            continue;
        }
        all.push_back(body);
        const auto node = body["node"].get<std::string>();
        nodes.insert(node);
        for (const auto& e : body["partitions"]) {
            auto& v = parts[e["partition"].get<std::uint32_t>()];
            v.leaders.insert(e["leader"].get<std::string>());
            if (e["owner"].get<bool>()) v.owners.push_back(node);
            v.last_seq = std::max(v.last_seq, e["last_seq"].get<std::uint64_t>());
            v.by_node[node] = e;
        }
    }
    auto problems = cluster_problems(parts, nodes);
    for (const auto& u : unreachable) problems.insert(problems.begin(), u);
    if (a.as_json) {
        std::cout << json{{"nodes", all}, {"problems", problems}}.dump(2) << "\n";
        return problems.empty() ? 0 : 3;
    }
    std::cout << nodes.size() << " node(s) answered, " << parts.size() << " partition(s)\n";
    std::cout << std::left << std::setw(10) << "partition" << std::setw(10) << "leader"
              << std::setw(10) << "owner" << std::setw(10) << "last_seq";
    for (const auto& n : nodes) std::cout << std::setw(16) << (n + " applied/lag");
    std::cout << "\n";
    for (const auto& [id, v] : parts) {
        std::string owners;
        for (const auto& o : v.owners) owners += (owners.empty() ? "" : ",") + o;
        const auto leader = v.leaders.size() == 1 ? *v.leaders.begin() : "(split)";
        std::cout << std::setw(10) << id << std::setw(10) << (leader.empty() ? "-" : leader)
                  << std::setw(10) << (owners.empty() ? "-" : owners) << std::setw(10)
                  << v.last_seq;
        for (const auto& n : nodes) {
            const auto it = v.by_node.find(n);
            std::cout << std::setw(16)
                      << (it == v.by_node.end() ? std::string("-")
                          : !it->second.value("has_copy", true)
                              ? std::string("(no copy)")
                              : std::to_string(it->second["applied"].get<std::uint64_t>()) + "/" +
                                    std::to_string(it->second["lag"].get<std::uint64_t>()));
        }
        std::cout << "\n";
    }
    if (problems.empty()) {
        std::cout << "healthy: every partition has one leader served by its node, and the "
                     "replicas agree\n";
        return 0;
    }
    std::cout << "problems:\n";
    for (const auto& p : problems) std::cout << "  " << p << "\n";
    return 3;
}

void add_connection_options(CLI::App* cmd) {
    auto& a = args();
    cmd->add_option("--admin", a.url, "ternd's admin URL (env TERN_ADMIN_URL)");
    cmd->add_option("--token", a.token, "admin bearer token (env TERN_ADMIN_TOKEN)");
}

// The policy file as given: a path, or "-" for standard input.
std::string read_policy_file(const std::string& path) {
    std::ostringstream text;
    if (path == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("--file " + path + ": cannot read it");
        text << in.rdbuf();
    }
    return text.str();
}

int policy_get() {
    const auto& a = args();
    const auto policy = call_json(a.url, tooling::http_method::get,
                                  "/admin/v1/policy?tenant=" + std::to_string(a.tenant));
    std::cout << policy.dump(2) << "\n";
    return 0;
}

// Every page of the tenant's urgent messages from --from-ms on: one line each, or the pages'
// records as one JSON array.
int audit() {
    const auto& a = args();
    auto all = json::array();
    for (std::int64_t from = a.audit_from_ms;;) {
        const auto page = call_json(a.url, tooling::http_method::get,
                                    "/admin/v1/audit?tenant=" + std::to_string(a.tenant) +
                                        "&from_ms=" + std::to_string(from) + "&limit=1000");
        for (const auto& r : page["records"]) all.push_back(r);
        const auto next = std::stoll(page.value("next_from_ms", std::string("0")));
        if (next == 0 || next <= from) break;
        from = next;
    }
    if (a.as_json) {
        std::cout << all.dump(2) << "\n";
        return 0;
    }
    for (const auto& r : all) {
        const auto time_ms = std::stoll(r["time_ms"].get<std::string>());
        const std::time_t seconds = time_ms / 1000;
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        const auto& conv = r["conv"];
        const std::string conv_name = conv.value("type", std::string()) == "CONV_TYPE_GROUP"
                                          ? "g:" + conv.value("id", std::string("0"))
                                          : "d:" + conv.value("id", std::string("0")) + "-" +
                                                conv.value("peer", std::string("0"));
        std::cout << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ") << "  user "
                  << r.value("sender", std::string("?")) << "  " << conv_name << " #"
                  << r.value("seq", std::string("?")) << "  " << r.value("reason", std::string())
                  << "\n";
    }
    std::cout << all.size() << " urgent message(s)\n";
    return 0;
}

int policy_set() {
    const auto& a = args();
    const auto body = read_policy_file(a.policy_file);
    if (json::parse(body, nullptr, false).is_discarded()) {
        throw std::runtime_error("--file " + a.policy_file + ": not JSON");
    }
    const auto stored = call_json(a.url, tooling::http_method::post,
                                  "/admin/v1/policy?tenant=" + std::to_string(a.tenant), body);
    std::cout << "tenant " << a.tenant << ": policy stored\n" << stored["policy"].dump(2) << "\n";
    return 0;
}

}  // namespace

void add_admin(CLI::App& app) {
    auto& a = args();
    a.url = from_env("TERN_ADMIN_URL", "http://127.0.0.1:7480");
    a.token = from_env("TERN_ADMIN_TOKEN", "");

    a.status = app.add_subcommand("status", "a running ternd's state (exit 3 when not ready)");
    add_connection_options(a.status);
    a.status->add_flag("--json", a.as_json, "print varz as JSON");

    a.drain = app.add_subcommand(
        "drain", "tell every client to reconnect elsewhere, in batches (readiness fails)");
    add_connection_options(a.drain);
    a.drain->add_option("--seconds", a.seconds, "the drain window (default admin.drain_seconds)");
    a.drain->add_flag("--wait", a.wait, "wait until no connection is left");

    a.kick = app.add_subcommand("kick", "disconnect a user's devices, or one device");
    add_connection_options(a.kick);
    a.kick->add_option("--tenant", a.tenant, "tenant id")->required();
    a.kick->add_option("--user", a.user, "user id")->required();
    a.kick->add_option("--device", a.device, "only this device");

    a.checkpoint = app.add_subcommand(
        "checkpoint", "write a consistent copy of a running ternd's store, beside its data_dir");
    add_connection_options(a.checkpoint);
    a.checkpoint->add_option("--name", a.checkpoint_name,
                             "the checkpoint's name (default: the UTC time, 20261204T001500Z)");

    auto* policy = app.add_subcommand(
        "policy",
        "a tenant's notification policy: working hours as company policy "
        "(docs/notifications.md); --token: the admin token or a tenant admin's JWT");
    policy->require_subcommand(1);
    a.policy_get = policy->add_subcommand("get", "print the tenant's policy file (JSON)");
    a.policy_set = policy->add_subcommand("set", "replace the tenant's policy ({} removes it)");
    for (auto* cmd : {a.policy_get, a.policy_set}) {
        add_connection_options(cmd);
        cmd->add_option("--tenant", a.tenant, "tenant id")->required();
    }
    a.policy_set->add_option("--file", a.policy_file, "the policy file (JSON; - for stdin)")
        ->required();

    a.audit = app.add_subcommand(
        "audit",
        "a tenant's urgent messages: when, who, where and why (docs/notifications.md); "
        "--token: the admin token or a tenant admin's JWT");
    add_connection_options(a.audit);
    a.audit->add_option("--tenant", a.tenant, "tenant id")->required();
    a.audit->add_option("--from-ms", a.audit_from_ms, "from this Unix time in ms (default: all)");
    a.audit->add_flag("--json", a.as_json, "print the records as JSON");

    auto* cluster = app.add_subcommand("cluster", "a ternd cluster");
    cluster->require_subcommand(1);
    a.cluster_status = cluster->add_subcommand(
        "status",
        "every partition's leader, owner and each node's applied entry, with what is wrong "
        "(exit 3 when anything is)");
    a.cluster_status->add_option("--admin", a.node_urls,
                                 "a node's admin URL; repeat for every node (default "
                                 "TERN_ADMIN_URL)");
    a.cluster_status->add_option("--token", a.token, "admin bearer token (env TERN_ADMIN_TOKEN)");
    a.cluster_status->add_flag("--json", a.as_json, "print every node's answer and the problems");

    a.remove_peer = cluster->add_subcommand(
        "remove-peer",
        "drop a node's copy of a partition's stream; JetStream places a fresh one (the repair of "
        "a diverged copy: docs/cluster.md)");
    add_connection_options(a.remove_peer);
    a.remove_peer->add_option("--partition", a.partition, "the partition")->required();
    a.remove_peer->add_option("--peer", a.peer, "the node whose copy goes (its server_name)")
        ->required()
        ->check([](const std::string& name) -> std::string {
            const bool ok =
                !name.empty() && name.size() <= 64 &&
                std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                });
            return ok ? std::string() : "a node name: 1 to 64 of A-Z a-z 0-9 - _";
        });
}

bool admin_parsed() {
    const auto& a = args();
    return *a.status || *a.drain || *a.kick || *a.cluster_status || *a.checkpoint ||
           *a.remove_peer || *a.policy_get || *a.policy_set || *a.audit;
}

int run_admin() {
    const auto& a = args();
    if (*a.status) return status();
    if (*a.drain) return drain();
    if (*a.cluster_status) return cluster_status();
    if (*a.checkpoint) return checkpoint();
    if (*a.remove_peer) return remove_peer();
    if (*a.policy_get) return policy_get();
    if (*a.policy_set) return policy_set();
    if (*a.audit) return audit();
    return kick();
}

}  // namespace ternctl
