// Fault injection for the RocksDB store, for tests only (the tern::storage_testing library):
// a file system under the store that loses power and fills up on demand.
//
// - crash(): from now on nothing reaches the disk (every write, sync, rename and delete is
//   ignored, as when the power goes); drop_unsynced() then truncates every file to what was
//   synced, and a store opened normally on the same directory recovers what a machine would.
// - fail_writes(true): every append fails with ENOSPC, as on a full disk, until turned off.
//
// Its model is a little kinder than real disks in one respect: directory entries of new files
// survive even if the directory was never synced.
//
// Thread safety: every member may be called from any thread, while stores opened on it run.
#pragma once

#include <cstdint>
#include <memory>

#include <tern/storage/rocks_store.hpp>

namespace tern::storage::testing {

class fault_fs {
public:
    fault_fs();
    ~fault_fs();
    fault_fs(const fault_fs&) = delete;
    fault_fs& operator=(const fault_fs&) = delete;

    // Opens the RocksDB store on this file system (the stores share it, and may outlive it).
    [[nodiscard]] result<std::unique_ptr<store>> open_rocks_store(const rocks_options& options);

    void fail_writes(bool fail);
    void crash();
    // Truncates every file to its synced length; returns how many bytes were lost.
    std::uint64_t drop_unsynced();
    // Bytes written and not yet synced, over all files.
    [[nodiscard]] std::uint64_t unsynced_bytes() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace tern::storage::testing
