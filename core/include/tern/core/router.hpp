// The router: how the core reaches its shards. It is the only way work moves between threads in
// the core, and the seam where a cluster plugs in (DESIGN.md, "Beyond one machine"): the
// in-process implementation (server/src/net/shard_router.hpp) runs every shard as a thread of
// this process; a cluster's owns some partitions here and forwards the rest.
//
// Contract, for every implementation:
// - owner_of and home_of are pure functions of their arguments for the router's life: one owner
//   per conversation (one order of its events), one home per user.
// - post(shard, fn) runs fn on that shard's thread, later, never inline, and runs tasks posted
//   from one thread to one shard in the order they were posted (the core relies on it: the
//   commit writer posts deliveries in commit order).
// - post_after(shard, delay, fn) runs fn on that shard's thread no sooner than `delay` from now.
// - Tasks still queued when the router stops are destroyed without running.
// Every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>

#include <tern/core/task.hpp>
#include <tern/storage/types.hpp>

namespace tern::core {

class router {
public:
    virtual ~router() = default;

    [[nodiscard]] virtual std::size_t shard_count() const noexcept = 0;

    // The shard that owns a conversation: dedups its requests, decides its seqs, coalesces its
    // read counts and relays its typing.
    [[nodiscard]] virtual std::size_t owner_of(storage::tenant_id tenant,
                                               const storage::conv_id& conv) const noexcept = 0;

    // The shard that keeps a user's devices (the device limit, a replaced connection), presence
    // and presence watchers.
    [[nodiscard]] virtual std::size_t home_of(storage::tenant_id tenant,
                                              storage::user_id user) const noexcept = 0;

    virtual void post(std::size_t shard, task fn) = 0;
    virtual void post_after(std::size_t shard, std::chrono::milliseconds delay, task fn) = 0;

    // Whether this core serves the tenant: work the core finds in the store rather than in a
    // request (scheduled messages coming due) is done only for the tenants it serves. One node
    // serves every tenant; a cluster term, its partition's.
    [[nodiscard]] virtual bool serves(storage::tenant_id /*tenant*/) const noexcept { return true; }
};

}  // namespace tern::core
