// Replicas and an owner on a real 3-node nats-server cluster: the owner's entries complete in
// order once a quorum holds them and its store applied them; a standby reaches the same state
// and digest; a second writer ends the owner's term through the fence; a restarted replica
// resumes from its stored position; two owners writing at once get one writer through per log
// position, and neither acknowledges an entry after its first refusal.
#include <array>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include <tern/cluster/log_codec.hpp>
#include <tern/cluster/owner_log.hpp>
#include <tern/cluster/replica.hpp>
#include <tern/storage/memory_store.hpp>

#include "cluster_fixtures.hpp"
#include "store_fixtures.hpp"
#include "temp_dir.hpp"

using namespace tern::test;
namespace cl = tern::cluster;

namespace {

// One node's part: its link, the partition's log, a store, a writer and the replica.
struct node_part {
    cl::nats_link link;
    cl::partition_log log;
    std::unique_ptr<st::store> store = st::make_memory_store();
    st::commit_writer writer{*store, {st::durability::memory}};
    std::mutex m;
    std::shared_ptr<cl::owner_log> term;  // this node's ownership term, if any
    std::unique_ptr<cl::replica> rep;

    node_part(const nats_cluster& c, std::size_t i) : link(link_settings(c, i)), log(link, 5, {}) {}
    ~node_part() {
        rep.reset();
        writer.stop();
    }
    void start_replica() {
        rep = std::make_unique<cl::replica>(5, log, *store, writer,
                                            [this](std::uint64_t seq, st::entry_result r) {
                                                std::lock_guard lock(m);
                                                if (term) term->applied(seq, std::move(r));
                                            });
        // Making the reader's consumer can time out while a freshly formed JetStream settles
        // (seen once in a soak, just after the cluster started); the node retries each round,
        // and so does this, for up to 30 s.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (;;) {
            try {
                return rep->start();
            } catch (const cl::nats_error&) {
                if (std::chrono::steady_clock::now() > deadline) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        }
    }
};

nats_cluster& started(nats_cluster& n) {
    n.start_all();
    return n;
}

// A 3-node nats-server cluster and the partition's replicas on nodes a and b, both past the
// genesis.
struct two_replicas {
    temp_dir dir{"tern-replica"};
    nats_cluster nats{dir.path(), 3};
    node_part a{started(nats), 0};
    node_part b{nats, 1};

    two_replicas() {
        ensure_eventually(a.log);
        a.start_replica();
        b.start_replica();
        REQUIRE(a.rep->wait_applied(1, std::chrono::seconds(10)));
    }
};

}  // namespace

TEST_CASE("an owner's entries complete in order and every replica reaches the same state",
          "[cluster][replica]") {
    two_replicas parts;
    auto& a = parts.a;
    auto& b = parts.b;

    std::promise<std::string> lost;
    {
        std::lock_guard lock(a.m);
        a.term = std::make_shared<cl::owner_log>(
            a.log, 1, a.rep->status().digest,
            [&lost](const std::string& why) { lost.set_value(why); });
    }
    const st::tenant_id t = 9;
    const auto c = st::conv_id::direct(1, 2);
    std::mutex order_m;
    std::vector<std::uint64_t> order;  // inbox_seq of user 1, as completions arrive
    std::vector<std::future<st::entry_result>> results;
    for (st::seq_t seq = 1; seq <= 200; ++seq) {
        auto p = std::make_shared<std::promise<st::entry_result>>();
        results.push_back(p->get_future());
        st::log_entry e =
            seq == 1 ? first_direct(t, 1, 2) : st::log_entry{message(t, c, seq, seq % 2 ? 1 : 2)};
        REQUIRE(a.term->try_submit(std::move(e), [p, &order_m, &order](st::entry_result r) {
            if (r) {
                std::lock_guard lock(order_m);
                order.push_back(r->inbox.at(0).inbox_seq);
            }
            p->set_value(std::move(r));
        }));
    }
    for (auto& f : results) REQUIRE(f.get().has_value());
    for (std::uint64_t i = 0; i < order.size(); ++i) REQUIRE(order[i] == i + 1);
    CHECK(a.store->conversation(t, c).value()->head_seq == 200);

    REQUIRE(a.rep->wait_applied(201, std::chrono::seconds(10)));
    REQUIRE(b.rep->wait_applied(201, std::chrono::seconds(10)));
    CHECK(b.rep->status().digest == a.rep->status().digest);
    CHECK(b.store->conversation(t, c).value()->head_seq == 200);
    CHECK(b.store->inbox_head(t, 2).value() == 200);
    CHECK(b.store->verify().has_value());

    SECTION("a second writer ends the term: its next entries fail, retryable") {
        // A would-be owner on node b that believes the log ends where it does now.
        std::promise<cl::append_result> zombie;
        b.log.append(cl::encode_entry(st::ack_inbox{t, 2, 7, 200}), 201,
                     [&](cl::append_result r) { zombie.set_value(std::move(r)); });
        REQUIRE(zombie.get_future().get().status == cl::append_status::ok);

        std::promise<st::entry_result> next;
        REQUIRE(a.term->try_submit(message(t, c, 201, 1),
                                   [&](st::entry_result r) { next.set_value(std::move(r)); }));
        CHECK(next.get_future().get().error() == st::errc::log_unavailable);
        CHECK_THAT(lost.get_future().get(), Catch::Contains("fenced"));
        std::promise<st::entry_result> after;
        REQUIRE(a.term->try_submit(message(t, c, 201, 1),
                                   [&](st::entry_result r) { after.set_value(std::move(r)); }));
        CHECK(after.get_future().get().error() == st::errc::log_unavailable);

        // Both replicas applied the other writer's entry, and agree.
        REQUIRE(a.rep->wait_applied(202, std::chrono::seconds(10)));
        REQUIRE(b.rep->wait_applied(202, std::chrono::seconds(10)));
        CHECK(a.rep->status().digest == b.rep->status().digest);
        CHECK(a.store->device_cursor(t, 2, 7).value() == 200);
    }
    SECTION("a restarted replica resumes after its stored position") {
        const auto before = b.rep->status();
        b.rep.reset();
        b.start_replica();
        CHECK(b.rep->status().applied == before.applied);
        CHECK(b.rep->status().digest == before.digest);
        std::promise<st::entry_result> next;
        REQUIRE(a.term->try_submit(message(t, c, 201, 1),
                                   [&](st::entry_result r) { next.set_value(std::move(r)); }));
        REQUIRE(next.get_future().get().has_value());
        REQUIRE(a.rep->wait_applied(202, std::chrono::seconds(10)));
        REQUIRE(b.rep->wait_applied(202, std::chrono::seconds(10)));
        CHECK(b.rep->status().digest == a.rep->status().digest);
        CHECK(b.store->conversation(t, c).value()->head_seq == 201);
    }
    {
        std::lock_guard lock(a.m);
        a.term.reset();
    }
}

TEST_CASE("a replica halts, never skips, on an entry it cannot apply", "[cluster][replica]") {
    temp_dir dir{"tern-replica"};
    nats_cluster nats(dir.path(), 3);
    nats.start_all();
    node_part a(nats, 0);
    ensure_eventually(a.log);
    std::promise<cl::append_result> bad;
    a.log.append("not a log entry", 1, [&](cl::append_result r) { bad.set_value(std::move(r)); });
    REQUIRE(bad.get_future().get().status == cl::append_status::ok);
    a.start_replica();
    CHECK_FALSE(a.rep->wait_applied(2, std::chrono::seconds(5)));
    CHECK(a.rep->status().applied == 1);
    CHECK_THAT(a.rep->status().halted, Catch::Contains("entry 2 is a malformed log entry"));
}

TEST_CASE("an entry whose writer had another log before it is refused by every replica alike",
          "[cluster][replica]") {
    two_replicas parts;
    auto& a = parts.a;
    auto& b = parts.b;
    const auto after_genesis = a.rep->status().digest;
    const auto append = [&](const std::string& bytes, std::uint64_t expected) {
        std::promise<cl::append_result> r;
        a.log.append(bytes, expected, [&](cl::append_result x) { r.set_value(std::move(x)); });
        REQUIRE(r.get_future().get().status == cl::append_status::ok);
    };
    const st::tenant_id t = 9;
    const auto c = st::conv_id::direct(1, 2);
    // Entry 2 states the log this replica has; entry 3 one it does not (a stale owner that had
    // its own entry at 2), though the fence's sequence let it in; entry 4 follows entry 3.
    const auto second = cl::encode_entry(first_direct(t, 1, 2), after_genesis);
    append(second, 1);
    const auto correct = cl::next_digest(after_genesis, 2, second);
    const auto stale = cl::encode_entry(message(t, c, 2, 1), correct + 1);
    append(stale, 2);
    append(cl::encode_entry(message(t, c, 2, 2), cl::next_digest(correct, 3, stale)), 3);
    for (auto* n : {&a, &b}) {
        REQUIRE(n->rep->wait_applied(4, std::chrono::seconds(10)));
        const auto status = n->rep->status();
        CHECK(status.refused == 1);
        CHECK(status.halted.empty());
        // Seq 2 is entry 4's message (Bob's), not the refused one's (Alice's).
        const auto timeline = n->store->timeline(t, c, 1, st::direction::forward, 10).value();
        REQUIRE(timeline.size() == 2);
        CHECK(timeline[1].sender == 2);
    }
    CHECK(a.rep->status().digest == b.rep->status().digest);
}

TEST_CASE("two would-be owners at once: the fence lets one writer through per entry",
          "[cluster][replica]") {
    two_replicas parts;
    auto& a = parts.a;
    auto& b = parts.b;

    const st::tenant_id t = 9;
    const auto c = st::conv_id::direct(1, 2);
    std::uint64_t applied = 1;  // the log's last entry, applied by both replicas
    std::uint64_t digest = a.rep->status().digest;  // the log's digest up to it
    st::seq_t head = 0;                             // the conversation's head in both stores
    constexpr int rounds = 10;
    constexpr int per_owner = 20;
    std::atomic<int> fenced{0};
    const auto count_fenced = [&](cl::append_status s, std::chrono::nanoseconds) {
        if (s == cl::append_status::fenced) ++fenced;
    };
    for (int round = 0; round < rounds; ++round) {
        CAPTURE(round);
        // Both believe they own the partition from the same entry, and write at the same time:
        // Alice's messages through a, Bob's through b, each numbered from the same head.
        struct side {
            node_part& node;
            st::user_id sender;
            std::shared_ptr<cl::owner_log> term;
            std::vector<std::future<st::entry_result>> results;
            int acked = 0;
        };
        std::array<side, 2> sides{side{a, 1, nullptr, {}}, side{b, 2, nullptr, {}}};
        for (auto& s : sides) {
            s.term = std::make_shared<cl::owner_log>(
                s.node.log, applied, digest, [](const std::string&) {}, 64, count_fenced);
            std::lock_guard lock(s.node.m);
            s.node.term = s.term;
        }
        std::promise<void> go;
        auto start = go.get_future().share();
        std::atomic<int> refused{0};  // try_submit said no (Catch2 asserts on this thread only)
        std::vector<std::thread> writers;
        for (auto& s : sides) {
            s.results.resize(per_owner);
            writers.emplace_back([&s, &refused, start, head, t, c] {
                start.wait();
                for (st::seq_t i = 1; i <= per_owner; ++i) {
                    auto p = std::make_shared<std::promise<st::entry_result>>();
                    s.results[i - 1] = p->get_future();
                    st::log_entry e = head + i == 1
                                          ? st::log_entry{first_direct(t, s.sender, 3 - s.sender)}
                                          : st::log_entry{message(t, c, head + i, s.sender)};
                    if (!s.term->try_submit(std::move(e), [p](st::entry_result r) {
                            p->set_value(std::move(r));
                        })) {
                        ++refused;
                        p->set_value(make_error_code(st::errc::closed));
                    }
                }
            });
        }
        const int fenced_before = fenced;
        go.set_value();
        for (auto& w : writers) w.join();
        REQUIRE(refused == 0);

        // Each side's completions: successes, then only retryable failures (a fenced term ends
        // and nothing after it is acknowledged). At most one side got everything through.
        int complete_sides = 0;
        for (auto& s : sides) {
            bool failed = false;
            int ok = 0;
            for (auto& f : s.results) {
                REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
                const auto r = f.get();
                if (r) {
                    CHECK_FALSE(failed);
                    ++ok;
                } else {
                    CHECK(r.error() == st::errc::log_unavailable);
                    failed = true;
                }
            }
            complete_sides += ok == per_owner ? 1 : 0;
            s.acked = ok;
        }
        CHECK(complete_sides <= 1);
        CHECK(fenced > fenced_before);  // the loser's first entry, at least

        // Both replicas applied the same entries to the same state: one timeline, no seq twice,
        // and every acknowledged message is in it with its sender.
        const auto last = a.log.info()->last_seq;
        REQUIRE(a.rep->wait_applied(last, std::chrono::seconds(10)));
        REQUIRE(b.rep->wait_applied(last, std::chrono::seconds(10)));
        CHECK(a.rep->status().digest == b.rep->status().digest);
        const auto new_head = a.store->conversation(t, c).value()->head_seq;
        CHECK(b.store->conversation(t, c).value()->head_seq == new_head);
        const auto timeline =
            a.store->timeline(t, c, head + 1, st::direction::forward, 1000).value();
        // What was applied is exactly what was acknowledged: a loser's entry that the sequence
        // fence let in behind the winner's (after its own earlier one failed) is refused, so it
        // never lands out of its writer's order.
        REQUIRE(timeline.size() == new_head - head);
        std::map<st::user_id, int> applied_from;
        for (std::size_t i = 0; i < timeline.size(); ++i) {
            CHECK(timeline[i].seq == head + 1 + i);
            ++applied_from[timeline[i].sender];
        }
        CHECK(applied_from[1] == sides[0].acked);
        CHECK(applied_from[2] == sides[1].acked);
        CHECK(a.store->verify().has_value());
        CHECK(b.store->verify().has_value());
        for (auto& s : sides) {
            s.term->end("the round is over");
            std::lock_guard lock(s.node.m);
            s.node.term.reset();
        }
        applied = last;
        digest = a.rep->status().digest;
        head = new_head;
    }
    // Every landed entry was applied or refused as a stale owner's, alike on both replicas (a
    // loser's appends still in flight when its term failed may land a little later: settle).
    std::uint64_t last = 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const auto now_last = a.log.info()->last_seq;
        if (now_last == last) break;
        last = now_last;
    }
    REQUIRE(a.rep->wait_applied(last, std::chrono::seconds(10)));
    REQUIRE(b.rep->wait_applied(last, std::chrono::seconds(10)));
    const auto stale = a.rep->status().refused;
    CHECK(b.rep->status().refused == stale);
    CHECK(a.rep->status().digest == b.rep->status().digest);
    CHECK(a.store->conversation(t, c).value()->head_seq + stale == last - 1);  // 1: the genesis
}
