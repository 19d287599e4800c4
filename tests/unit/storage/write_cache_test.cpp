// White-box tests of the commit writer's inbox cache (storage/src/write_cache.hpp): the runs it
// keeps are what lets a cumulative Ack move delivery cursors without reading RocksDB.
#include <map>

#include <catch2/catch.hpp>

#include "write_cache.hpp"

using namespace tern::storage;
using detail::user_inbox;

namespace {

const conv_id group_a = conv_id::group(1);
const conv_id group_b = conv_id::group(2);

// The newest seq per conversation the inbox reports for (after, up_to].
std::map<std::uint64_t, seq_t> newest_in(const user_inbox& u, std::uint64_t after,
                                         std::uint64_t up_to) {
    std::map<std::uint64_t, seq_t> out;
    u.for_each_newest(after, up_to, [&](const conv_id& c, seq_t s) {
        auto& n = out[c.id];
        n = std::max(n, s);
    });
    return out;
}

}  // namespace

TEST_CASE("the inbox cache keeps a busy conversation as one run however long", "[unit][storage]") {
    user_inbox u;
    u.head = 40;  // loaded from disk: nothing cached
    REQUIRE(u.first_cached() == 41);
    for (seq_t s = 100; s < 1100; ++s) REQUIRE(u.append(group_a, s) == 41 + (s - 100));
    u.keep_newest();
    REQUIRE(u.runs.size() == 1);
    REQUIRE(u.first_cached() == 41);
    REQUIRE(u.covers_after(40));
    REQUIRE_FALSE(u.covers_after(39));
    CHECK(newest_in(u, 40, 540) == std::map<std::uint64_t, seq_t>{{1, 599}});
    CHECK(newest_in(u, 540, 2000) == std::map<std::uint64_t, seq_t>{{1, 1099}});
    CHECK(newest_in(u, 1040, 2000).empty());
}

TEST_CASE("the inbox cache starts a run where the conversation or its seqs change",
          "[unit][storage]") {
    user_inbox u;
    u.append(group_a, 1);  // inbox_seq 1
    u.append(group_a, 2);  // 2
    u.append(group_b, 7);  // 3
    u.append(group_a, 3);  // 4
    u.append(group_a, 5);  // 5: a gap in a's seqs (an event this user did not get)
    REQUIRE(u.runs.size() == 4);
    CHECK(newest_in(u, 0, 5) == std::map<std::uint64_t, seq_t>{{1, 5}, {2, 7}});
    CHECK(newest_in(u, 0, 2) == std::map<std::uint64_t, seq_t>{{1, 2}});
    CHECK(newest_in(u, 1, 3) == std::map<std::uint64_t, seq_t>{{1, 2}, {2, 7}});
    CHECK(newest_in(u, 3, 4) == std::map<std::uint64_t, seq_t>{{1, 3}});
}

TEST_CASE("the inbox cache drops what every device acknowledged, inside a run too",
          "[unit][storage]") {
    user_inbox u;
    for (seq_t s = 1; s <= 10; ++s) u.append(group_a, s);
    for (seq_t s = 1; s <= 3; ++s) u.append(group_b, s);  // inbox_seq 11..13
    u.devices = {{1, 6}, {2, 12}};
    u.drop_acknowledged();
    REQUIRE(u.first_cached() == 7);
    CHECK(newest_in(u, 6, 13) == std::map<std::uint64_t, seq_t>{{1, 10}, {2, 3}});
    u.devices = {{1, 12}, {2, 12}};
    u.drop_acknowledged();
    REQUIRE(u.first_cached() == 13);
    CHECK(newest_in(u, 12, 13) == std::map<std::uint64_t, seq_t>{{2, 3}});
    u.devices = {{1, 13}, {2, 13}};
    u.drop_acknowledged();
    CHECK(u.runs.empty());
    CHECK(u.first_cached() == 14);
    CHECK(u.append(group_b, 4) == 14);
}

TEST_CASE("the inbox cache keeps at most its newest runs between batches", "[unit][storage]") {
    user_inbox u;
    for (std::uint64_t i = 1; i <= 20; ++i) u.append(i % 2 ? group_a : group_b, i);
    REQUIRE(u.runs.size() == 20);
    u.keep_newest();
    REQUIRE(u.runs.size() == user_inbox::max_runs);
    CHECK(u.first_cached() == 20 - user_inbox::max_runs + 1);
    CHECK(u.covers_after(20 - user_inbox::max_runs));
    CHECK_FALSE(u.covers_after(20 - user_inbox::max_runs - 1));
}
