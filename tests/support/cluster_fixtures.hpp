// What the cluster tests share: a NATS link's settings for a node of a test cluster, and a
// partition log made once JetStream can take it.
#pragma once

#include <chrono>
#include <thread>

#include <tern/cluster/partition_log.hpp>

#include "nats_cluster.hpp"

namespace tern::test {

// Node i's link: its own server first, then the others; the first connection must succeed.
inline cluster::nats_settings link_settings(const nats_cluster& c, std::size_t i) {
    cluster::nats_settings s;
    s.servers = c.urls_from(i);
    s.name = "test-" + c.at(i).name;
    s.retry_first_connect = false;
    return s;
}

// JetStream needs its meta leader before a stream can be made (seconds after the servers
// start): retried for up to 30 s.
inline cluster::stream_state ensure_eventually(cluster::partition_log& log) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        try {
            return log.ensure();
        } catch (const cluster::nats_error&) {
            if (std::chrono::steady_clock::now() > deadline) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

}  // namespace tern::test
