// Who serves a partition (decide_ownership), one case per rule, and where tenants live.
#include <limits>
#include <set>

#include <catch2/catch.hpp>

#include <tern/cluster/ownership.hpp>
#include <tern/cluster/partition_map.hpp>

namespace cl = tern::cluster;
using cl::ownership_action;

namespace {
cl::partition_view view(std::string leader, std::uint64_t last, std::uint64_t applied) {
    cl::partition_view v;
    v.leader = std::move(leader);
    v.last_seq = last;
    v.applied = applied;
    return v;
}
}  // namespace

TEST_CASE("the leader's node serves once it has applied the whole log", "[unit][cluster]") {
    CHECK(cl::decide_ownership("n1", view("n1", 10, 10)) == ownership_action::begin_term);
    CHECK(cl::decide_ownership("n1", view("n1", 10, 9)) == ownership_action::catch_up);
    auto owning = view("n1", 12, 11);
    owning.owning = true;
    CHECK(cl::decide_ownership("n1", owning) == ownership_action::none);
}

TEST_CASE("a node that is not the leader does not serve", "[unit][cluster]") {
    CHECK(cl::decide_ownership("n1", view("n2", 10, 10)) == ownership_action::none);
    auto owning = view("n2", 10, 10);
    owning.owning = true;
    CHECK(cl::decide_ownership("n1", owning) == ownership_action::end_term);
    // During an election nobody leads: a term ends, none begins.
    owning.leader.clear();
    CHECK(cl::decide_ownership("n1", owning) == ownership_action::end_term);
    CHECK(cl::decide_ownership("n1", view("", 10, 10)) == ownership_action::none);
}

TEST_CASE("a leader that cannot serve hands leadership away", "[unit][cluster]") {
    auto halted = view("n1", 10, 7);
    halted.halted = true;
    CHECK(cl::decide_ownership("n1", halted) == ownership_action::step_down);
    auto draining = view("n1", 10, 10);
    draining.draining = true;
    CHECK(cl::decide_ownership("n1", draining) == ownership_action::step_down);
    draining.owning = true;
    CHECK(cl::decide_ownership("n1", draining) == ownership_action::end_term);
}

TEST_CASE("a node that applied beyond the stream's end never serves", "[unit][cluster]") {
    CHECK(cl::decide_ownership("n1", view("n2", 10, 11)) == ownership_action::diverged);
    CHECK(cl::decide_ownership("n1", view("n1", 10, 11)) == ownership_action::step_down);
    auto owning = view("n1", 10, 11);
    owning.owning = true;
    CHECK(cl::decide_ownership("n1", owning) == ownership_action::end_term);
}

TEST_CASE("tenants spread over the partitions, and placements win", "[unit][cluster]") {
    const cl::partition_map map(32, {{7, 31}});
    CHECK(map.of(7) == 31);
    std::set<std::uint32_t> used;
    for (std::uint64_t t = 1; t <= 1000; ++t) {
        const auto p = map.of(t);
        REQUIRE(p < 32);
        used.insert(p);
    }
    CHECK(used.size() == 32);
    CHECK(map.of(std::numeric_limits<std::uint64_t>::max()) < 32);
    // The same on every node and build: pinned.
    CHECK(cl::partition_map(32).of(1) == cl::partition_map(32).of(1));
    CHECK(cl::partition_map(32).of(42) == 18);
    CHECK_THROWS_AS(cl::partition_map(0), std::invalid_argument);
    CHECK_THROWS_AS(cl::partition_map(4, {{1, 4}}), std::invalid_argument);
}
