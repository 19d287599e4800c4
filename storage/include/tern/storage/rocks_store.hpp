// The RocksDB store: the embedded, durable implementation of store.
//
// Layout (column families, key formats, value formats) is in docs/storage.md. Every key starts
// with the tenant as a big-endian integer, then big-endian ids, so keys sort by (tenant, ...).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <tern/storage/store.hpp>

namespace tern::storage {

// The CPU priority of RocksDB's flush and compaction threads (docs/storage.md, "Background
// work"). Process-wide: RocksDB's thread pools are shared by every store of the process, and a
// priority once lowered stays lowered.
enum class background_priority {
    normal,  // the same as the threads serving clients
    low,     // nice 19: foreground threads run first, background work still gets a share
    idle,    // SCHED_IDLE: only when nothing else on the core wants to run
};

struct rocks_options {
    std::string path;  // a directory; created if missing
    std::size_t block_cache_bytes = 64u << 20;
    std::size_t write_buffer_bytes = 32u << 20;  // per column family memtable
    // The writer's caches of hot state (entries, not bytes). A cached conversation costs about
    // 200 bytes plus 24 per member; a cursor entry about 100 bytes; a user entry about 100 bytes
    // plus 40 per newest inbox entry not yet acknowledged by its devices (at most 8).
    std::size_t cached_conversations = 1u << 16;
    std::size_t cached_users = 1u << 18;
    std::size_t cached_cursors = 1u << 18;
    int background_jobs = 2;
    background_priority background = background_priority::low;
    bool create_if_missing = true;
};

// Opens (or creates) the store at options.path. Fails with errc::incompatible if the data was
// written by an incompatible format version, errc::io_error or errc::corruption otherwise.
[[nodiscard]] result<std::unique_ptr<store>> open_rocks_store(const rocks_options& options);

}  // namespace tern::storage
