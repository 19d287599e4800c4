// peer_digests without sockets: which node halts when replicas report different digests at the
// same entry.
#include <catch2/catch.hpp>

#include "peer_digests.hpp"

using tern::cluster::detail::peer_digests;

namespace {

// This node's digests: entry s hashes to s * 10, except where `differs_from` says.
peer_digests::digest_lookup digests_up_to(std::uint64_t applied, std::uint64_t differs_from = 0) {
    return [=](std::uint64_t s) -> std::optional<std::uint64_t> {
        if (s > applied) return std::nullopt;
        return differs_from && s >= differs_from ? s * 10 + 1 : s * 10;
    };
}

}  // namespace

TEST_CASE("replicas at the same entry with the same digest agree", "[unit][cluster]") {
    peer_digests peers;
    peers.heard("n2", 1, {5, 50});
    peers.heard("n3", 1, {5, 50});
    const auto v = peers.compare(1, digests_up_to(5));
    CHECK(v.agree == 2);
    CHECK(v.disagree == 0);
    CHECK_FALSE(v.outvoted());
    CHECK(peers.compare(2, digests_up_to(5)).agree == 0);  // another partition: nothing heard
}

TEST_CASE("the odd one out is outvoted, the two that agree are not", "[unit][cluster]") {
    peer_digests at_n3;  // n3 kept an entry 19 of its own
    at_n3.heard("n1", 1, {30, 300});
    at_n3.heard("n2", 1, {30, 300});
    const auto v = at_n3.compare(1, digests_up_to(30, 19));
    CHECK(v.disagree == 2);
    CHECK(v.outvoted());
    CHECK_THAT(v.detail, Catch::Contains("after entry 30") && Catch::Contains("n1's is 300"));

    peer_digests at_n1;
    at_n1.heard("n2", 1, {30, 300});
    at_n1.heard("n3", 1, {30, 301});
    const auto w = at_n1.compare(1, digests_up_to(30));
    CHECK(w.agree == 1);
    CHECK(w.disagree == 1);
    CHECK_FALSE(w.outvoted());
}

TEST_CASE("a peer ahead is compared at the newest entry this node has reached", "[unit][cluster]") {
    peer_digests peers;
    for (std::uint64_t s = 10; s <= 17; ++s) peers.heard("n1", 0, {s, s * 10 + 1});
    // This node applied up to 12: the reports for 13..17 wait, 12's is compared (and differs).
    const auto v = peers.compare(0, digests_up_to(12));
    CHECK(v.disagree == 1);
    CHECK_THAT(v.detail, Catch::Contains("after entry 12"));
    // Behind all kept reports: nothing to compare yet.
    CHECK(peers.compare(0, digests_up_to(9)).disagree == 0);
    // Only the last `kept` reports stay.
    for (std::uint64_t s = 18; s < 18 + peer_digests::kept; ++s) peers.heard("n1", 0, {s, s * 10});
    CHECK(peers.compare(0, digests_up_to(17)).disagree == 0);
}

TEST_CASE("two nodes that disagree, with no third to ask, both halt", "[unit][cluster]") {
    peer_digests peers;
    peers.heard("n2", 3, {4, 41});
    CHECK(peers.compare(3, digests_up_to(4)).outvoted());
}
