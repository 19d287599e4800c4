// An in-memory store: the reference model of the apply rules, written for clarity rather than
// speed, with plain maps and no key encoding. The model-based tests compare the RocksDB store
// against it after every step; tests and tools may use it where nothing must survive.
//
// Thread safety: as store; reads and apply are serialized by an internal mutex.
#pragma once

#include <memory>

#include <tern/storage/store.hpp>

namespace tern::storage {

[[nodiscard]] std::unique_ptr<store> make_memory_store();

}  // namespace tern::storage
