// The cluster when the network between its nodes fails: every link between nodes (the NATS
// routes, and each ternd's connections to its peers' nats-servers) goes through a proxy the test
// controls (tests/support/fault_network.hpp). An isolated owner, an isolated follower, and slow,
// lossy links under load, each checked by the exactly-once checker and by replicas that agree.
//
// Each test prints what it measured (seconds until a new owner, seconds of stalled sends) as a
// line starting "measured:", for docs/cluster.md; nothing asserts a duration.
#include <array>
#include <cstdio>
#include <optional>

#include "ternd_cluster.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

// Whether node i runs a term for the tenant's partition now.
bool owns_tenant(const ternd_cluster& c, std::size_t i) {
    const auto p = cluster::partition_map(partitions).of(tenant);
    return c.partitions_of(i)["partitions"][p]["owner"].get<bool>();
}

}  // namespace

TEST_CASE("an isolated owner acknowledges nothing, a new owner takes over, and no seq repeats",
          "[cluster][ternd][network]") {
    alice_and_bob t(seat::off_owner, links::through_proxies);
    auto& c = t.c;
    const auto owner = t.owner;
    // Carol talks to Bob from the owner's node, which is about to be cut off.
    send_results carol_acks;
    auto carol = c.device(owner, 3);
    const auto carol_conv = tc::conv_id::direct(2, 3);
    t.send(0, 10);
    send_batch(*carol, carol_conv, 0, 5, carol_acks);
    REQUIRE(t.acks.wait(10, 30s));
    REQUIRE(carol_acks.wait(5, 30s));

    c.network->isolate(owner);
    const auto cut = clock_type::now();
    t.send(10, 20);
    send_batch(*carol, carol_conv, 5, 10, carol_acks);
    // The majority elects a new leader for the stream, and the ternd beside it takes the term;
    // Alice's sends, waiting meanwhile, go through. Both timed from the cut.
    double new_owner_after = -1;
    double acked_after = -1;
    while ((new_owner_after < 0 || acked_after < 0) && clock_type::now() - cut < 60s) {
        if (new_owner_after < 0 &&
            (owns_tenant(c, t.sender_node) || owns_tenant(c, t.receiver_node))) {
            new_owner_after = seconds_since(cut);
        }
        if (acked_after < 0 && completed(t.acks) > 10) acked_after = seconds_since(cut);
        std::this_thread::sleep_for(20ms);
    }
    CHECK(new_owner_after >= 0);
    CHECK(acked_after >= 0);
    // Alice's sends go through on the majority side, while nothing is acknowledged to Carol on
    // the minority side for the whole 20 s (and nothing fails her for good: she waits).
    std::this_thread::sleep_until(cut + 20s);
    CHECK(completed(carol_acks) == 5);
    const auto fenced_before_heal =
        metric(c.nodes[owner]->admin_port(), R"(tern_cluster_appends_total{outcome="fenced"})");

    c.network->heal();
    const auto healed = clock_type::now();
    t.send(30, 10);
    send_batch(*carol, carol_conv, 15, 5, carol_acks);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    check_exactly_once(carol_acks, *t.bob, carol_conv, 20);
    const auto carol_after_heal = seconds_since(healed);

    // The cut-off node's replica may have diverged (halted); the two others agree.
    const auto settled = wait_until_settled(c, 60s);
    INFO(settled.seen << "\nthe owner was node " << owner);
    REQUIRE(settled.seconds >= 0);
    // Read before a rebuild restarts a node.
    const auto ended = R"(tern_cluster_owner_changes_total{change="ended"})";
    const auto began = R"(tern_cluster_owner_changes_total{change="began"})";
    CHECK(metric(c.nodes[owner]->admin_port(), ended) >= 1);
    const auto fenced_in_all =
        metric(c.nodes[owner]->admin_port(), R"(tern_cluster_appends_total{outcome="fenced"})");
    const auto began_elsewhere = metric(c.nodes[t.sender_node]->admin_port(), began) +
                                 metric(c.nodes[t.receiver_node]->admin_port(), began);
    if (settled.diverged) rebuild_diverged(c, settled, owner, "after-the-split");
    check_replicas_agree(c, {0, 1, 2});

    // The old owner gave its term up, another node began one, and any append the old owner
    // tried with its stale position was refused by the fence (counted, never acknowledged).
    CHECK(began_elsewhere >= 1);
    const auto fenced_after_heal = fenced_in_all - fenced_before_heal;
    report("isolated owner (node " + std::to_string(owner) + "): new owner after " +
           std::to_string(new_owner_after) + " s, majority sends stalled " +
           std::to_string(acked_after) + " s, minority sends all acknowledged " +
           std::to_string(carol_after_heal) +
           " s after healing; old owner's fenced appends: " + std::to_string(fenced_before_heal) +
           " before healing, " + std::to_string(fenced_after_heal) + " after; " +
           (settled.diverged ? "node " + std::to_string(*settled.diverged) +
                                   "'s replica diverged (halted, rebuilt from a checkpoint)"
                             : std::string("every replica agreed")));
}

TEST_CASE("an isolated follower stalls nothing, and catches up when the network heals",
          "[cluster][ternd][network]") {
    alice_and_bob t(seat::on_owner, links::through_proxies);
    auto& c = t.c;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));

    c.network->isolate(t.idle_node);
    const auto cut = clock_type::now();
    // Sends go on, one at a time, for 20 s; the slowest acknowledgement is recorded.
    double slowest = 0;
    int sent = 10;
    while (clock_type::now() - cut < 20s) {
        const auto start = clock_type::now();
        t.send(sent++, 1);
        REQUIRE(t.acks.wait(static_cast<std::size_t>(sent), 60s));
        slowest = std::max(slowest, seconds_since(start));
        std::this_thread::sleep_for(100ms);
    }
    CHECK(owns_tenant(c, t.owner));  // no election: the leader kept its quorum
    c.network->heal();
    check_exactly_once(t.acks, *t.bob, t.direct, static_cast<std::size_t>(sent));
    CHECK(connections(*t.alice) == 1);
    CHECK(connections(*t.bob) == 1);
    check_replicas_agree(c, {0, 1, 2});
    report("isolated follower: " + std::to_string(sent - 10) +
           " sends one at a time over 20 s, slowest acknowledged in " + std::to_string(slowest) +
           " s");
}

TEST_CASE("slow and lossy links under load: acknowledgements slow down, nothing is lost",
          "[cluster][ternd][network]") {
    alice_and_bob t(seat::off_owner, links::through_proxies);
    auto& c = t.c;
    const auto timed_batch = [&](int from, int n) {
        const auto start = clock_type::now();
        t.send(from, n);
        REQUIRE(t.acks.wait(static_cast<std::size_t>(from + n), 120s));
        return seconds_since(start);
    };
    const auto clean = timed_batch(0, 50);
    const auto chunks_before = c.network->chunks();
    // Every link, both ways: 20-30 ms each way, and 5 % of chunks wait a retransmission.
    c.network->set_delay(20ms, 10ms);
    c.network->set_loss(0.05);
    const auto faulty = timed_batch(50, 300);
    CHECK(c.network->retransmissions() > 0);  // the fault was there
    c.network->heal();
    check_exactly_once(t.acks, *t.bob, t.direct, 350);
    CHECK(connections(*t.alice) == 1);
    CHECK(connections(*t.bob) == 1);
    check_replicas_agree(c, {0, 1, 2});
    report("slow links: 50 sends took " + std::to_string(clean) + " s on a clean network, 300 " +
           std::to_string(faulty) + " s with 20-30 ms delay and 5 % loss on every link (" +
           std::to_string(c.network->retransmissions()) + " retransmissions in " +
           std::to_string(c.network->chunks() - chunks_before) + " chunks)");
}
