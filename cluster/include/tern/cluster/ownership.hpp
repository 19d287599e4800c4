// Who serves a partition, decided on each node from what it can see: the stream's leader (the
// nats-server beside the ternd of the same name), how far this node's replica has applied the
// log, and whether it can apply at all. The decision is a pure function, so every case is a unit
// test; the node's control loop feeds it (stream info every second and the leader-elected
// advisories) and carries the action out.
//
// The fence is what makes this safe, not the decision: a node that wrongly believes it owns a
// partition cannot append (docs/cluster.md, "Ownership").
#pragma once

#include <cstdint>
#include <string>

namespace tern::cluster {

struct partition_view {
    std::string leader;          // the stream's leader now; empty during an election
    std::uint64_t last_seq = 0;  // the stream's last sequence, as the leader reported it
    // This node's replica, read BEFORE the stream info was asked for: the replica keeps
    // applying meanwhile, and a later reading could pass a correct last_seq.
    std::uint64_t applied = 0;
    bool halted = false;    // this node's replica stopped (it cannot serve)
    bool owning = false;    // this node runs an ownership term for the partition now
    bool draining = false;  // this node is shutting down
};

enum class ownership_action {
    none,        // keep things as they are
    begin_term,  // lead, caught up, able: start serving as the owner
    end_term,    // no longer the leader (or draining): stop the term
    catch_up,    // the leader, not yet caught up: wait for the replica, then decide again
    step_down,   // the leader but cannot serve (halted, draining): hand leadership away
    diverged,    // this node applied beyond the stream's end: the stream lost data; never serve
};

[[nodiscard]] ownership_action decide_ownership(const std::string& node,
                                                const partition_view& view) noexcept;

[[nodiscard]] const char* describe(ownership_action a) noexcept;

}  // namespace tern::cluster
