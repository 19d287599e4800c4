// The heap keeper's rule, and its behaviour on an allocator that reports nothing (this binary
// runs on glibc's or a sanitizer's allocator; heap_keeper_tcmalloc_test.cpp runs on tcmalloc).
#include "heap_keeper.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("the heap keeper gives back only what exceeds the reserve", "[unit][server]") {
    using tern::server::heap_excess;
    CHECK(heap_excess(0, 8) == 0);
    CHECK(heap_excess(8, 8) == 0);
    CHECK(heap_excess(9, 8) == 1);
    CHECK(heap_excess(100, 0) == 100);
    CHECK(heap_excess(std::uint64_t{66} << 20, std::uint64_t{8} << 20) == std::uint64_t{58} << 20);
}

TEST_CASE("the heap keeper's thread gives back only what stayed free for a whole interval",
          "[unit][server]") {
    using tern::server::idle_excess;
    CHECK(idle_excess(0, 50) == 0);    // just freed: may be taken again
    CHECK(idle_excess(50, 50) == 50);  // free at both looks
    CHECK(idle_excess(50, 20) == 20);
    CHECK(idle_excess(20, 50) == 20);
}

TEST_CASE("on an allocator that reports nothing the heap keeper does nothing", "[unit][server]") {
    REQUIRE_FALSE(tern::server::read_heap());
    int rounds = 0;
    tern::server::heap_keeper keeper(1ms, 0, [&](std::uint64_t) { ++rounds; });
    CHECK(keeper.release_excess() == 0);
    CHECK(rounds == 0);
}
