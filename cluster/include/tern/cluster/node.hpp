// A ternd node of the cluster (docs/cluster.md): it keeps a replica of every partition whose
// stream has a copy on its nats-server (every partition while there are as many nodes as
// replicas), owns the partitions whose stream it leads (one ownership term each, with its own
// core), and relays the sessions of the devices connected to it to their partitions' owners.
//
// The connections talk to gateway() exactly as they talk to a core on a single node. A control
// thread follows the streams (their info every poll interval, and leader-elected advisories at
// once) and decides per partition (decide_ownership): begin or end a term, step down, report.
//
// Threading: start() and stop() from one thread; the reports from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tern/cluster/nats_link.hpp>
#include <tern/cluster/partition_log.hpp>
#include <tern/core/clock.hpp>
#include <tern/core/frame_handler.hpp>
#include <tern/core/limits.hpp>
#include <tern/core/policy_outcome.hpp>
#include <tern/core/push_port.hpp>
#include <tern/core/router.hpp>
#include <tern/core/telemetry.hpp>
#include <tern/storage/commit_writer.hpp>

namespace tern::cluster {

// Told what the cluster does, for metrics (any thread; must be quick and thread-safe). Each may
// be empty.
struct cluster_observer {
    std::function<void(bool began)> owner_changed;  // a term of this node began or ended
    // An append's outcome and the time from submission to the log's answer.
    std::function<void(append_status, std::chrono::nanoseconds)> appended;
    std::function<void(bool inbound)> bus_message;        // a message between nodes
    std::function<void(std::string_view why)> bus_error;  // "malformed" or "unsent"
};

struct node_settings {
    std::string name;  // this node's name: its nats-server's server_name
    nats_settings nats;
    log_settings log;  // partitions, replicas, retention, append timeout
    std::map<storage::tenant_id, std::uint32_t> placements;
    std::chrono::milliseconds poll_interval{1000};
    cluster_observer observer;
    // Where the cores of this node's terms send their pushes (null: no push relay). It must
    // outlive the node.
    core::push_port* pushes = nullptr;
};

// A partition as this node sees it (/admin/v1/partitions).
struct partition_report {
    std::uint32_t partition = 0;
    std::string leader;
    bool owner = false;  // this node serves it now
    std::uint64_t applied = 0;
    std::uint64_t last_seq = 0;  // the stream's, at the last look
    std::uint64_t digest = 0;
    // This node applies it: its nats-server holds one of the stream's copies (with more nodes
    // than replicas, each node holds some partitions and relays the others' requests).
    bool has_copy = true;
    bool stream_current = false;  // this node's nats-server has a current copy of the stream
    std::string halted;           // why this node cannot serve it; empty when it can
    std::uint64_t refused = 0;    // stale owners' entries its replica refused since start
};

// Why a peer's copy was not removed: refused (a bad partition or name, JetStream said no), or no
// answer in time (JetStream busy, an election: ask again).
struct peer_removal_refused {
    bool in_time = true;  // false: no answer in time
    std::string why;
};

class node {
public:
    // Everything must outlive the node. The writer applies every partition's entries; the
    // store is the node's one RocksDB.
    node(node_settings settings, core::router& shards, storage::store& store,
         storage::commit_writer& writer, const core::limits& limits, core::telemetry& telemetry,
         const core::clock& clock = core::system_clock());
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    // Connects to NATS (in the background if the server is not up yet), then the control thread
    // makes the streams, starts the replicas and follows the leaders.
    void start();
    // Ends every term and stops the replicas. Call before stopping the shards and the writer.
    void stop();
    // A drain: hands the leadership of every partition this node leads to another node, refuses
    // new devices and closes the connected ones over `window` (they reconnect elsewhere).
    void drain(std::chrono::milliseconds window);

    [[nodiscard]] core::frame_handler& gateway();

    // ---- administration (the admin listener's thread; each blocks at most `wait`) -------------

    // This node's connections with an id above `after_id`, ascending, at most `limit`; nullopt
    // when a shard did not answer in time.
    [[nodiscard]] std::optional<std::vector<core::device_info>> devices(
        std::uint64_t after_id, std::size_t limit, std::chrono::milliseconds wait);
    // Closes a user's devices (or one device) wherever they are connected, with
    // DISCONNECT_KICKED: the owner of the tenant's partition (this node, or another asked over
    // NATS) closes them. How many; nullopt when no owner answered in time.
    [[nodiscard]] std::optional<std::size_t> kick(storage::tenant_id tenant, storage::user_id user,
                                                  std::optional<storage::device_id> device,
                                                  std::chrono::milliseconds wait);
    // The push relay reported a device's token dead: its registration goes, through the
    // tenant's owner's log, when this node owns the tenant's partition (it pushed, so it did
    // a moment ago); otherwise nothing (the next owner's push is reported again). Any thread.
    void forget_push_token(storage::tenant_id tenant, storage::user_id user,
                           storage::device_id device, const std::string& token);
    // A tenant's notification policy (encoded tern.v1.TenantPolicy; empty removes it),
    // replaced by the owner of the tenant's partition through its log; nullopt when no owner
    // answered in time.
    [[nodiscard]] std::optional<core::policy_outcome> set_policy(storage::tenant_id tenant,
                                                                 const std::string& policy,
                                                                 std::chrono::milliseconds wait);
    // What the owner of a tenant's partition read: the bytes, or why it could not (outcome
    // unavailable).
    struct owner_read {
        core::policy_outcome outcome;
        std::string bytes;
    };
    // The tenant's policy as its owner has it (encoded; empty: none); nullopt when no owner
    // answered in time.
    [[nodiscard]] std::optional<owner_read> policy(storage::tenant_id tenant,
                                                   std::chrono::milliseconds wait);
    // The tenant's audit trail of urgent messages from `from_ms` on, at most `limit` (an encoded
    // tern.v1.UrgentAudit), from its owner; nullopt when no owner answered in time.
    [[nodiscard]] std::optional<owner_read> urgent_audit(storage::tenant_id tenant,
                                                         std::int64_t from_ms, std::size_t limit,
                                                         std::chrono::milliseconds wait);
    [[nodiscard]] std::vector<partition_report> partitions() const;
    // Asks JetStream to drop node `peer`'s copy of the partition's stream and place a fresh one
    // (partition_log::remove_peer): the repair of a copy that kept entries its cluster never
    // committed. Nullopt when JetStream took it; otherwise why not.
    [[nodiscard]] std::optional<peer_removal_refused> remove_peer(std::uint32_t partition,
                                                                  const std::string& peer);
    // Every partition has a leader this node knows, and this node's replica of each partition
    // it holds a copy of has caught up with what its stream held when last looked at (or
    // halted: then not ready).
    [[nodiscard]] bool ready() const;
    [[nodiscard]] const std::string& name() const noexcept;

private:
    struct parts;
    std::unique_ptr<parts> parts_;
};

}  // namespace tern::cluster
