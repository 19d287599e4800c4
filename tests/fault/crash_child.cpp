// The child of the SIGKILL crash test: streams messages into a store through the commit writer
// and prints "<conv> <seq>" on stdout for every acknowledged one, until it is killed.
//
// usage: tern_crash_child <dir> <os|fsync>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include <tern/storage/commit_writer.hpp>
#include <tern/storage/rocks_store.hpp>

namespace st = tern::storage;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <dir> <os|fsync>\n", argv[0]);
        return 2;
    }
    st::rocks_options options;
    options.path = argv[1];
    options.write_buffer_bytes = 256u << 10;  // small memtables: flushes happen during the run
    auto opened = st::open_rocks_store(options);
    if (!opened) {
        std::fprintf(stderr, "open: %s\n", opened.error().message().c_str());
        return 1;
    }
    auto& store = **opened;
    const auto mode =
        std::strcmp(argv[2], "fsync") == 0 ? st::durability::fsync : st::durability::os;
    st::commit_writer writer(store, {mode, 256});

    constexpr int conv_count = 4;
    st::seq_t head[conv_count] = {};
    std::mutex mutex;
    std::condition_variable room;
    int in_flight = 0;
    const std::string padding(200, 'p');

    for (std::uint64_t n = 0;; ++n) {
        const int c = static_cast<int>(n % conv_count);
        const auto conv = st::conv_id::direct(1, 2 + static_cast<st::user_id>(c));
        st::append_event e;
        e.tenant = 1;
        e.conv = conv;
        e.seq = ++head[c];
        e.sender = 1;
        e.server_time_ms = static_cast<std::int64_t>(n);
        e.counts_unread = true;
        e.bytes = std::make_shared<const std::string>("m" + std::to_string(e.seq) + padding);
        e.client_msg_id = "c" + std::to_string(n);
        if (e.seq == 1) {
            e.membership = {{conv.id, st::role::member}, {conv.peer, st::role::member}};
        }
        {
            std::unique_lock lock(mutex);
            room.wait(lock, [&] { return in_flight < 1024; });
            ++in_flight;
        }
        writer.submit(std::move(e), [&, c, seq = head[c]](st::entry_result r) {
            if (!r) {
                std::fprintf(stderr, "commit failed: %s\n", r.error().message().c_str());
                std::_Exit(1);
            }
            char line[64];
            const int len = std::snprintf(line, sizeof line, "%d %llu\n", c,
                                          static_cast<unsigned long long>(seq));
            if (::write(STDOUT_FILENO, line, static_cast<std::size_t>(len)) != len) std::_Exit(1);
            std::lock_guard lock(mutex);
            --in_flight;
            room.notify_one();
        });
    }
}
