// Gives the memory allocator's idle free pages back to the OS.
//
// A burst of work that ends (a TLS handshake wave: about 60 KB of OpenSSL state each while it
// lasts; a reconnect storm's catch-up pages) leaves the allocator holding the pages it freed.
// tcmalloc keeps them mapped for reuse, so ternd's resident memory would stay at the burst's
// peak for as long as it holds its idle connections: 66 MiB, 3.5 KiB per connection, after
// 19,000 TLS logins (docs/benchmarks.md). Every interval the keeper reads how much the allocator
// holds free above a reserve and gives back as much of it as was free at its look before too:
// memory idle for a whole interval. What a storm under way frees and takes again stays mapped
// (giving it back made the next storm fault it in again), and so does the reserve, for the
// next burst's first allocations. tcmalloc gives back whole free spans, so a round may give
// back more than asked (all of one large span).
//
// It talks to tcmalloc (gperftools), which ternd links, through its C API found at run time: the
// same code runs in programs on glibc's allocator or a sanitizer's (the tests), where the
// allocator reports nothing and the keeper does nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace tern::server {

struct heap_figures {
    std::uint64_t allocated = 0;  // held by the program (requested and not freed)
    std::uint64_t free = 0;       // free pages the allocator keeps mapped (resident)
    std::uint64_t unmapped = 0;   // free pages given back to the OS (address space only)
};

// The allocator's figures now; nullopt when it does not report them (not tcmalloc).
[[nodiscard]] std::optional<heap_figures> read_heap();

// The free bytes above the reserve.
[[nodiscard]] constexpr std::uint64_t heap_excess(std::uint64_t free, std::uint64_t reserve) {
    return free > reserve ? free - reserve : 0;
}

// What a round of the keeper's thread gives back: the excess it saw at its round before too, at
// most. That much stayed free for a whole interval (a storm's leftovers), while what traffic
// frees and takes again within the interval (a storm under way) stays mapped for its reuse.
[[nodiscard]] constexpr std::uint64_t idle_excess(std::uint64_t before, std::uint64_t now) {
    return before < now ? before : now;
}

class heap_keeper {
public:
    // Every `interval`, on a thread of its own, gives back the free memory above
    // `reserve_bytes` that stayed free since the round before (idle_excess; tern-heap:
    // releasing tens of MiB takes milliseconds, which no shard should wait for).
    // `released` is told the bytes of each round that gave some back. A zero interval, or an
    // allocator that reports nothing, starts no thread.
    heap_keeper(std::chrono::milliseconds interval, std::uint64_t reserve_bytes,
                std::function<void(std::uint64_t)> released);
    ~heap_keeper();
    heap_keeper(const heap_keeper&) = delete;
    heap_keeper& operator=(const heap_keeper&) = delete;

    // Now: gives back the whole excess, a MiB at a time (tcmalloc's page heap is locked while
    // it does), and returns the bytes given back.
    std::uint64_t release_excess();

private:
    void run();
    std::uint64_t release(std::uint64_t bytes);  // about `bytes`; returns what it gave back

    std::chrono::milliseconds interval_;
    std::uint64_t reserve_;
    std::function<void(std::uint64_t)> released_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::server
