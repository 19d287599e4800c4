// Replicas and an owner on a real 3-node nats-server cluster: the owner's entries complete in
// order once a quorum holds them and its store applied them; a standby reaches the same state
// and digest; a second writer ends the owner's term through the fence; a restarted replica
// resumes from its stored position; two owners writing at once get one writer through per log
// position, and neither acknowledges an entry after its first refusal.
#include <array>
#include <atomic>
#include <future>
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
        rep->start();
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
            a.log, 1, [&lost](const std::string& why) { lost.set_value(why); });
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

TEST_CASE("two would-be owners at once: the fence lets one writer through per entry",
          "[cluster][replica]") {
    two_replicas parts;
    auto& a = parts.a;
    auto& b = parts.b;

    const st::tenant_id t = 9;
    const auto c = st::conv_id::direct(1, 2);
    std::uint64_t applied = 1;  // the log's last entry, applied by both replicas
    st::seq_t head = 0;         // the conversation's head in both stores
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
        };
        std::array<side, 2> sides{side{a, 1, nullptr, {}}, side{b, 2, nullptr, {}}};
        for (auto& s : sides) {
            s.term = std::make_shared<cl::owner_log>(
                s.node.log, applied, [](const std::string&) {}, 64, count_fenced);
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
        // One entry per log position (a_i or b_i, which expect the same position), each a valid
        // message: nothing landed was refused.
        CHECK(new_head - head == last - applied);
        REQUIRE(timeline.size() == new_head - head);
        for (std::size_t i = 0; i < timeline.size(); ++i) CHECK(timeline[i].seq == head + 1 + i);
        CHECK(a.store->verify().has_value());
        CHECK(b.store->verify().has_value());
        for (auto& s : sides) {
            s.term->end("the round is over");
            std::lock_guard lock(s.node.m);
            s.node.term.reset();
        }
        applied = last;
        head = new_head;
    }
}
