// tern-bench: a load generator on the client SDK, and the benchmark record's instrument.
//
//   tern-bench conn  --clients 19000 --rate 2000 --seconds 10 --server-pid $(pidof ternd)
//   tern-bench send  --clients 1000 --rate 50000 --seconds 10
//   tern-bench group --groups 10 --members 100 --rate 3000
//   tern-bench e2e   --clients 1000 --rate 20000 --threshold 'e2e.p99<2ms'
//   tern-bench churn --clients 10000 --missed 20 --rate 1000
//
// Common options: --url (tcp|tls|ws|wss://host:port[/path], repeatable; --spread puts client i
// on the i-th mod n, for a cluster), --key (a development
// signing key: every client mints its own token), --json FILE, --threshold EXPR (repeatable).
// Exit status: 0 ok; 1 a threshold failed; 2 a correctness counter is not zero or the scenario
// did not complete; 3 bad usage or setup.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include <CLI/CLI.hpp>

#include "proc.hpp"
#include "report.hpp"
#include "scenarios.hpp"

namespace tb = tern::bench;
namespace tc = tern::client;

namespace {

struct defaults {
    double rate;
    double seconds;
    std::uint32_t clients;
};

// Per-scenario defaults for what the user did not set.
void apply_defaults(CLI::App& app, CLI::App& sub, tb::run_options& o, const defaults& d) {
    if (app.get_option("--rate")->count() == 0 && sub.get_option("--rate")->count() == 0) {
        o.rate = d.rate;
    }
    if (app.get_option("--seconds")->count() == 0 && sub.get_option("--seconds")->count() == 0) {
        o.seconds = d.seconds;
    }
    if (sub.get_option("--clients")->count() == 0) o.clients = d.clients;
}

using scenario = std::function<tb::results(const tb::run_options&)>;

// Process `k` of `procs`: its share of the clients, groups, feeders and rate, and users of its
// own (ten million ids apart), so that its conversations are whole within it.
tb::run_options share(const tb::run_options& o, unsigned procs, unsigned k) {
    auto part = o;
    part.clients = std::max<std::uint32_t>(2, o.clients / procs / 2 * 2);
    part.groups = std::max<std::uint32_t>(1, o.groups / procs);
    part.feeders = std::max<std::uint32_t>(1, o.feeders / procs);
    part.rate = o.rate / procs;
    part.connect_rate = o.connect_rate / procs;
    part.first_user = o.first_user + std::uint64_t{k} * 10'000'000;
    part.quiet = o.quiet || k != 0;        // one progress line: the first process's share
    if (k != 0) part.metrics_url.clear();  // the server's figures are read once
    return part;
}

// Runs the scenario in `procs` processes side by side (each under its own file limit and with
// its own ephemeral ports) and combines their results.
tb::results run_in_processes(const tb::run_options& o, unsigned procs, const scenario& run) {
    std::vector<std::pair<pid_t, std::string>> children;
    for (unsigned k = 0; k < procs; ++k) {
        auto file = "/tmp/tern-bench." + std::to_string(getpid()) + "." + std::to_string(k);
        const pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            int status = 0;
            try {
                std::ofstream(file) << tb::to_json(run(share(o, procs, k)), {}).dump();
            } catch (const std::exception& e) {
                std::cerr << "tern-bench (process " << k << "): " << e.what() << "\n";
                status = 3;
            }
            std::fflush(nullptr);
            _exit(status);
        }
        children.emplace_back(pid, std::move(file));
    }
    std::vector<tb::results> parts;
    std::string failed;
    for (const auto& [pid, file] : children) {
        int status = 0;
        waitpid(pid, &status, 0);
        std::ifstream in(file);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !in) {
            failed += (failed.empty() ? "" : ", ") + std::to_string(pid);
            continue;
        }
        parts.push_back(tb::from_json(nlohmann::json::parse(in)));
        std::remove(file.c_str());
    }
    if (!failed.empty()) throw std::runtime_error("bench processes failed: " + failed);
    auto all = tb::combine(parts);
    // The configuration as asked, not one process's share of it.
    for (const auto& [key, value] : {std::pair<const char*, double>{"clients", o.clients},
                                     {"groups", o.groups},
                                     {"feeders", o.feeders},
                                     {"rate", o.rate}}) {
        if (all.config.contains(key)) all.config[key] = value;
    }
    all.config["first_user"] = o.first_user;
    return all;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tern-bench: load and latency for ternd, on the client SDK"};
    app.require_subcommand(1);
    app.fallthrough();

    tb::run_options o;
    std::vector<std::string> urls{"tcp://127.0.0.1:7400"};
    std::string json_file;
    std::vector<std::string> threshold_texts;
    o.fleet.key_file = "data/keys/dev.key";

    app.add_option("--url", urls, "ternd endpoints, tried in turn")->capture_default_str();
    app.add_flag("--spread", o.fleet.spread,
                 "spread the clients over the --url endpoints (a cluster's nodes): client i "
                 "starts at endpoint i mod n, so the two sides of a pair sit on different nodes");
    app.add_option("--ca", o.fleet.ca_file, "CA bundle to verify tls/wss (default: system)");
    app.add_flag("--insecure", o.fleet.insecure, "do not verify the server's certificate");
    app.add_option("--key", o.fleet.key_file, "development signing key")->capture_default_str();
    app.add_option("--kid", o.fleet.kid, "its key id")->capture_default_str();
    app.add_option("--tenant", o.fleet.tenant, "tenant of every client")->capture_default_str();
    app.add_option("--first-user", o.first_user,
                   "user id of the first client (default: fresh ids from the clock, so a run "
                   "never meets an earlier run's inboxes)");
    app.add_option("--sources", o.fleet.sources,
                   "spread connections over 127.0.0.1..N (loopback servers only)")
        ->check(CLI::Range(1, 254));
    app.add_option("--threads", o.fleet.threads, "SDK network threads")->capture_default_str();
    app.add_option("--rate", o.rate, "messages per second, open loop (conn: connections)");
    app.add_option("--seconds", o.seconds, "measured traffic (conn: hold) duration");
    app.add_option("--warmup", o.warmup, "unmeasured seconds before")->capture_default_str();
    app.add_option("--connect-rate", o.connect_rate, "connections per second at setup; 0: all");
    app.add_option("--size", o.size, "message body bytes")->capture_default_str();
    app.add_option("--settle-timeout", o.settle_timeout, "seconds to wait for acks, deliveries")
        ->capture_default_str();
    app.add_option("--server-pid", o.server_pid, "ternd's pid (default: the process named ternd)");
    app.add_option("--metrics", o.metrics_url,
                   "ternd's metrics URL (http://HOST:PORT/metrics on its admin listener): adds "
                   "its own delivery latency over the window (server_delivery.p50, ...)");
    app.add_option("--json", json_file, "write configuration, environment and results here");
    app.add_option("--threshold", threshold_texts, "e.g. 'e2e.p99<2ms'; sets the exit status");
    app.add_flag("--quiet", o.quiet, "no progress lines");
    unsigned procs = 1;
    app.add_option("--procs", procs,
                   "split the scenario over N processes (past one process's file limit and port "
                   "range); progress shows the first")
        ->check(CLI::Range(1, 64));

    auto* conn = app.add_subcommand("conn", "ramp connections, hold them idle, server memory");
    auto* send = app.add_subcommand("send", "1:1 messages between pairs at an open-loop rate");
    auto* e2e = app.add_subcommand("e2e", "1:1 end-to-end latency under a fixed load");
    auto* group = app.add_subcommand("group", "group fan-out");
    auto* churn = app.add_subcommand("churn", "everyone drops, misses messages, comes back");
    for (auto* sub : {conn, send, e2e, churn}) {
        sub->add_option("--clients", o.clients, "connections (churn: reconnecting clients)");
    }
    group->add_option("--clients", o.clients, "(unused: --groups x --members)");
    group->add_option("--groups", o.groups, "groups")->capture_default_str();
    group->add_option("--members", o.members, "members per group, all online")
        ->capture_default_str();
    group->add_option("--senders", o.senders, "members of each group that send")
        ->capture_default_str();
    group->add_flag("--notify-settings", o.notify_settings,
                    "every member mutes the group to mentions and sets working hours first (the "
                    "notification decision's full path)");
    churn->add_option("--missed", o.missed, "messages each client misses")->capture_default_str();
    churn->add_option("--feeders", o.feeders, "clients that send to them")->capture_default_str();

    CLI11_PARSE(app, argc, argv);

    std::vector<tb::threshold> thresholds;
    for (const auto& text : threshold_texts) {
        std::string error;
        auto t = tb::parse_threshold(text, error);
        if (!t) {
            std::cerr << "tern-bench: --threshold " << error << "\n";
            return 3;
        }
        thresholds.push_back(*t);
    }
    for (const auto& url : urls) {
        auto e = tc::endpoint::parse(url);
        if (!e) {
            std::cerr << "tern-bench: --url " << url << ": expected tcp|tls|ws|wss://host:port\n";
            return 3;
        }
        o.fleet.endpoints.push_back(*e);
    }
    if (o.first_user == 0) {
        // Milliseconds since the epoch times a million: distinct for runs a millisecond apart
        // with up to a million users each, and below 2^63.
        o.first_user =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()) *
            1'000'000;
    }
    const auto file_limit = tb::raise_file_limit();

    if (*conn) apply_defaults(app, *conn, o, {2'000, 5, 1'000});
    if (*send) apply_defaults(app, *send, o, {20'000, 10, 1'000});
    if (*e2e) apply_defaults(app, *e2e, o, {5'000, 10, 1'000});
    if (*group) apply_defaults(app, *group, o, {1'000, 10, 0});
    if (*churn) apply_defaults(app, *churn, o, {1'000, 10, 1'000});
    const scenario run = [&](const tb::run_options& part) {
        if (*conn) return tb::run_conn(part);
        if (*send) return tb::run_send(part, "send");
        if (*e2e) return tb::run_send(part, "e2e");
        if (*group) return tb::run_group(part);
        return tb::run_churn(part);
    };

    tb::results r;
    try {
        r = procs > 1 ? run_in_processes(o, procs, run) : run(o);
    } catch (const std::exception& e) {
        std::cerr << "tern-bench: " << e.what() << "\n";
        return 3;
    }
    r.config["open_files_limit"] = file_limit;

    tb::print_summary(r);
    if (!json_file.empty()) {
        std::ofstream out(json_file);
        out << tb::to_json(r, tb::environment()).dump(2) << "\n";
        if (!out) {
            std::cerr << "tern-bench: cannot write " << json_file << "\n";
            return 3;
        }
    }
    if (!r.completed || !r.checks.clean()) return 2;
    const auto failed = tb::failed_thresholds(r, thresholds);
    for (const auto& f : failed) std::printf("threshold FAILED: %s\n", f.c_str());
    for (const auto& t : thresholds) {
        if (std::find_if(failed.begin(), failed.end(),
                         [&](const auto& f) { return f.rfind(t.text, 0) == 0; }) == failed.end()) {
            std::printf("threshold ok: %s\n", t.text.c_str());
        }
    }
    return failed.empty() ? 0 : 1;
}
