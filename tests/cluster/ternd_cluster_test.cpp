// Three ternd nodes over a 3-node nats-server cluster, as processes on loopback, with SDK clients
// spread over the nodes: messages, groups and receipts across nodes, and the kill -9 of the node
// that owns the tenant's partition (ternd and nats-server) losing nothing acknowledged. Every
// process is started and stopped by PID (nats_cluster, ternd_process).
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <tern/cluster/partition_map.hpp>

#include "http_client.hpp"
#include "nats_cluster.hpp"
#include "sdk_fixture.hpp"
#include "ternd_process.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

// One SDK device, connected to one node.
struct sdk_device_on {
    std::shared_ptr<recording_listener> events = std::make_shared<recording_listener>();
    std::unique_ptr<tc::client> client;
};

constexpr std::uint32_t partitions = 4;
constexpr std::uint64_t tenant = 1;
constexpr const char* admin_token = "cluster-admin-token-for-tests";
constexpr int max_devices = 2;  // per user, across the nodes

// 3 nats-server and 3 ternd (node i beside nats-server i, named alike).
struct ternd_cluster {
    ternd_setup setup{"tern-cluster", "fsync"};
    nats_cluster nats{setup.dir.path() / "nats", 3};
    std::vector<std::unique_ptr<ternd_process>> nodes{3};
    std::vector<std::pair<std::uint16_t, std::uint16_t>> ports{3};  // (tcp, admin) of each node

    ternd_cluster() {
        nats.start_all();
        for (std::size_t i = 0; i < 3; ++i) start(i);
        for (std::size_t i = 0; i < 3; ++i) wait_ready(i);
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

    // The node that owns the tenant's partition now, as node `ask` sees it.
    [[nodiscard]] std::size_t owner_of_tenant(std::size_t ask = 0) const {
        const auto p = cluster::partition_map(partitions).of(tenant);
        const auto leader = partitions_of(ask)["partitions"][p]["leader"].get<std::string>();
        for (std::size_t i = 0; i < 3; ++i) {
            if (nats.at(i).name == leader) return i;
        }
        FAIL("no leader for partition " << p);
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

    // A device of `user` (device id `device_id`, by default user * 10) started on node i; with
    // `wait`, until it is connected.
    std::unique_ptr<sdk_device_on> device(std::size_t i, std::uint64_t user,
                                          std::uint64_t device_id = 0, bool wait = true);
};

}  // namespace

namespace {
std::unique_ptr<sdk_device_on> ternd_cluster::device(std::size_t i, std::uint64_t user,
                                                     std::uint64_t device_id, bool wait) {
    auto d = std::make_unique<sdk_device_on>();
    tc::options o;
    o.endpoints = {{tc::transport::tcp, "127.0.0.1", nodes[i]->port(), "/"}};
    const auto id = device_id ? device_id : user * 10;
    o.token_provider = [this, user, id] { return setup.token(tenant, user, id); };
    o.reconnect.initial_delay = 50ms;
    o.reconnect.max_delay = 500ms;
    d->client = std::make_unique<tc::client>(std::move(o), d->events);
    d->client->connect();
    if (wait) REQUIRE(d->events->wait([](const auto& l) { return l.connected(); }, 30s));
    return d;
}

// How many times the device got a Welcome.
std::size_t connections(const sdk_device_on& d) {
    return d.events->read([](const recording_listener& l) { return l.connections(); });
}

std::vector<std::string> texts_of(const sdk_device_on& d, const tc::conv_id& conv) {
    return d.events->read([&](const recording_listener& l) {
        std::vector<std::string> out;
        for (const auto& e : l.messages_of(conv)) out.push_back(e.content.text);
        return out;
    });
}

bool has_texts(const sdk_device_on& d, const tc::conv_id& conv, std::size_t n) {
    return d.events->wait(
        [&](const recording_listener& l) { return l.messages_of(conv).size() >= n; }, 60s);
}

// Sends texts m<from>..m<from+n-1> to `conv`, each completion into `acks`.
void send_batch(sdk_device_on& d, const tc::conv_id& conv, int from, int n, send_results& acks) {
    for (int i = from; i < from + n; ++i) {
        d.client->send(conv, tc::content::from_text("m" + std::to_string(i)), acks.callback());
    }
}

// Every send was acknowledged with its own seq, 1..total without a gap, and `receiver` got each
// acknowledged message exactly once, in order.
void check_exactly_once(send_results& acks, const sdk_device_on& receiver, const tc::conv_id& conv,
                        std::size_t total) {
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
std::pair<int, std::string> ternctl_cluster_status(const ternd_cluster& c) {
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

// Once quiet, every node that applied as far as `reference` reports the same digest for the
// tenant's partition, and exactly one node owns it.
void check_replicas_agree(const ternd_cluster& c, const std::vector<std::size_t>& nodes) {
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        std::set<std::string> digests;
        std::set<std::uint64_t> applied;
        int owners = 0;
        for (const auto i : nodes) {
            const auto part = c.partitions_of(i)["partitions"][p];
            digests.insert(part["digest"].get<std::string>());
            applied.insert(part["applied"].get<std::uint64_t>());
            owners += part["owner"].get<bool>() ? 1 : 0;
        }
        if ((digests.size() == 1 && applied.size() == 1 && owners == 1) ||
            std::chrono::steady_clock::now() > deadline) {
            CHECK(applied.size() == 1);
            CHECK(digests.size() == 1);
            CHECK(owners == 1);
            return;
        }
        std::this_thread::sleep_for(100ms);
    }
}

}  // namespace

// Alice and Bob, on the two nodes that do not own the tenant's partition, about to talk.
struct pair_off_owner {
    ternd_cluster c;
    // Before the devices: a device that goes while sends wait completes them, into this.
    send_results acks;
    std::size_t owner = c.owner_of_tenant();
    std::size_t sender_node = (owner + 1) % 3;
    std::size_t receiver_node = (owner + 2) % 3;
    std::unique_ptr<sdk_device_on> alice = c.device(sender_node, 1);
    std::unique_ptr<sdk_device_on> bob = c.device(receiver_node, 2);
    tc::conv_id direct = tc::conv_id::direct(1, 2);

    void send(int from, int n) { send_batch(*alice, direct, from, n, acks); }
};

TEST_CASE("clients on different nodes talk 1:1 and in a group, with receipts", "[cluster][ternd]") {
    ternd_cluster c;
    send_results acks;  // outlives the devices, whose last completions land in it
    auto alice = c.device(0, 1);
    auto bob = c.device(2, 2);
    auto carol = c.device(1, 3);

    const auto direct = tc::conv_id::direct(1, 2);
    alice->client->send(direct, tc::content::from_text("hello bob"), acks.callback());
    REQUIRE(acks.wait(1, 30s));
    REQUIRE(acks.results[0].ok());
    REQUIRE(has_texts(*bob, direct, 1));
    CHECK(texts_of(*bob, direct) == std::vector<std::string>{"hello bob"});

    awaited<tc::sent> created;
    alice->client->create_group("three nodes", {2, 3}, created.callback());
    const auto made = created.get();
    REQUIRE(made.ok());
    bob->client->send(made->conv, tc::content::from_text("from node 3"), acks.callback());
    carol->client->send(made->conv, tc::content::from_text("from node 2"), acks.callback());
    REQUIRE(acks.wait(3, 30s));
    for (auto* d : {alice.get(), bob.get(), carol.get()}) {
        REQUIRE(has_texts(*d, made->conv, 2));
        auto texts = texts_of(*d, made->conv);
        std::sort(texts.begin(), texts.end());
        CHECK(texts == std::vector<std::string>{"from node 2", "from node 3"});
    }

    // Bob reads the direct conversation; Alice, on another node, sees the receipt.
    bob->client->mark_read(direct, acks.results[0]->seq);
    REQUIRE(alice->events->wait(
        [&](const recording_listener& l) {
            for (const auto& r : l.receipts) {
                if (r.conv != direct) continue;
                for (const auto& cursor : r.cursors) {
                    if (cursor.user == 2 && cursor.read_up_to >= 1) return true;
                }
            }
            return false;
        },
        30s));

    // Every node's replica of every partition agrees.
    const auto a = c.partitions_of(0)["partitions"];
    for (std::size_t i = 1; i < 3; ++i) {
        const auto b = c.partitions_of(i)["partitions"];
        for (std::size_t p = 0; p < partitions; ++p) {
            if (a[p]["applied"] == b[p]["applied"]) CHECK(a[p]["digest"] == b[p]["digest"]);
        }
    }
}

TEST_CASE("across nodes: edit, recall, presence, typing, the device limit and a replaced device",
          "[cluster][ternd]") {
    ternd_cluster c;
    send_results acks;  // outlives the devices, whose last completions land in it
    auto alice = c.device(0, 1);
    auto bob = c.device(2, 2);
    const auto direct = tc::conv_id::direct(1, 2);
    const auto event_of = [&](tc::event_kind kind) {
        return [&, kind](const recording_listener& l) {
            return std::any_of(l.events.begin(), l.events.end(), [&](const tc::event& e) {
                return e.conv == direct && e.kind == kind && e.target_seq == 1;
            });
        };
    };

    // A message, its edit and its recall reach Bob on another node, each once, in order.
    send_batch(*alice, direct, 0, 1, acks);
    REQUIRE(acks.wait(1, 30s));
    REQUIRE(has_texts(*bob, direct, 1));
    alice->client->edit(direct, 1, tc::content::from_text("m0, edited"), acks.callback());
    REQUIRE(bob->events->wait(event_of(tc::event_kind::edit), 30s));
    alice->client->recall(direct, 1, acks.callback());
    REQUIRE(bob->events->wait(event_of(tc::event_kind::recall), 30s));
    REQUIRE(acks.wait(3, 30s));
    for (const auto& r : acks.results) REQUIRE(r.ok());
    const auto seqs = bob->events->read([&](const recording_listener& l) {
        std::vector<tc::seq_t> out;
        for (const auto& e : l.events) {
            if (e.conv == direct) out.push_back(e.seq);
        }
        return out;
    });
    CHECK(seqs == std::vector<tc::seq_t>{1, 2, 3});

    // Presence and typing travel between nodes: Bob watches Alice.
    bob->client->subscribe_presence({1});
    REQUIRE(bob->events->wait([](const recording_listener& l) {
        return std::any_of(l.presence.begin(), l.presence.end(), [](const tc::presence& p) {
            return p.user == 1 && p.status == tc::presence_status::online;
        });
    }));
    alice->client->set_presence(tc::presence_status::do_not_disturb, "in a meeting");
    REQUIRE(bob->events->wait([](const recording_listener& l) {
        return std::any_of(l.presence.begin(), l.presence.end(), [](const tc::presence& p) {
            return p.user == 1 && p.status == tc::presence_status::do_not_disturb &&
                   p.text == "in a meeting";
        });
    }));
    alice->client->set_typing(direct, true);
    REQUIRE(bob->events->wait([&](const recording_listener& l) {
        return std::any_of(l.typing.begin(), l.typing.end(), [&](const tc::typing& t) {
            return t.conv == direct && t.user == 1 && t.active;
        });
    }));

    // Alice's devices on three nodes: the second is admitted, the third is over the limit the
    // owner keeps for all of her devices wherever they connect.
    auto laptop = c.device(1, 1, 11);
    auto tablet = c.device(2, 1, 12, false);
    REQUIRE(tablet->events->wait(
        [](const recording_listener& l) {
            return std::any_of(l.states.begin(), l.states.end(), [](const tc::state_change& s) {
                return s.reason == tc::disconnect_reason::too_many_devices;
            });
        },
        30s));
    CHECK(connections(*tablet) == 0);
    tablet.reset();

    // Alice's first device connects again through another node: the old connection is
    // replaced, and the SDK does not fight back.
    auto again = c.device(1, 1, 10);
    REQUIRE(alice->events->wait(
        [](const recording_listener& l) {
            return !l.states.empty() && l.states.back().state == tc::connection_state::stopped &&
                   l.states.back().reason == tc::disconnect_reason::replaced;
        },
        30s));
    // The new connection is the device: it gets what Bob sends.
    bob->client->send(direct, tc::content::from_text("still there?"), acks.callback());
    REQUIRE(again->events->wait(
        [&](const recording_listener& l) {
            return std::any_of(l.events.begin(), l.events.end(),
                               [](const tc::event& e) { return e.content.text == "still there?"; });
        },
        30s));
    CHECK(laptop->events->read([](const auto& l) { return l.connected(); }));
}

TEST_CASE("killing the owner's whole node loses nothing acknowledged", "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;

    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    // The owner's ternd and nats-server die at once; the others elect a new leader.
    c.nodes[owner]->kill9();
    c.nats.kill9(owner);
    t.send(20, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    // Neither client lost its connection: the nodes they use kept running.
    CHECK(connections(*t.alice) == 1);
    CHECK(connections(*t.bob) == 1);

    // The node comes back, catches up from the stream, and agrees with the others.
    c.bring_back(owner);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("killing only the owner's ternd: a peer hands the partition on, nothing is lost",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    // Its nats-server lives on and keeps leading the stream; its ternd is gone.
    c.nodes[owner]->kill9();
    t.send(10, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    CHECK(c.owner_of_tenant(t.sender_node) != owner);
    c.bring_back(owner);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("killing a follower's node stalls nothing, and it catches up", "[cluster][ternd]") {
    ternd_cluster c;
    send_results acks;  // outlives the devices, whose last completions land in it
    const auto owner = c.owner_of_tenant();
    const auto follower = (owner + 1) % 3;
    const auto other = (owner + 2) % 3;
    auto alice = c.device(owner, 1);
    auto bob = c.device(other, 2);
    const auto direct = tc::conv_id::direct(1, 2);
    send_batch(*alice, direct, 0, 20, acks);
    c.nodes[follower]->kill9();
    c.nats.kill9(follower);
    send_batch(*alice, direct, 20, 20, acks);
    check_exactly_once(acks, *bob, direct, 40);
    CHECK(c.owner_of_tenant(owner) == owner);  // no election: the leader never left
    {
        // ternctl names the node it cannot reach, and fails.
        const auto [code, out] = ternctl_cluster_status(c);
        INFO(out);
        CHECK(code == 3);
        CHECK_THAT(out, Catch::Contains("cannot reach ternd's admin listener"));
    }
    c.bring_back(follower);
    check_replicas_agree(c, {0, 1, 2});
    // Leaderships may still be settling on the returned node: healthy within seconds.
    auto [code, out] = ternctl_cluster_status(c);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (code != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(500ms);
        std::tie(code, out) = ternctl_cluster_status(c);
    }
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out,
               Catch::Contains("3 node(s) answered, 4 partition(s)") && Catch::Contains("healthy"));
}

TEST_CASE("a paused owner's late appends fail the fence, and no seq repeats", "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    // SIGSTOP both processes of the owner's node for 12 s, while sends go on elsewhere.
    c.nodes[owner]->signal(SIGSTOP);
    c.nats.pause(owner);
    t.send(10, 20);
    std::this_thread::sleep_for(12s);
    c.nats.resume(owner);
    c.nodes[owner]->signal(SIGCONT);
    t.send(30, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    // The old owner gave its term up (counted), and another node began one: one owner, and
    // the replicas agree.
    check_replicas_agree(c, {0, 1, 2});
    const auto ended = R"(tern_cluster_owner_changes_total{change="ended"})";
    const auto began = R"(tern_cluster_owner_changes_total{change="began"})";
    CHECK(metric(c.nodes[owner]->admin_port(), ended) >= 1);
    double began_elsewhere = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (i != owner) began_elsewhere += metric(c.nodes[i]->admin_port(), began);
    }
    CHECK(began_elsewhere >= 1);
}

TEST_CASE("a drained owner hands its partitions over without a client reconnecting",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    c.nodes[owner]->signal(SIGTERM);
    t.send(10, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    const auto exit_code = c.nodes[owner]->wait_exit(30s);
    if (exit_code != 0) {
        std::ifstream log(c.setup.dir.path() / (c.nats.at(owner).name + ".log"));
        std::stringstream text;
        text << log.rdbuf();
        const auto all = text.str();
        UNSCOPED_INFO(all.substr(all.size() > 6000 ? all.size() - 6000 : 0));
    }
    CHECK(exit_code == 0);
    CHECK(c.owner_of_tenant(t.sender_node) != owner);
    CHECK(connections(*t.alice) == 1);
    CHECK(connections(*t.bob) == 1);
    check_replicas_agree(c, {t.sender_node, t.receiver_node});
}

namespace {

// Completions so far.
std::size_t completed(send_results& acks) {
    std::lock_guard lock(acks.mutex);
    return acks.results.size();
}

double sum_of(const ternd_cluster& c, const std::string& series) {
    double total = 0;
    for (const auto& n : c.nodes) {
        if (n) total += metric(n->admin_port(), series);
    }
    return total;
}

}  // namespace

TEST_CASE("without a quorum nothing is acknowledged, and after it everything acked is there",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    // Two of three nats-servers gone: the partition's stream has no quorum. Every ternd still
    // reaches the owner's nats-server, so requests travel and are refused, retryably.
    c.nats.kill9(t.sender_node);
    c.nats.kill9(t.receiver_node);
    t.send(10, 10);
    std::this_thread::sleep_for(10s);
    CHECK(completed(t.acks) == 10);  // no ack without a quorum, and no final error either
    CHECK(sum_of(c, R"(tern_request_errors_total{code="unavailable"})") >= 1);
    c.nats.start(t.sender_node);
    c.nats.start(t.receiver_node);
    c.nats.wait_listening(t.sender_node);
    c.nats.wait_listening(t.receiver_node);
    t.send(20, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("a node that lost its disk rejoins: it rebuilds from the log and agrees",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    // The owner's machine dies and comes back with empty disks.
    c.lose_disks(owner);
    t.send(20, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    c.bring_back(owner);
    // It applied the whole log again: the same position and digest as the others, and the
    // partition keeps one owner.
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("a rolling restart of every node: each client reconnects at most once, nothing lost",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    int sent = 0;
    const auto send_some = [&] {
        t.send(sent, 10);
        sent += 10;
    };
    send_some();
    REQUIRE(t.acks.wait(10, 30s));
    // One node at a time, as an operator would: ternd drains (its partitions move away first),
    // then its nats-server stops; both start again and catch up before the next node goes.
    for (const auto i : {t.owner, t.sender_node, t.receiver_node}) {
        CAPTURE(i);
        c.nodes[i]->signal(SIGTERM);
        send_some();
        CHECK(c.nodes[i]->wait_exit(30s) == 0);
        c.nats.stop(i);
        send_some();
        c.bring_back(i);
        send_some();
        UNSCOPED_INFO("node " << i << " back: " << completed(t.acks) << " of " << sent
                              << " acknowledged; Alice connected " << connections(*t.alice)
                              << " times, Bob " << connections(*t.bob));
    }
    check_exactly_once(t.acks, *t.bob, t.direct, static_cast<std::size_t>(sent));
    CHECK(connections(*t.alice) <= 2);
    CHECK(connections(*t.bob) <= 2);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("a node that lost its disk is rebuilt from another node's checkpoint",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    const auto run = [](const std::string& command) {
        const int status = std::system((command + " >/dev/null 2>&1").c_str());
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    // A checkpoint of Bob's node, which holds every partition like any replica.
    const auto donor = t.receiver_node;
    const auto donor_store = c.store_of(donor);
    REQUIRE(run(std::string(TERN_CTL) + " checkpoint --name before-the-fire --token " +
                admin_token +
                " --admin http://127.0.0.1:" + std::to_string(c.nodes[donor]->admin_port())) == 0);
    const auto checkpoint = donor_store.string() + ".checkpoints/before-the-fire";
    REQUIRE(std::filesystem::exists(checkpoint));

    // The owner's machine dies with its disks; meanwhile the others go on.
    c.lose_disks(owner);
    const auto owner_store = c.store_of(owner);
    t.send(20, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);

    // Restored from the checkpoint, it reads each log on from the checkpoint's position.
    REQUIRE(run(std::string(TERN_CTL) + " restore --from " + checkpoint + " --data " +
                owner_store.string()) == 0);
    CHECK(run(std::string(TERN_CTL) + " restore --from " + checkpoint + " --data " +
              owner_store.string()) != 0);  // never over a store
    c.bring_back(owner);
    check_replicas_agree(c, {0, 1, 2});
    std::ifstream log(c.setup.dir.path() / (c.nats.at(owner).name + ".log"));
    std::stringstream text;
    text << log.rdbuf();
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto line = "partition " + std::to_string(p) + ": reading its log on after entry ";
    CHECK_THAT(text.str(), Catch::Contains(line) && !Catch::Contains(line + "0 "));
}

TEST_CASE("only the owner syncs its partition's entries: the standbys apply without an fsync",
          "[cluster][ternd]") {
    pair_off_owner t;
    auto& c = t.c;
    const auto syncs = [&](std::size_t i) {
        return metric(c.nodes[i]->admin_port(), "tern_storage_sync_duration_seconds_count");
    };
    t.send(0, 1);
    REQUIRE(t.acks.wait(1, 30s));
    check_replicas_agree(c, {0, 1, 2});  // every replica applied it: the counts are quiet now
    const std::array<double, 3> before{syncs(0), syncs(1), syncs(2)};
    t.send(1, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 21);
    check_replicas_agree(c, {0, 1, 2});
    // The owner acknowledged each send after its own fsync; Alice's and Bob's nodes applied
    // the same entries (the digests agree) without one.
    CHECK(syncs(t.owner) > before[t.owner]);
    CHECK(syncs(t.sender_node) == before[t.sender_node]);
    CHECK(syncs(t.receiver_node) == before[t.receiver_node]);
}
