// Three ternd nodes over a 3-node nats-server cluster, as processes on loopback, with SDK clients
// spread over the nodes: messages, groups and receipts across nodes, and the kill -9 of the node
// that owns the tenant's partition (ternd and nats-server) losing nothing acknowledged. Every
// process is started and stopped by PID (nats_cluster, ternd_process).
#include <map>
#include <set>

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

// 3 nats-server and 3 ternd (node i beside nats-server i, named alike).
struct ternd_cluster {
    ternd_setup setup{"tern-cluster", "fsync"};
    nats_cluster nats{setup.dir.path() / "nats", 3};
    std::vector<std::unique_ptr<ternd_process>> nodes{3};

    ternd_cluster() {
        nats.start_all();
        for (std::size_t i = 0; i < 3; ++i) start(i);
        for (std::size_t i = 0; i < 3; ++i) wait_ready(i);
    }

    void start(std::size_t i) {
        std::string servers;
        for (const auto& u : nats.urls_from(i)) servers += (servers.empty() ? "" : ",") + u;
        const auto name = nats.at(i).name;
        nodes[i] = std::make_unique<ternd_process>(
            TERND_BINARY, setup.config_file, (setup.dir.path() / (name + ".log")).string(),
            std::vector<std::string>{
                "cluster.enabled=true", "cluster.node=" + name, "cluster.nats_servers=" + servers,
                "cluster.partitions=" + std::to_string(partitions),
                "server.data_dir=" + (setup.dir.path() / name / "store").string(),
                "admin.drain_seconds=1"});
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

    // The node that owns the tenant's partition now.
    [[nodiscard]] std::size_t owner_of_tenant() const {
        const auto p = cluster::partition_map(partitions).of(tenant);
        const auto leader = partitions_of(0)["partitions"][p]["leader"].get<std::string>();
        for (std::size_t i = 0; i < 3; ++i) {
            if (nats.at(i).name == leader) return i;
        }
        FAIL("no leader for partition " << p);
        return 0;
    }

    // A device of `user` connected to node i.
    std::unique_ptr<sdk_device_on> device(std::size_t i, std::uint64_t user);
};

}  // namespace

namespace {
std::unique_ptr<sdk_device_on> ternd_cluster::device(std::size_t i, std::uint64_t user) {
    auto d = std::make_unique<sdk_device_on>();
    tc::options o;
    o.endpoints = {{tc::transport::tcp, "127.0.0.1", nodes[i]->port(), "/"}};
    o.token_provider = [this, user] { return setup.token(tenant, user, user * 10); };
    o.reconnect.initial_delay = 50ms;
    o.reconnect.max_delay = 500ms;
    d->client = std::make_unique<tc::client>(std::move(o), d->events);
    d->client->connect();
    REQUIRE(d->events->wait([](const auto& l) { return l.connected(); }, 30s));
    return d;
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

}  // namespace

TEST_CASE("clients on different nodes talk 1:1 and in a group, with receipts", "[cluster][ternd]") {
    ternd_cluster c;
    auto alice = c.device(0, 1);
    auto bob = c.device(2, 2);
    auto carol = c.device(1, 3);

    const auto direct = tc::conv_id::direct(1, 2);
    send_results acks;
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

TEST_CASE("killing the owner's whole node loses nothing acknowledged", "[cluster][ternd]") {
    ternd_cluster c;
    const auto owner = c.owner_of_tenant();
    const auto sender_node = (owner + 1) % 3;
    const auto receiver_node = (owner + 2) % 3;
    auto alice = c.device(sender_node, 1);
    auto bob = c.device(receiver_node, 2);
    const auto direct = tc::conv_id::direct(1, 2);

    send_results acks;
    constexpr int before = 20;
    constexpr int after = 20;
    for (int i = 0; i < before; ++i) {
        alice->client->send(direct, tc::content::from_text("m" + std::to_string(i)),
                            acks.callback());
    }
    REQUIRE(acks.wait(before, 30s));
    // The owner's ternd and nats-server die at once; the others elect a new leader.
    c.nodes[owner]->kill9();
    c.nats.kill9(owner);
    for (int i = before; i < before + after; ++i) {
        alice->client->send(direct, tc::content::from_text("m" + std::to_string(i)),
                            acks.callback());
    }
    REQUIRE(acks.wait(before + after, 90s));
    std::set<tc::seq_t> seqs;
    for (const auto& r : acks.results) {
        REQUIRE(r.ok());
        REQUIRE(seqs.insert(r->seq).second);  // no seq given twice
    }
    CHECK(*seqs.rbegin() == before + after);  // no gap

    // Bob has every acknowledged message once, in order.
    REQUIRE(has_texts(*bob, direct, before + after));
    const auto got =
        bob->events->read([&](const recording_listener& l) { return l.messages_of(direct); });
    std::set<tc::seq_t> seen;
    tc::seq_t last = 0;
    for (const auto& e : got) {
        CHECK(seen.insert(e.seq).second);
        CHECK(e.seq > last);
        last = e.seq;
    }
    CHECK(seen == seqs);
    // Neither client lost its connection: the nodes they use kept running.
    CHECK(alice->events->read([](const auto& l) { return l.connections(); }) == 1);
    CHECK(bob->events->read([](const auto& l) { return l.connections(); }) == 1);

    // The node comes back, catches up from the stream, and agrees with the others.
    c.nats.start(owner);
    c.nats.wait_listening(owner);
    c.start(owner);
    c.wait_ready(owner);
    const auto survivor = c.partitions_of(sender_node)["partitions"];
    const auto back = c.partitions_of(owner)["partitions"];
    const auto p = cluster::partition_map(partitions).of(tenant);
    CHECK(back[p]["applied"] == survivor[p]["applied"]);
    CHECK(back[p]["digest"] == survivor[p]["digest"]);
}
