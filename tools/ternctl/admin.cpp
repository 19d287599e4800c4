#include "admin.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

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

// A request to the admin listener at --admin (plain http://host:port, on a private address).
tooling::http_reply call(tooling::http_method method, const std::string& target) {
    const auto& a = args();
    const auto where = tooling::parse_http_url(a.url);
    if (!where) throw std::runtime_error("--admin: expected http://host:port");
    auto reply = tooling::send_http(
        {method, where->host, where->port, target, a.token, std::chrono::seconds(30)});
    if (!reply) {
        throw std::runtime_error("cannot reach ternd's admin listener at " + a.url + " (" + target +
                                 "): " + reply.error().message());
    }
    return std::move(*reply);
}

json call_json(tooling::http_method method, const std::string& target) {
    const auto r = call(method, target);
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
    const auto varz = call_json(tooling::http_method::get, "/admin/v1/varz");
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
    const auto r = call_json(tooling::http_method::post, target);
    std::cout << (r["already"].get<bool>() ? "already draining" : "draining") << ": "
              << r["connections"] << " connection(s) told to reconnect over " << r["window_seconds"]
              << " s\n";
    if (!a.wait) return 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        json varz;
        try {
            varz = call_json(tooling::http_method::get, "/admin/v1/varz");
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
    const auto r = call_json(tooling::http_method::post, target);
    std::cout << "kicked " << r["kicked"] << " connection(s)\n";
    return 0;
}

void add_connection_options(CLI::App* cmd) {
    auto& a = args();
    cmd->add_option("--admin", a.url, "ternd's admin URL (env TERN_ADMIN_URL)");
    cmd->add_option("--token", a.token, "admin bearer token (env TERN_ADMIN_TOKEN)");
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
}

bool admin_parsed() {
    const auto& a = args();
    return *a.status || *a.drain || *a.kick;
}

int run_admin() {
    const auto& a = args();
    if (*a.status) return status();
    if (*a.drain) return drain();
    return kick();
}

}  // namespace ternctl
