// The heap keeper on tcmalloc, the allocator ternd runs on: free pages above the reserve go back
// to the OS, in one round and on the keeper's own thread. Built without sanitizers (they bring
// their own allocator) and linked with tcmalloc, like ternd.
#include "heap_keeper.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using tern::server::heap_keeper;
using tern::server::read_heap;

namespace {

constexpr std::uint64_t mib = 1 << 20;

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Allocates `count` blocks of 1 MiB, touches every page (so they are resident), and frees them:
// tcmalloc keeps blocks this large in its page heap, free and resident.
void* volatile keep_alive = nullptr;
void burst(int count) {
    std::vector<void*> blocks;
    for (int i = 0; i < count; ++i) {
        void* block = std::malloc(mib);
        REQUIRE(block != nullptr);
        std::memset(block, i + 1, mib);
        keep_alive = block;
        blocks.push_back(block);
    }
    for (void* block : blocks) std::free(block);
    keep_alive = nullptr;
}

}  // namespace

TEST_CASE("on tcmalloc the heap keeper gives the free memory above its reserve back to the OS",
          "[unit][server]") {
    REQUIRE(read_heap());
    burst(64);
    const auto before = *read_heap();
    REQUIRE(before.free >= 60 * mib);
    const auto resident_before = resident_bytes();

    std::uint64_t reported = 0;
    heap_keeper keeper(0ms, 8 * mib, [&](std::uint64_t bytes) { reported += bytes; });
    const auto given = keeper.release_excess();

    const auto after = *read_heap();
    CHECK(given >= before.free - 8 * mib);  // whole spans: at least the excess
    CHECK(reported == given);
    CHECK(after.free <= 8 * mib);
    CHECK(resident_bytes() + 50 * mib <= resident_before);
    CHECK(keeper.release_excess() == 0);  // nothing above the reserve is left
}

TEST_CASE("the heap keeper's thread gives back a burst's free memory by itself", "[unit][server]") {
    std::atomic<std::uint64_t> reported{0};
    heap_keeper keeper(5ms, 0, [&](std::uint64_t bytes) { reported += bytes; });
    burst(32);
    // No duration is asserted: the rounds run every 5 ms, and the loop waits up to a minute.
    for (int i = 0; i < 6000 && reported.load() < 30 * mib; ++i) std::this_thread::sleep_for(10ms);
    CHECK(reported.load() >= 30 * mib);
    CHECK(read_heap()->free < 2 * mib);
}
