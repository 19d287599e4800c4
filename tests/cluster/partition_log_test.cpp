// A partition's log on a real 3-node nats-server cluster: created once with its genesis, fenced
// appends, in-order reading, and the fence holding when two writers race.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include <catch2/catch.hpp>

#include <tern/cluster/log_codec.hpp>
#include <tern/cluster/partition_log.hpp>

#include "cluster_fixtures.hpp"
#include "temp_dir.hpp"

using namespace tern::test;
namespace cl = tern::cluster;
namespace st = tern::storage;

namespace {

cl::append_result append_now(cl::partition_log& log, std::string_view bytes,
                             std::uint64_t expected) {
    std::promise<cl::append_result> p;
    auto f = p.get_future();
    log.append(bytes, expected, [&p](cl::append_result r) { p.set_value(std::move(r)); });
    return f.get();
}

// Collects what a reader delivers.
struct collected {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::pair<std::uint64_t, std::string>> entries;

    void add(std::uint64_t seq, std::string_view bytes) {
        std::lock_guard lock(m);
        entries.emplace_back(seq, std::string(bytes));
        cv.notify_all();
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, std::chrono::seconds(20), [&] { return entries.size() >= n; });
    }
};

struct three_nodes {
    temp_dir dir{"tern-js"};
    nats_cluster nats{dir.path(), 3};
    three_nodes() { nats.start_all(); }
};

}  // namespace

TEST_CASE("a partition log starts with one genesis and takes only fenced appends",
          "[cluster][log]") {
    three_nodes c;
    cl::nats_link a(link_settings(c.nats, 0));
    cl::nats_link b(link_settings(c.nats, 1));
    cl::log_settings ls;
    ls.partitions = 4;
    cl::partition_log log_a(a, 3, ls);
    cl::partition_log log_b(b, 3, ls);

    const auto created = ensure_eventually(log_a);
    CHECK(created.last_seq == 1);
    CHECK_FALSE(created.leader.empty());
    // A second node ensuring the same partition adds nothing.
    CHECK(ensure_eventually(log_b).last_seq == 1);

    const auto m2 = cl::encode_entry(st::ack_inbox{1, 2, 3, 4});
    auto r = append_now(log_a, m2, 1);
    REQUIRE(r.status == cl::append_status::ok);
    CHECK(r.sequence == 2);
    // The other node still believes the log ends at 1: the fence refuses it.
    r = append_now(log_b, m2, 1);
    CHECK(r.status == cl::append_status::fenced);
    r = append_now(log_b, m2, 2);
    CHECK(r.status == cl::append_status::ok);

    // Pipelined appends, each naming the one before it.
    std::vector<std::future<cl::append_result>> pending;
    for (std::uint64_t expected = 3; expected < 103; ++expected) {
        auto p = std::make_shared<std::promise<cl::append_result>>();
        pending.push_back(p->get_future());
        log_a.append(cl::encode_entry(st::ack_inbox{1, 2, 3, expected}), expected,
                     [p](cl::append_result res) { p->set_value(std::move(res)); });
    }
    for (std::uint64_t i = 0; i < pending.size(); ++i) {
        const auto res = pending[i].get();
        REQUIRE(res.status == cl::append_status::ok);
        CHECK(res.sequence == i + 4);
    }

    // A reader from 1 sees the genesis then every entry, in order; another from the middle.
    collected all;
    auto reader =
        log_b.read_from(1, [&](std::uint64_t s, std::string_view bytes) { all.add(s, bytes); });
    REQUIRE(all.wait_for(103));
    for (std::uint64_t i = 0; i < 103; ++i) REQUIRE(all.entries[i].first == i + 1);
    const auto first = cl::decode_entry(all.entries[0].second);
    REQUIRE(first.has_value());
    CHECK(std::get<cl::genesis>(first->record) == cl::genesis{3, 4, "tern"});
    const auto last = cl::decode_entry(all.entries[102].second);
    REQUIRE(last.has_value());
    CHECK(std::get<st::ack_inbox>(std::get<st::log_entry>(last->record)).inbox_seq == 102);

    collected tail;
    auto tail_reader =
        log_a.read_from(100, [&](std::uint64_t s, std::string_view bytes) { tail.add(s, bytes); });
    REQUIRE(tail.wait_for(4));
    CHECK(tail.entries.front().first == 100);
    // And it follows new appends.
    REQUIRE(append_now(log_a, m2, 103).status == cl::append_status::ok);
    REQUIRE(tail.wait_for(5));
    CHECK(tail.entries.back().first == 104);
}

TEST_CASE("two writers racing on one expectation: exactly one wins, every time", "[cluster][log]") {
    three_nodes c;
    cl::nats_link a(link_settings(c.nats, 0));
    cl::nats_link b(link_settings(c.nats, 2));
    cl::partition_log log_a(a, 0, {});
    cl::partition_log log_b(b, 0, {});
    ensure_eventually(log_a);
    std::uint64_t last = 1;
    int fenced = 0;
    for (int trial = 0; trial < 100; ++trial) {
        std::promise<cl::append_result> pa;
        std::promise<cl::append_result> pb;
        log_a.append("owner", last, [&](cl::append_result r) { pa.set_value(std::move(r)); });
        log_b.append("zombie", last, [&](cl::append_result r) { pb.set_value(std::move(r)); });
        const auto ra = pa.get_future().get();
        const auto rb = pb.get_future().get();
        const int wins =
            (ra.status == cl::append_status::ok) + (rb.status == cl::append_status::ok);
        INFO("trial " << trial << ": owner " << ra.error << ", zombie " << rb.error);
        REQUIRE(wins == 1);
        fenced += ra.status == cl::append_status::fenced || rb.status == cl::append_status::fenced;
        ++last;
    }
    // The loser is told "fenced"; under a loaded machine its answer may instead time out
    // ("failed": the outcome unknown to it, seen once in a full suite run). The stream then
    // shows it did not land: exactly one entry per trial.
    CHECK(fenced >= 90);
    CHECK(log_a.info()->last_seq == last);
}

TEST_CASE("a stepdown moves the partition's leadership to another node", "[cluster][log]") {
    three_nodes c;
    cl::nats_link a(link_settings(c.nats, 0));
    cl::partition_log log(a, 1, {});
    const auto before = ensure_eventually(log).leader;
    log.step_down();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string after;
    while (std::chrono::steady_clock::now() < deadline) {
        after = log.info()->leader;
        if (!after.empty() && after != before) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK_FALSE(after.empty());
    CHECK(after != before);
}
