// Opening the RocksDB store on a custom file system: private to storage and its tests, which use
// it to inject faults (a file system that loses unsynced data, or fails writes with ENOSPC).
#pragma once

#include <memory>

#include <rocksdb/file_system.h>

#include <tern/storage/rocks_store.hpp>

namespace tern::storage::detail {

[[nodiscard]] result<std::unique_ptr<store>> open_rocks_store(
    const rocks_options& options, std::shared_ptr<rocksdb::FileSystem> file_system);

}  // namespace tern::storage::detail
