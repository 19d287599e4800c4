// Read counts for group senders, from the members' cursors.
#include "read_counts.hpp"

#include <catch2/catch.hpp>

using namespace tern::core;
namespace st = tern::storage;

namespace {

st::stored_event msg(st::seq_t seq, st::user_id sender,
                     st::event_kind kind = st::event_kind::message) {
    st::stored_event e;
    e.seq = seq;
    e.sender = sender;
    e.kind = kind;
    return e;
}

st::member_cursor member(st::user_id u, st::seq_t joined, st::seq_t read) {
    return {{u, st::role::member, joined, {}}, {u, read, read}};
}

}  // namespace

TEST_CASE("read counts per sender exclude the sender and later joiners", "[unit][core][receipts]") {
    // Users 1..4 joined at seq 1; user 5 joined at seq 4.
    const std::vector<st::member_cursor> members{member(1, 1, 5), member(2, 1, 3), member(3, 1, 2),
                                                 member(4, 1, 0), member(5, 4, 5)};
    auto recalled = msg(4, 1);
    recalled.recalled = true;
    const std::vector<st::stored_event> events{msg(2, 1), msg(3, 2), recalled, msg(5, 1),
                                               msg(6, 3, st::event_kind::renamed)};

    const auto out = count_reads(events, members);
    REQUIRE(out.size() == 2);
    CHECK(out[0].sender == 1);
    // seq 2 by user 1: members 2, 3, 4 (5 joined later); 2 and 3 have read it.
    // seq 5 by user 1: members 2, 3, 4, 5; only 5 has read it.
    CHECK(out[0].counts == std::vector<read_count>{{2, 2, 3}, {5, 1, 4}});
    CHECK(out[1].sender == 2);
    // seq 3 by user 2: members 1, 3, 4; only 1 has read it.
    CHECK(out[1].counts == std::vector<read_count>{{3, 1, 3}});
}

TEST_CASE("no messages, no counts", "[unit][core][receipts]") {
    const std::vector<st::member_cursor> members{member(1, 1, 5)};
    CHECK(count_reads({}, members).empty());
    const std::vector<st::stored_event> events{msg(1, 1, st::event_kind::group_created)};
    CHECK(count_reads(events, members).empty());
}
