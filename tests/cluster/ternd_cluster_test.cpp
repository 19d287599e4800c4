// The cluster through the SDK: messages, groups and receipts across nodes, and each fault a
// node can suffer (kill -9 of a whole node or of its ternd, a pause, a drain, quorum loss, a lost
// disk, a rolling restart) losing nothing acknowledged. tests/support/ternd_cluster.hpp starts
// the processes and stops them by PID.
#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include "cluster_fixtures.hpp"
#include "gate_executor.hpp"
#include "ternd_cluster.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

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

    // Carol mutes the group to mentions (through the replicated log); Bob's next message
    // reaches her unannounced and Alice with an alert, through their gateways; one mentioning
    // Carol alerts her.
    awaited<tc::ok> muted;
    carol->client->mute(made->conv, tc::notify_level::mentions, 0, muted.callback());
    REQUIRE(muted.get().ok());
    REQUIRE(carol->events->wait([](const recording_listener& l) { return !l.mutes.empty(); }, 30s));
    bob->client->send(made->conv, tc::content::from_text("plain"), acks.callback());
    auto mention = tc::content::from_text("@carol");
    mention.mentions = {3};
    bob->client->send(made->conv, mention, acks.callback());
    REQUIRE(acks.wait(5, 30s));
    const auto notice_of = [&](const sdk_device_on& d, const std::string& text) {
        return d.events->read([&](const recording_listener& l) {
            for (const auto& e : l.messages_of(made->conv)) {
                if (e.content.text == text) return e.notice;
            }
            return tc::notice::unspecified;
        });
    };
    REQUIRE(has_texts(*carol, made->conv, 4));
    REQUIRE(has_texts(*alice, made->conv, 4));
    CHECK(notice_of(*carol, "plain") == tc::notice::none);
    CHECK(notice_of(*carol, "@carol") == tc::notice::alert);
    CHECK(notice_of(*alice, "plain") == tc::notice::alert);

    // Alice (node 1) goes into do-not-disturb (a settings entry through the log): Carol's next
    // message reaches her silently, Bob with an alert.
    tc::notification_settings dnd;
    dnd.dnd_until_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch() + 1h)
                           .count();
    awaited<tc::ok> set;
    alice->client->set_notification_settings(dnd, set.callback());
    REQUIRE(set.get().ok());
    carol->client->send(made->conv, tc::content::from_text("quiet please"), acks.callback());
    REQUIRE(acks.wait(6, 30s));
    REQUIRE(has_texts(*alice, made->conv, 5));
    REQUIRE(has_texts(*bob, made->conv, 5));
    CHECK(notice_of(*alice, "quiet please") == tc::notice::silent);
    CHECK(notice_of(*bob, "quiet please") == tc::notice::alert);

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

    // Who read Bob's message in the group, asked by Alice on node 1: Carol (node 2) read it, and
    // nobody else yet.
    const auto bobs = alice->events->read([&](const recording_listener& l) {
        for (const auto& e : l.messages_of(made->conv)) {
            if (e.content.text == "from node 3") return e.seq;
        }
        return tc::seq_t{0};
    });
    REQUIRE(bobs != 0);
    carol->client->mark_read(made->conv, bobs);
    const auto read_by_carol = [&] {
        awaited<tc::who_read> asked;
        alice->client->who_read(made->conv, bobs, true, asked.callback());
        const auto w = asked.get();
        return w.ok() && w->read_users == std::vector<tc::user_id>{3};
    };
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!read_by_carol() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
    }
    CHECK(read_by_carol());

    // Another tenant's users with the same ids, on the same nodes: nothing crosses. Tenant 2's
    // "Alice" writes to its "Bob"; tenant 1's Bob gets nothing, tenant 2's Bob gets it.
    auto other_alice = c.device(0, 1, 0, true, other_tenant);
    auto other_bob = c.device(2, 2, 0, true, other_tenant);
    other_alice->client->send(direct, tc::content::from_text("tenant 2 only"), acks.callback());
    REQUIRE(has_texts(*other_bob, direct, 1));
    CHECK(texts_of(*other_bob, direct) == std::vector<std::string>{"tenant 2 only"});
    std::this_thread::sleep_for(500ms);  // a push across tenants would have arrived by now
    CHECK(texts_of(*bob, direct) == std::vector<std::string>{"hello bob"});

    // Every node's replica of every partition agrees, and with one owner at a time no replica
    // refused an entry as a stale owner's (shown in the metrics too).
    for (std::size_t i = 0; i < 3; ++i) {
        const auto seen = c.partitions_of(i);  // the loop below reads into it
        for (const auto& part : seen["partitions"]) CHECK(part["refused"] == 0);
    }
    CHECK_THAT(http_get(c.nodes[0]->admin_port(), "/metrics").body,
               Catch::Contains(R"(tern_cluster_refused_entries{partition="0"} 0)"));
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

TEST_CASE("killing the owner's whole node loses nothing acknowledged, and no tenant sees another's",
          "[cluster][ternd]") {
    alice_and_bob t;
    auto& c = t.c;
    const auto owner = t.owner;
    // Another tenant's Alice and Bob, with the same user ids on the same nodes, in the same
    // partition: one owner serves both, and the failover moves both.
    send_results other_acks;
    auto other_alice = c.device(t.sender_node, 1, 0, true, other_tenant);
    auto other_bob = c.device(t.receiver_node, 2, 0, true, other_tenant);
    const auto other_send = [&](int from, int n) {
        for (int i = from; i < from + n; ++i) {
            other_alice->client->send(t.direct, tc::content::from_text("t2-" + std::to_string(i)),
                                      other_acks.callback());
        }
    };

    t.send(0, 20);
    other_send(0, 10);
    REQUIRE(t.acks.wait(20, 30s));
    // The owner's ternd and nats-server die at once; the others elect a new leader.
    c.nodes[owner]->kill9();
    c.nats.kill9(owner);
    const auto fault = std::chrono::steady_clock::now();
    t.send(20, 20);
    other_send(10, 10);
    const auto stalled = stalled_since(t.acks, 20, fault);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    check_exactly_once(other_acks, *other_bob, t.direct, 20);
    report("owner's node killed: sends stalled " + std::to_string(stalled) + " s");
    // Each Bob got exactly his own tenant's messages (the check above: each seq once; here:
    // whose they are).
    for (const auto& text : texts_of(*t.bob, t.direct)) CHECK(text.rfind("m", 0) == 0);
    for (const auto& text : texts_of(*other_bob, t.direct)) CHECK(text.rfind("t2-", 0) == 0);
    // Neither client lost its connection: the nodes they use kept running.
    CHECK(connections(*t.alice) == 1);
    CHECK(connections(*t.bob) == 1);
    CHECK(connections(*other_bob) == 1);

    // The node comes back, catches up from the stream, and agrees with the others.
    c.bring_back(owner);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("killing only the owner's ternd: a peer hands the partition on, nothing is lost",
          "[cluster][ternd]") {
    alice_and_bob t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    // Its nats-server lives on and keeps leading the stream; its ternd is gone.
    c.nodes[owner]->kill9();
    const auto fault = std::chrono::steady_clock::now();
    t.send(10, 20);
    const auto stalled = stalled_since(t.acks, 10, fault);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    report("owner's ternd killed: sends stalled " + std::to_string(stalled) + " s");
    CHECK(c.owner_of_tenant(t.sender_node) != owner);
    c.bring_back(owner);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("killing a follower's node stalls nothing, and it catches up", "[cluster][ternd]") {
    alice_and_bob t(seat::on_owner);
    auto& c = t.c;
    t.send(0, 20);
    c.nodes[t.idle_node]->kill9();
    c.nats.kill9(t.idle_node);
    t.send(20, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    CHECK(c.owner_of_tenant(t.owner) == t.owner);  // no election: the leader never left
    {
        // ternctl names the node it cannot reach, and fails.
        const auto [code, out] = ternctl_cluster_status(c);
        INFO(out);
        CHECK(code == 3);
        CHECK_THAT(out, Catch::Contains("cannot reach ternd's admin listener"));
    }
    c.bring_back(t.idle_node);
    check_replicas_agree(c, {0, 1, 2});
    // Leaderships may still be settling on the returned node: healthy within seconds.
    const auto [code, out] = ternctl_until_healthy(c);
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out,
               Catch::Contains("3 node(s) answered, 4 partition(s)") && Catch::Contains("healthy"));
}

TEST_CASE("a paused owner's late appends fail the fence, and no seq repeats", "[cluster][ternd]") {
    alice_and_bob t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    // SIGSTOP both processes of the owner's node for 12 s, while sends go on elsewhere.
    c.nodes[owner]->signal(SIGSTOP);
    c.nats.pause(owner);
    const auto fault = std::chrono::steady_clock::now();
    t.send(10, 20);
    report("owner's node paused: sends stalled " +
           std::to_string(stalled_since(t.acks, 10, fault)) + " s");
    std::this_thread::sleep_until(fault + 12s);
    c.nats.resume(owner);
    c.nodes[owner]->signal(SIGCONT);
    t.send(30, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);
    // The paused node's nats-server led the stream when it stopped: its copy may keep an append
    // the others never committed, and then the replica beside it halts as diverged (the two
    // others agree) and is rebuilt from a checkpoint (seen once, in a CI run of 2026-12-04).
    const auto settled = wait_until_settled(c, 60s);
    INFO(settled.seen << "\nthe paused owner was node " << owner);
    REQUIRE(settled.seconds >= 0);
    // The old owner gave its term up (counted), and another node began one. Read before a
    // rebuild restarts a node.
    const auto ended = R"(tern_cluster_owner_changes_total{change="ended"})";
    const auto began = R"(tern_cluster_owner_changes_total{change="began"})";
    CHECK(metric(c.nodes[owner]->admin_port(), ended) >= 1);
    double began_elsewhere = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (i != owner) began_elsewhere += metric(c.nodes[i]->admin_port(), began);
    }
    CHECK(began_elsewhere >= 1);
    if (settled.diverged) rebuild_diverged(c, settled, owner, "after-the-pause");
    // One owner, and the replicas agree.
    check_replicas_agree(c, {0, 1, 2});
}

namespace {

// The appends node i's terms had answered, by outcome: ok, fenced, failed.
std::array<double, 3> appends_answered(const ternd_cluster& c, std::size_t i) {
    std::array<double, 3> out{};
    std::size_t k = 0;
    for (const auto* outcome : {"ok", "fenced", "failed"}) {
        out[k++] = metric(c.nodes[i]->admin_port(),
                          std::string(R"(tern_cluster_appends_total{outcome=")") + outcome + "\"}");
    }
    return out;
}

// One round of the two-owner test: whether the paused ternd appended after its return, and
// was rejected (its control loop may learn of the new owner before its shards reach the log:
// then there were never two owners, and the caller tries again; that went so in 5 of 16
// rounds of a 45-minute soak here). Whatever happened, nothing is lost, repeated or reordered.
bool two_owners_round(int round) {
    alice_and_bob t(seat::on_owner);
    auto& c = t.c;
    const auto owner = t.owner;
    const auto p = cluster::partition_map(partitions).of(tenant);
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    const auto answered_before = appends_answered(c, owner);
    // Only the owner's ternd stops: its nats-server keeps leading until the other nodes, no
    // longer hearing that ternd, ask for another leader. Alice's sends wait in its socket.
    c.nodes[owner]->signal(SIGSTOP);
    const auto fault = std::chrono::steady_clock::now();
    t.send(10, 50);
    std::size_t next_owner = owner;
    const auto deadline = fault + 60s;
    while (next_owner == owner || !c.partitions_of(next_owner)["partitions"][p]["owner"]) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(100ms);
        next_owner = c.owner_of_tenant(t.receiver_node);
    }
    const auto took_over = seconds_since(fault);
    // The new owner appends (Bob writes to Carol, in the same partition): the stream moves
    // past what the paused ternd takes for its end.
    send_results bobs;
    t.bob->client->send(tc::conv_id::direct(2, 3), tc::content::from_text("while paused"),
                        bobs.callback());
    REQUIRE(bobs.wait(1, 60s));
    {
        std::lock_guard lock(bobs.mutex);
        REQUIRE(bobs.results.front().ok());
    }
    // Back, the old ternd still takes itself for the owner: two owners at once. Whatever it
    // appends of Alice's waiting sends is stale: the first append fails the fence, and the
    // ones that follow it (each expecting the one before) reach the stream but are refused by
    // every replica (their digest names another log). Its term ends; the sends are retried
    // through the new owner, each stored once.
    c.nodes[owner]->signal(SIGCONT);
    check_exactly_once(t.acks, *t.bob, t.direct, 60);
    check_replicas_agree(c, {0, 1, 2});
    // Back from the pause, the old node did not take the others for silent (it would have
    // asked the live new leader to step down): the new owner kept the partition.
    CHECK(c.owner_of_tenant(owner) == next_owner);
    CHECK(metric(c.nodes[owner]->admin_port(),
                 R"(tern_cluster_owner_changes_total{change="ended"})") >= 1);
    const auto answered = appends_answered(c, owner);
    const auto ok = std::lround(answered[0] - answered_before[0]);
    const auto rejected = std::lround(answered[1] - answered_before[1]);
    const auto failed = std::lround(answered[2] - answered_before[2]);
    std::set<std::uint64_t> refused;
    for (std::size_t i = 0; i < 3; ++i) {
        refused.insert(c.partitions_of(i)["partitions"][p]["refused"].get<std::uint64_t>());
    }
    CHECK(refused.size() == 1);  // every replica refused the same stale entries
    report("round " + std::to_string(round) + ", owner's ternd paused: a new owner after " +
           std::to_string(took_over) + " s, Alice's sends stalled " +
           std::to_string(stalled_since(t.acks, 10, fault)) +
           " s; the old owner's appends answered since the pause: " + std::to_string(ok) + " ok, " +
           std::to_string(rejected) + " fenced, " + std::to_string(failed) + " failed; " +
           std::to_string(*refused.begin()) + " refused by the replicas");
    // Two owners appended at once when the stale side was told "fenced" or its entries were
    // refused (an "ok" may be an append that was in flight when the pause began).
    return rejected + static_cast<long>(*refused.begin()) > 0;
}

}  // namespace

TEST_CASE("two owners at once: a paused ternd's stale appends are rejected, and no seq repeats",
          "[cluster][ternd]") {
    bool two_owners = false;
    // Up to eight rounds: at one in three, all eight miss about once in 6,500 runs.
    for (int round = 1; round <= 8 && !two_owners; ++round) two_owners = two_owners_round(round);
    CHECK(two_owners);
}

TEST_CASE("with four nodes each applies only the partitions its nats-server holds a copy of",
          "[cluster][ternd]") {
    ternd_cluster c(links::direct, 4);
    const auto p = cluster::partition_map(partitions).of(tenant);
    // Every stream has three copies, so one of the four nodes holds none of each partition.
    std::vector<std::size_t> holders;
    std::size_t outsider = 4;
    std::size_t copies = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const auto parts = c.partitions_of(i)["partitions"];
        for (const auto& part : parts) copies += part["has_copy"].get<bool>() ? 1 : 0;
        if (parts[p]["has_copy"].get<bool>()) {
            holders.push_back(i);
        } else {
            outsider = i;
        }
    }
    CHECK(copies == 3 * partitions);
    REQUIRE(holders.size() == 3);
    REQUIRE(outsider < 4);

    // Alice sits on the node without a copy: it relays her sends to the owner.
    const auto owner = c.owner_of_tenant(outsider);
    const auto receiver = holders[0] != owner ? holders[0] : holders[1];
    send_results acks;
    auto alice = c.device(outsider, 1);
    auto bob = c.device(receiver, 2);
    const auto direct = tc::conv_id::direct(1, 2);
    send_batch(*alice, direct, 0, 30, acks);
    check_exactly_once(acks, *bob, direct, 30);
    check_replicas_agree(c, holders);

    // The outsider applied none of it, and reports no lag for it.
    const auto seen = c.partitions_of(outsider)["partitions"][p];
    INFO(seen.dump());
    CHECK(seen["applied"] == 0);
    CHECK(seen["lag"] == 0);
    CHECK(seen["owner"] == false);
    CHECK(seen["leader"] == c.nats.at(owner).name);
    CHECK(http_get(c.nodes[outsider]->admin_port(), "/readyz").status == 200);

    // ternctl calls that healthy, and shows where a node holds no copy.
    const auto [code, out] = ternctl_until_healthy(c);
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains("4 node(s) answered") && Catch::Contains("(no copy)"));
}

TEST_CASE(
    "relayed catch-up: the owner waits for a slow device on another node, as one node does, "
    "and never overflows its gateway's queue",
    "[cluster][ternd]") {
    ternd_cluster c;
    const auto owner = c.owner_of_tenant();
    const auto bob_node = (owner + 1) % 3;
    auto alice = c.device(owner, 1);
    const auto conv = tc::conv_id::direct(1, 2);
    constexpr int total = 3000;
    const std::string padding(4000, '.');  // 12 MB: twelve times a connection's queue
    send_results acks;
    for (int i = 0; i < total; ++i) {
        alice->client->send(conv, tc::content::from_text(std::to_string(i) + padding),
                            acks.callback());
    }
    REQUIRE(acks.wait(total, 180s));
    {
        std::lock_guard lock(acks.mutex);
        for (const auto& r : acks.results) REQUIRE(r.ok());
    }

    // Bob connects through another node with an app that takes no events yet: the SDK stops
    // reading once its backlog and a small receive buffer are full, so the gateway's queue
    // (not the kernel's buffers) takes the pressure of the owner's catch-up.
    auto gate = std::make_shared<gate_executor>();
    gate->close();
    auto events = std::make_shared<recording_listener>();
    tc::options o;
    o.endpoints = {{tc::transport::tcp, "127.0.0.1", c.nodes[bob_node]->port(), "/"}};
    o.token_provider = [&c] { return c.setup.token(tenant, 2, 20); };
    o.executor = gate;
    o.max_app_backlog = 100;
    o.socket_receive_buffer = 64 * 1024;
    o.reconnect.initial_delay = 50ms;
    o.reconnect.max_delay = 500ms;
    tc::client bob(std::move(o), events);
    bob.connect();
    std::this_thread::sleep_for(3s);  // the catch-up fills the window and waits
    gate->open();

    REQUIRE(events->wait([&](const auto& l) { return l.messages_of(conv).size() >= total; }, 180s));
    events->read([&](const recording_listener& l) {
        const auto got = l.messages_of(conv);
        REQUIRE(got.size() == total);
        for (int i = 0; i < total; ++i) {
            INFO("message " << i);
            REQUIRE(got[i].seq == static_cast<tc::seq_t>(i + 1));
            REQUIRE((got[i].content.text == std::to_string(i) + padding));  // not printed
        }
        CHECK(l.connections() == 1);  // never closed as a slow consumer
        return 0;
    });
    CHECK(metric(c.nodes[bob_node]->admin_port(),
                 R"(tern_frames_dropped_total{reason="queue_overflow"})") == 0);
}

TEST_CASE("a drained owner hands its partitions over without a client reconnecting",
          "[cluster][ternd]") {
    alice_and_bob t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 10);
    REQUIRE(t.acks.wait(10, 30s));
    c.nodes[owner]->signal(SIGTERM);
    const auto fault = std::chrono::steady_clock::now();
    t.send(10, 20);
    report("owner drained: sends stalled " + std::to_string(stalled_since(t.acks, 10, fault)) +
           " s");
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

TEST_CASE("without a quorum nothing is acknowledged, and after it everything acked is there",
          "[cluster][ternd]") {
    alice_and_bob t;
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
    report("quorum back: the sends waiting since the loss acknowledged " +
           std::to_string(stalled_since(t.acks, 10, std::chrono::steady_clock::now())) +
           " s after both servers listen again");
    t.send(20, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE("a node that lost its disk rejoins: it rebuilds from the log and agrees",
          "[cluster][ternd]") {
    alice_and_bob t;
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
    alice_and_bob t;
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
    alice_and_bob t;
    auto& c = t.c;
    const auto owner = t.owner;
    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    // A checkpoint of Bob's node, which holds every partition like any replica.
    const auto checkpoint = checkpoint_of(c, t.receiver_node, "before-the-fire");

    // The owner's machine dies with its disks; meanwhile the others go on.
    c.lose_disks(owner);
    const auto owner_store = c.store_of(owner);
    t.send(20, 20);
    check_exactly_once(t.acks, *t.bob, t.direct, 40);

    // Restored from the checkpoint, it reads each log on from the checkpoint's position.
    restore_store(c, owner, checkpoint);
    CHECK(run_quietly(std::string(TERN_CTL) + " restore --from " + checkpoint + " --data " +
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

namespace {

// Every partition's stream forgets every entry it holds, as if all were older than its
// retention: its max_age (and duplicate window) is cut to a second until it is empty, then set
// back.
void age_out_every_stream(const nats_cluster& nats) {
    cluster::nats_link link(link_settings(nats, 0));
    const auto ask = [&](const std::string& api, const std::string& body) {
        auto reply = link.request("$JS.API.STREAM." + api, body, 5s);
        auto answer = nlohmann::json::parse(cluster::data_of(reply.get()));
        INFO(api << ": " << answer.dump());
        REQUIRE_FALSE(answer.contains("error"));
        return answer;
    };
    std::vector<nlohmann::json> configs;
    for (std::uint32_t p = 0; p < partitions; ++p) {
        auto config = ask("INFO." + cluster::stream_name(p), {})["config"];
        configs.push_back(config);
        config["max_age"] = 1'000'000'000;           // nanoseconds
        config["duplicate_window"] = 1'000'000'000;  // may not exceed max_age
        ask("UPDATE." + cluster::stream_name(p), config.dump());
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (std::uint32_t p = 0; p < partitions; ++p) {
        while (ask("INFO." + cluster::stream_name(p), {})["state"]["messages"] != 0) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(200ms);
        }
        ask("UPDATE." + cluster::stream_name(p), configs[p].dump());
    }
}

}  // namespace

TEST_CASE("a node that lost its disk after the streams aged out is rebuilt from a checkpoint",
          "[cluster][ternd]") {
    alice_and_bob t(seat::on_owner);
    auto& c = t.c;
    const auto lost = t.idle_node;
    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    age_out_every_stream(c.nats);

    // The third node comes back with empty disks: no stream reaches back to its entry 1, and
    // with nothing left to read the reader alone would wait in silence. It says why instead,
    // serves nothing, and is not ready; the others go on.
    c.lose_disks(lost);
    c.nats.start(lost);
    c.nats.wait_listening(lost);
    c.start(lost);
    const auto p = cluster::partition_map(partitions).of(tenant);
    const auto halted = [&] {
        return c.partitions_of(lost)["partitions"][p]["halted"].get<std::string>();
    };
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (halted().find("the log no longer holds entry 1 ") == std::string::npos) {
        INFO(halted());
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(100ms);
    }
    CHECK_THAT(halted(), Catch::Contains("restore a checkpoint"));
    CHECK(http_get(c.nodes[lost]->admin_port(), "/readyz").status != 200);
    CHECK_FALSE(c.partitions_of(lost)["partitions"][p]["owner"].get<bool>());
    t.send(20, 20);
    REQUIRE(t.acks.wait(40, 60s));

    // A checkpoint of a healthy node brings it back: it reads on from there and agrees.
    const auto checkpoint = checkpoint_of(c, t.receiver_node, "after-the-streams-aged-out");
    c.nodes[lost]->kill9();
    restore_store(c, lost, checkpoint);
    c.start(lost);
    c.wait_ready(lost);
    t.send(40, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 50);
    check_replicas_agree(c, {0, 1, 2});
}

TEST_CASE(
    "ternctl cluster remove-peer drops a node's copy of a stream, and a fresh copy catches up",
    "[cluster][ternd]") {
    alice_and_bob t;
    auto& c = t.c;
    const auto gone = t.idle_node;
    const auto p = cluster::partition_map(partitions).of(tenant);
    t.send(0, 20);
    REQUIRE(t.acks.wait(20, 30s));
    const auto remove = [&](const std::string& partition, const std::string& peer) {
        return run_quietly(
            std::string(TERN_CTL) + " cluster remove-peer --partition " + partition + " --peer " +
            peer + " --token " + admin_token +
            " --admin http://127.0.0.1:" + std::to_string(c.nodes[t.sender_node]->admin_port()));
    };
    CHECK(remove(std::to_string(p), "no-such-node") != 0);  // JetStream: not a member
    CHECK(remove(std::to_string(partitions), "n1") != 0);   // no such partition
    CHECK(remove(std::to_string(p), "n1\"}") != 0);         // not a node name
    REQUIRE(remove(std::to_string(p), c.nats.at(gone).name) == 0);

    // With three servers there is no spare one: the fresh copy goes on the same server, empty,
    // and catches up from the two others (nats-server 2.9.10 answers "peer remap failed" and
    // leaves the stream on two copies; remove_peer scales it down and up again).
    cluster::nats_link link(link_settings(c.nats, t.sender_node));
    const auto holds_current_copy = [&] {
        const auto name = c.nats.at(gone).name;
        try {
            auto reply = link.request("$JS.API.STREAM.INFO." + cluster::stream_name(p), {}, 5s);
            const auto info = nlohmann::json::parse(cluster::data_of(reply.get()));
            // No "cluster" while the API answers an error (an election): not yet.
            const auto group = info.value("cluster", nlohmann::json::object());
            if (group.value("leader", "") == name) return true;
            for (const auto& r : group.value("replicas", nlohmann::json::array())) {
                if (r.value("name", "") == name) return r.value("current", false);
            }
        } catch (const cluster::nats_error&) {
            // The API did not answer in time while the group changed: asked again.
        }
        return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!holds_current_copy()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(100ms);
    }
    // The node beside it reads on (its reader comes back to its own server's fresh copy), and
    // nothing was lost or repeated.
    t.send(20, 10);
    check_exactly_once(t.acks, *t.bob, t.direct, 30);
    check_replicas_agree(c, {0, 1, 2});
    c.wait_ready(gone);
}

TEST_CASE("only the owner syncs its partition's entries: the standbys apply without an fsync",
          "[cluster][ternd]") {
    alice_and_bob t;
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

TEST_CASE(
    "connz lists a node's own connections, and a kick on any node closes the user's "
    "devices on every node",
    "[cluster][ternd]") {
    ternd_cluster c;
    const auto owner = c.owner_of_tenant();
    const auto phone_node = (owner + 1) % 3;
    const auto laptop_node = (owner + 2) % 3;
    auto phone = c.device(phone_node, 1, 10);
    auto laptop = c.device(laptop_node, 1, 11);
    auto bob = c.device(phone_node, 2);

    // Each node lists the connections it holds, whoever owns their partition.
    const auto listed = [&](std::size_t node) {
        const auto page = nlohmann::json::parse(
            http_get(c.nodes[node]->admin_port(), "/admin/v1/connz?after=0&limit=100").body);
        std::set<std::pair<std::uint64_t, std::uint64_t>> out;  // (user, device)
        for (const auto& e : page["connections"]) {
            CHECK(e["tenant"] == tenant);
            out.insert({e["user"].get<std::uint64_t>(), e["device"].get<std::uint64_t>()});
        }
        return out;
    };
    using devices = std::set<std::pair<std::uint64_t, std::uint64_t>>;
    CHECK(listed(phone_node) == devices{{1, 10}, {2, 20}});
    CHECK(listed(laptop_node) == devices{{1, 11}});
    CHECK(listed(owner).empty());

    // The kick is asked of the owner's node, where none of Alice's devices is connected: it
    // closes both, through their nodes. Bob stays.
    const auto reply =
        http_post(c.nodes[owner]->admin_port(), "/admin/v1/kick?tenant=1&user=1", admin_token);
    REQUIRE(reply.status == 200);
    CHECK(nlohmann::json::parse(reply.body)["kicked"] == 2);
    const auto kicked = [](const recording_listener& l) {
        return !l.states.empty() && l.states.back().state == tc::connection_state::stopped &&
               l.states.back().reason == tc::disconnect_reason::kicked;
    };
    CHECK(phone->events->wait(kicked, 30s));
    CHECK(laptop->events->wait(kicked, 30s));
    CHECK(bob->events->read([](const auto& l) { return l.connected(); }));

    // Asked of a node that does not own the partition (it asks the owner over NATS), a kick of
    // one device closes it.
    auto again = c.device(laptop_node, 1, 11);
    const auto one = http_post(c.nodes[phone_node]->admin_port(),
                               "/admin/v1/kick?tenant=1&user=1&device=11", admin_token);
    REQUIRE(one.status == 200);
    CHECK(nlohmann::json::parse(one.body)["kicked"] == 1);
    CHECK(again->events->wait(kicked, 30s));

    // The tenant's policy, set through a node that does not own the partition (it asks the
    // owner over NATS, whose core commits it and decides for every device of the tenant): no
    // work day at all, so Bob's pushes turn silent. Read back through the third node.
    const std::string never_at_work =
        R"({"hours": {"time_zone": "UTC", "work_days": 0, "start": "09:00", "end": "17:00"}})";
    const auto set = http_post(c.nodes[phone_node]->admin_port(), "/admin/v1/policy?tenant=1",
                               admin_token, never_at_work);
    REQUIRE(set.status == 200);
    const auto read = http_request(c.nodes[laptop_node]->admin_port(), tooling::http_method::get,
                                   "/admin/v1/policy?tenant=1", admin_token);
    REQUIRE(read.status == 200);
    CHECK(nlohmann::json::parse(read.body)["hours"]["time_zone"] == "UTC");
    auto carol = c.device(laptop_node, 3);
    send_results acks;
    const auto to_bob = tc::conv_id::direct(2, 3);
    carol->client->send(to_bob, tc::content::from_text("after hours"), acks.callback());
    REQUIRE(acks.wait(1, 30s));
    REQUIRE(has_texts(*bob, to_bob, 1));
    CHECK(bob->events->read([&](const recording_listener& l) {
        return l.messages_of(to_bob).front().notice;
    }) == tc::notice::silent);

    // Carol may send urgent: it alerts Bob off hours; Bob's acknowledgement (on another node
    // than Carol) reaches her device, and every replica applies it alike.
    const auto with_urgent =
        never_at_work.substr(0, never_at_work.size() - 1) + R"(, "urgent": {"sender_users": [3]}})";
    REQUIRE(http_post(c.nodes[owner]->admin_port(), "/admin/v1/policy?tenant=1", admin_token,
                      with_urgent)
                .status == 200);
    carol->client->send(to_bob, tc::content::urgent("call me", "the release is blocked"),
                        acks.callback());
    REQUIRE(acks.wait(2, 30s));
    const auto urgent_seq = [&] {
        std::lock_guard lock(acks.mutex);
        REQUIRE(acks.results.back());
        return acks.results.back()->seq;
    }();
    REQUIRE(has_texts(*bob, to_bob, 2));
    CHECK(bob->events->read([&](const recording_listener& l) {
        return l.messages_of(to_bob).back().notice;
    }) == tc::notice::alert);
    awaited<tc::ok> acknowledged;
    bob->client->acknowledge_urgent(to_bob, urgent_seq, acknowledged.callback());
    REQUIRE(acknowledged.get());
    REQUIRE(carol->events->wait([](const auto& l) { return !l.urgent_acks.empty(); }, 30s));
    CHECK(carol->events->read([](const auto& l) { return l.urgent_acks[0].user; }) == 2);
    awaited<tc::urgent_status> status;
    carol->client->urgent_status(to_bob, urgent_seq, status.callback());
    const auto who = status.get();
    REQUIRE(who);
    REQUIRE(who->acknowledged.size() == 1);
    CHECK(who->acknowledged[0].user == 2);
    check_replicas_agree(c, {0, 1, 2});
}
