// Three ternd nodes over a 3-node nats-server cluster, as processes on loopback, with SDK clients
// spread over the nodes, and the checks every cluster test makes: exactly once, in order, and
// replicas that agree. Optionally every link between the nodes goes through a fault_network, so
// a test can cut the network. Every process is started and stopped by PID (nats_cluster,
// ternd_process).
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <tern/cluster/partition_map.hpp>

#include "fault_network.hpp"
#include "http_client.hpp"
#include "nats_cluster.hpp"
#include "sdk_fixture.hpp"
#include "ternd_process.hpp"

namespace tern::test {

using namespace std::chrono_literals;

// One SDK device, connected to one node.
struct sdk_device_on {
    std::shared_ptr<recording_listener> events = std::make_shared<recording_listener>();
    std::unique_ptr<tc::client> client;
};

inline constexpr std::uint32_t partitions = 4;
inline constexpr std::uint64_t tenant = 1;
// Another tenant, placed in tenant 1's partition (cluster.placements): the same owner and the
// same term core serve both, so a failover rebuilds both tenants' sessions together.
inline constexpr std::uint64_t other_tenant = 2;
inline constexpr const char* admin_token = "cluster-admin-token-for-tests";
inline constexpr int max_devices = 2;  // per user, across the nodes

// Whether the links between nodes go through a fault_network the test controls.
enum class links { direct, through_proxies };

// `size` nats-server and as many ternd, 3 unless asked (node i beside nats-server i, named
// alike). Every stream has 3 copies, so with more nodes each node holds only some partitions.
struct ternd_cluster {
    ternd_setup setup{"tern-cluster", "fsync"};
    std::unique_ptr<fault_network> network;  // with links::through_proxies
    nats_cluster nats;
    std::vector<std::unique_ptr<ternd_process>> nodes;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> ports;  // (tcp, admin) of each node

    explicit ternd_cluster(links l = links::direct, std::size_t size = 3)
        : network(l == links::through_proxies ? std::make_unique<fault_network>(size) : nullptr),
          nats(setup.dir.path() / "nats", static_cast<int>(size), network.get()),
          nodes(size),
          ports(size) {
        nats.start_all();
        for (std::size_t i = 0; i < nodes.size(); ++i) start(i);
        for (std::size_t i = 0; i < nodes.size(); ++i) wait_ready(i);
    }

    // Starts node i's ternd; a restarted node listens on the ports it had, as a real node's
    // address stays (its clients reconnect to it).
    void start(std::size_t i) {
        std::string servers;
        for (const auto& u : nats.urls_from(i)) servers += (servers.empty() ? "" : ",") + u;
        const auto name = nats.at(i).name;
        std::vector<std::string> settings{
            "cluster.enabled=true",
            "cluster.node=" + name,
            "cluster.nats_servers=" + servers,
            "cluster.partitions=" + std::to_string(partitions),
            "cluster.placements=" + std::to_string(other_tenant) + ":" +
                std::to_string(cluster::partition_map(partitions).of(tenant)),
            "server.data_dir=" + store_of(i).string(),
            "admin.drain_seconds=1",
            "admin.token=" + std::string(admin_token),
            "limits.max_devices_per_user=" + std::to_string(max_devices)};
        if (ports[i].first != 0) {
            settings.push_back("listen.tcp=127.0.0.1:" + std::to_string(ports[i].first));
            settings.push_back("admin.listen=127.0.0.1:" + std::to_string(ports[i].second));
        }
        nodes[i] = std::make_unique<ternd_process>(TERND_BINARY, setup.config_file,
                                                   (setup.dir.path() / (name + ".log")).string(),
                                                   settings);
        ports[i] = {nodes[i]->port(), nodes[i]->admin_port()};
    }

    // Ready: every partition has a leader and this node applied its whole log.
    void wait_ready(std::size_t i) const {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (http_get(nodes[i]->admin_port(), "/readyz").status != 200) {
            if (std::chrono::steady_clock::now() > deadline) {
                FAIL("node " << i << " never became ready");
            }
            std::this_thread::sleep_for(100ms);
        }
    }

    [[nodiscard]] nlohmann::json partitions_of(std::size_t i) const {
        return nlohmann::json::parse(http_get(nodes[i]->admin_port(), "/admin/v1/partitions").body);
    }

    // The node that owns the tenant's partition now, as node `ask` sees it; while there is no
    // leader (an election: on a loaded machine one can start at any time), waits up to 30 s.
    [[nodiscard]] std::size_t owner_of_tenant(std::size_t ask = 0) const {
        const auto p = cluster::partition_map(partitions).of(tenant);
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        do {
            const auto leader = partitions_of(ask)["partitions"][p]["leader"].get<std::string>();
            for (std::size_t i = 0; i < nodes.size(); ++i) {
                if (nats.at(i).name == leader) return i;
            }
            std::this_thread::sleep_for(100ms);
        } while (std::chrono::steady_clock::now() < deadline);
        FAIL("no leader for partition " << p << " for 30 s");
        return 0;
    }

    // Node i's nats-server (unless it still runs) and ternd start again; waits until caught up.
    void bring_back(std::size_t i) {
        if (nats.at(i).pid <= 0) {
            nats.start(i);
            nats.wait_listening(i);
        }
        start(i);
        wait_ready(i);
    }

    // Node i's machine dies with its disks: both processes killed, ternd's store and
    // JetStream's deleted.
    void lose_disks(std::size_t i) {
        nodes[i]->kill9();
        nats.kill9(i);
        std::filesystem::remove_all(store_of(i));
        nats.wipe(i);
    }

    [[nodiscard]] std::filesystem::path store_of(std::size_t i) const {
        return setup.dir.path() / nats.at(i).name / "store";
    }

    // A device of `user` (device id `device_id`, by default user * 10; of tenant `of_tenant`)
    // started on node i; with `wait`, until it is connected.
    std::unique_ptr<sdk_device_on> device(std::size_t i, std::uint64_t user,
                                          std::uint64_t device_id = 0, bool wait = true,
                                          std::uint64_t of_tenant = tenant);
};

inline std::unique_ptr<sdk_device_on> ternd_cluster::device(std::size_t i, std::uint64_t user,
                                                            std::uint64_t device_id, bool wait,
                                                            std::uint64_t of_tenant) {
    auto d = std::make_unique<sdk_device_on>();
    tc::options o;
    o.endpoints = {{tc::transport::tcp, "127.0.0.1", nodes[i]->port(), "/"}};
    const auto id = device_id ? device_id : user * 10;
    o.token_provider = [this, user, id, of_tenant] { return setup.token(of_tenant, user, id); };
    o.reconnect.initial_delay = 50ms;
    o.reconnect.max_delay = 500ms;
    d->client = std::make_unique<tc::client>(std::move(o), d->events);
    d->client->connect();
    if (wait) REQUIRE(d->events->wait([](const auto& l) { return l.connected(); }, 30s));
    return d;
}

// How many times the device got a Welcome.
inline std::size_t connections(const sdk_device_on& d) {
    return d.events->read([](const recording_listener& l) { return l.connections(); });
}

inline std::vector<std::string> texts_of(const sdk_device_on& d, const tc::conv_id& conv) {
    return d.events->read([&](const recording_listener& l) {
        std::vector<std::string> out;
        for (const auto& e : l.messages_of(conv)) out.push_back(e.content.text);
        return out;
    });
}

inline bool has_texts(const sdk_device_on& d, const tc::conv_id& conv, std::size_t n) {
    return d.events->wait(
        [&](const recording_listener& l) { return l.messages_of(conv).size() >= n; }, 60s);
}

// Sends texts m<from>..m<from+n-1> to `conv`, each completion into `acks`.
inline void send_batch(sdk_device_on& d, const tc::conv_id& conv, int from, int n,
                       send_results& acks) {
    for (int i = from; i < from + n; ++i) {
        d.client->send(conv, tc::content::from_text("m" + std::to_string(i)), acks.callback());
    }
}

// Every send was acknowledged with its own seq, 1..total without a gap, and `receiver` got each
// acknowledged message exactly once, in order.
inline void check_exactly_once(send_results& acks, const sdk_device_on& receiver,
                               const tc::conv_id& conv, std::size_t total) {
    REQUIRE(acks.wait(total, 120s));
    std::set<tc::seq_t> seqs;
    {
        std::lock_guard lock(acks.mutex);
        for (const auto& r : acks.results) {
            REQUIRE(r.ok());
            REQUIRE(seqs.insert(r->seq).second);
        }
    }
    CHECK(*seqs.rbegin() == total);
    REQUIRE(has_texts(receiver, conv, total));
    const auto got =
        receiver.events->read([&](const recording_listener& l) { return l.messages_of(conv); });
    std::set<tc::seq_t> seen;
    tc::seq_t last = 0;
    for (const auto& e : got) {
        CHECK(seen.insert(e.seq).second);
        CHECK(e.seq > last);
        last = e.seq;
    }
    CHECK(seen == seqs);
}

// `ternctl cluster status` over every running node: (exit code, what it printed).
inline std::pair<int, std::string> ternctl_cluster_status(const ternd_cluster& c) {
    std::string command = std::string(TERN_CTL) + " cluster status";
    for (const auto& n : c.nodes) {
        if (n) command += " --admin http://127.0.0.1:" + std::to_string(n->admin_port());
    }
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// `ternctl cluster status` until it calls the cluster healthy, for up to 30 s (leaderships may
// still be settling on a node that came back): the last (exit code, what it printed).
inline std::pair<int, std::string> ternctl_until_healthy(const ternd_cluster& c) {
    auto status = ternctl_cluster_status(c);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (status.first != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(500ms);
        status = ternctl_cluster_status(c);
    }
    return status;
}

// Once quiet, the nodes report the same applied position and digest for the tenant's
// partition, and exactly one of them owns it.
inline void check_replicas_agree(const ternd_cluster& c, const std::vector<std::size_t>& nodes) {
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        std::set<std::string> digests;
        std::set<std::uint64_t> applied;
        int owners = 0;
        std::string seen;  // what each node said, for a failure's message
        for (const auto i : nodes) {
            const auto part = c.partitions_of(i)["partitions"][p];
            seen += "node " + std::to_string(i) + ": " + part.dump() + "\n";
            digests.insert(part["digest"].get<std::string>());
            applied.insert(part["applied"].get<std::uint64_t>());
            owners += part["owner"].get<bool>() ? 1 : 0;
        }
        if ((digests.size() == 1 && applied.size() == 1 && owners == 1) ||
            std::chrono::steady_clock::now() > deadline) {
            INFO(seen);
            CHECK(applied.size() == 1);
            CHECK(digests.size() == 1);
            CHECK(owners == 1);
            return;
        }
        std::this_thread::sleep_for(100ms);
    }
}

// Completions so far.
inline std::size_t completed(send_results& acks) {
    std::lock_guard lock(acks.mutex);
    return acks.results.size();
}

inline double sum_of(const ternd_cluster& c, const std::string& series) {
    double total = 0;
    for (const auto& n : c.nodes) {
        if (n) total += metric(n->admin_port(), series);
    }
    return total;
}

// Seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds from `fault` until more than `before` sends have completed (up to 120 s; -1 if not):
// how long sends stalled after a fault, for docs/cluster.md. Never asserted (timings here are
// noisy); printed by report().
inline double stalled_since(send_results& acks, std::size_t before,
                            std::chrono::steady_clock::time_point fault) {
    while (completed(acks) <= before) {
        if (std::chrono::steady_clock::now() - fault > 120s) return -1;
        std::this_thread::sleep_for(10ms);
    }
    return seconds_since(fault);
}

// A figure a test measured, on stderr as "measured: ..." (collected into docs/cluster.md).
inline void report(const std::string& line) {
    std::fprintf(stderr, "measured: %s\n", line.c_str());
}

// Runs a shell command, its output discarded: its exit code.
inline int run_quietly(const std::string& command) {
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `ternctl checkpoint` on node `donor` (named `name`): the checkpoint's directory.
inline std::string checkpoint_of(const ternd_cluster& c, std::size_t donor,
                                 const std::string& name) {
    REQUIRE(run_quietly(
                std::string(TERN_CTL) + " checkpoint --name " + name + " --token " + admin_token +
                " --admin http://127.0.0.1:" + std::to_string(c.nodes[donor]->admin_port())) == 0);
    const auto dir = c.store_of(donor).string() + ".checkpoints/" + name;
    REQUIRE(std::filesystem::exists(dir));
    return dir;
}

// Node i's ternd store, deleted while its ternd is down, restored from `checkpoint` by
// `ternctl restore` (docs/cluster.md, "Recovery from a lost disk").
inline void restore_store(const ternd_cluster& c, std::size_t i, const std::string& checkpoint) {
    std::filesystem::remove_all(c.store_of(i));
    REQUIRE(run_quietly(std::string(TERN_CTL) + " restore --from " + checkpoint + " --data " +
                        c.store_of(i).string()) == 0);
}

// How the tenant's partition settled after a fault that stopped or cut off the nats-server
// leading its stream: all three replicas agree, or one halted as diverged and the two others
// agree. nats-server 2.9.10 may keep, in the copy of the server that led while it was cut off
// or paused, entries its cluster never committed, and the replica beside it (each replica reads
// its own server's copy) applies them. It then disagrees with both peers at the same entry and
// halts: it never serves another history (docs/cluster.md, "A stream copy that kept uncommitted
// entries").
struct settlement {
    double seconds = -1;                  // until settled; -1 when it did not within the limit
    std::optional<std::size_t> diverged;  // the node whose replica halted, if one did
    std::string seen;                     // what each node said, for a failure's message
};

inline settlement wait_until_settled(const ternd_cluster& c, std::chrono::seconds limit) {
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto start = std::chrono::steady_clock::now();
    settlement s;
    for (;;) {
        const auto all =
            std::array{c.partitions_of(0)["partitions"][p], c.partitions_of(1)["partitions"][p],
                       c.partitions_of(2)["partitions"][p]};
        s.seen = "node 0: " + all[0].dump() + "\nnode 1: " + all[1].dump() +
                 "\nnode 2: " + all[2].dump();
        const auto same = [&](std::size_t i, std::size_t j) {
            return all[i]["applied"] == all[j]["applied"] && all[i]["digest"] == all[j]["digest"] &&
                   all[i]["halted"] == "" && all[j]["halted"] == "";
        };
        if (same(0, 1) && same(1, 2)) break;
        for (std::size_t odd = 0; odd < 3 && !s.diverged; ++odd) {
            if (all[odd]["halted"] != "" && same((odd + 1) % 3, (odd + 2) % 3)) s.diverged = odd;
        }
        if (s.diverged) break;
        if (std::chrono::steady_clock::now() - start > limit) return s;
        std::this_thread::sleep_for(50ms);
    }
    s.seconds = seconds_since(start);
    return s;
}

// After wait_until_settled found node `s.diverged` halted: checks that it halted as diverged
// and was the node the fault struck (never a replica of the majority), then rebuilds it as
// docs/cluster.md says: a healthy node's checkpoint restored into its store, and started again.
inline void rebuild_diverged(ternd_cluster& c, const settlement& s, std::size_t struck,
                             const std::string& checkpoint_name) {
    REQUIRE(s.diverged);
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto halted = c.partitions_of(*s.diverged)["partitions"][p]["halted"].get<std::string>();
    INFO(halted);
    CHECK_THAT(halted, Catch::Contains("diverged from its peers'"));
    CHECK(*s.diverged == struck);
    const auto checkpoint = checkpoint_of(c, (*s.diverged + 1) % 3, checkpoint_name);
    c.nodes[*s.diverged]->kill9();
    restore_store(c, *s.diverged, checkpoint);
    c.bring_back(*s.diverged);
}

// Where Alice sits: on a node that does not own the tenant's partition (Bob on the other such
// node), or on the owner's node (Bob on another).
enum class seat { off_owner, on_owner };

// Alice and Bob about to talk, on two nodes; the third node holds neither.
struct alice_and_bob {
    explicit alice_and_bob(seat s = seat::off_owner, links l = links::direct) : where(s), c(l) {}

    seat where;  // first: the members below depend on it
    ternd_cluster c;
    // Before the devices: a device that goes while sends wait completes them, into this.
    send_results acks;
    std::size_t owner = c.owner_of_tenant();
    std::size_t sender_node = where == seat::on_owner ? owner : (owner + 1) % 3;
    std::size_t receiver_node = where == seat::on_owner ? (owner + 1) % 3 : (owner + 2) % 3;
    std::size_t idle_node = 3 - sender_node - receiver_node;  // the third node
    std::unique_ptr<sdk_device_on> alice = c.device(sender_node, 1);
    std::unique_ptr<sdk_device_on> bob = c.device(receiver_node, 2);
    tc::conv_id direct = tc::conv_id::direct(1, 2);

    void send(int from, int n) { send_batch(*alice, direct, from, n, acks); }
};

}  // namespace tern::test
