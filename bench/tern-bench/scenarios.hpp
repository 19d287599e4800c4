// The five scenarios. Each builds its clients, runs its traffic on an open-loop schedule, lets
// every send and delivery settle, checks correctness and returns its figures.
#pragma once

#include <cstdint>
#include <string>

#include "fleet.hpp"
#include "report.hpp"

namespace tern::bench {

struct run_options {
    fleet_options fleet;
    double seconds = 10;           // traffic (or, for conn, hold) duration
    double warmup = 1;             // not measured: the first seconds of traffic
    double rate = 1000;            // messages (conn: connections) per second, open loop
    double connect_rate = 0;       // connections per second while setting up; 0: all at once
    std::size_t size = 100;        // message body bytes
    double settle_timeout = 60;    // for sends and deliveries to settle, and for logins
    std::uint64_t first_user = 0;  // 0: fresh ids (main)
    int server_pid = 0;            // ternd, for its CPU and memory; 0: found by name
    std::string metrics_url;       // ternd's /metrics, for its own delivery latency; "": none
    bool quiet = false;            // no progress lines

    std::uint32_t clients = 1000;  // conn, send, e2e: connections; churn: reconnecting clients
    std::uint32_t groups = 10;     // group
    std::uint32_t members = 100;   // group size
    std::uint32_t senders = 1;     // per group
    bool notify_settings = false;  // group: every member mutes to mentions and sets work hours
    std::uint32_t missed = 20;     // churn: messages each client misses while away
    std::uint32_t feeders = 10;    // churn: clients that send to the reconnecting ones
};

[[nodiscard]] results run_conn(const run_options& o);
[[nodiscard]] results run_send(const run_options& o, const char* name);  // send and e2e
[[nodiscard]] results run_group(const run_options& o);
[[nodiscard]] results run_churn(const run_options& o);

}  // namespace tern::bench
