// What a cluster node is made of (node.hpp keeps it behind a pointer): its partitions' slots
// and the parts that run them. Shared by node.cpp (the lifecycle and the control loop) and
// node_admin.cpp (what operators and other nodes ask of it). Only those two include this.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <tern/cluster/node.hpp>
#include <tern/cluster/partition_log.hpp>
#include <tern/cluster/partition_map.hpp>
#include <tern/cluster/replica.hpp>

#include "bus.hpp"
#include "peer_digests.hpp"
#include "relay.hpp"
#include "session_host.hpp"
#include "term.hpp"
#include "tern/cluster/v1/bus.pb.h"

namespace tern::cluster {

// One partition on this node: its log, its replica, and its term while this node owns it.
struct partition_slot {
    std::uint32_t id = 0;
    std::unique_ptr<partition_log> log;
    std::unique_ptr<replica> rep;
    bool reading = false;  // the replica started (control thread only)
    std::string read_via;  // the leader when the replica's reader was made (control thread)

    mutable std::mutex mutex;  // the fields below
    std::shared_ptr<detail::term> term;
    std::string leader;
    std::uint64_t last_seq = 0;
    // This node's nats-server holds a current copy of the stream (it leads, or its replica is
    // caught up): until then a rolling restart must not take the next node down.
    bool stream_current = false;
    // The stream has a copy on this node's nats-server, so this node applies it (true until
    // a leader says otherwise: with more nodes than replicas, each holds some partitions).
    bool has_copy = true;
    std::string problem;  // why this node cannot serve it, beyond the replica's own halt
    std::chrono::steady_clock::time_point asked_away{};  // the last stepdown for a silent leader
    // When the reader's placement was last asked of the server (control thread).
    std::chrono::steady_clock::time_point placement_checked{};

    [[nodiscard]] bool placed_here() const {
        std::lock_guard lock(mutex);
        return has_copy;
    }
};

struct node::parts {
    parts(node_settings s, core::router& sh, storage::store& st, storage::commit_writer& w,
          const core::limits& l, core::telemetry& t, const core::clock& c)
        : settings(std::move(s)),
          shards(sh),
          store(st),
          writer(w),
          limits(l),
          telemetry(t),
          clock(c),
          map(settings.log.partitions, settings.placements) {
        for (std::uint32_t p = 0; p < settings.log.partitions; ++p) {
            auto slot = std::make_unique<partition_slot>();
            slot->id = p;
            slots.push_back(std::move(slot));
        }
    }

    void run();
    void look_at(partition_slot& slot);
    // Makes the partition's stream if there is none, and starts its replica if the stream has
    // a copy on this node's nats-server.
    void start_reading(partition_slot& slot);
    // The stream's copy here went away: this node no longer applies the partition.
    void stop_reading(partition_slot& slot, const stream_state& stream);
    // Notes the stream's leader and where its copies are (the relay follows the leader).
    void follow(partition_slot& slot, const stream_state& stream, bool stream_current);
    // Keeps the replica's reader on this node's own copy of the stream.
    void keep_reader_home(partition_slot& slot, const std::string& leader, bool stream_current);
    // Asks for another leader when `leader`'s ternd is silent; whether it asked.
    bool leader_silent(partition_slot& slot, const std::string& leader);
    // A term from the replica's position (`applied_to`, read before the stream's information).
    void begin_term(partition_slot& slot, const replica_status& applied_to);
    void end_term(partition_slot& slot, const std::string& why);
    void wake() {
        std::lock_guard lock(mutex);
        woken = true;
        changed.notify_all();
    }
    [[nodiscard]] std::shared_ptr<detail::term> term_of(std::uint32_t p) const {
        if (p >= slots.size()) return nullptr;
        std::lock_guard lock(slots[p]->mutex);
        return slots[p]->term;
    }
    [[nodiscard]] std::string leader_of(std::uint32_t p) const {
        if (p >= slots.size()) return {};
        std::lock_guard lock(slots[p]->mutex);
        return slots[p]->leader;
    }

    node_settings settings;
    core::router& shards;
    storage::store& store;
    storage::commit_writer& writer;
    const core::limits& limits;
    core::telemetry& telemetry;
    const core::clock& clock;
    partition_map map;
    std::vector<std::unique_ptr<partition_slot>> slots;
    std::unique_ptr<detail::bus> bus;
    std::unique_ptr<detail::session_host> host;
    std::unique_ptr<detail::relay> relay;
    std::vector<std::unique_ptr<subscription>> subscriptions;
    std::uint64_t terms = 0;

    std::mutex mutex;
    std::condition_variable changed;
    bool woken = false;
    bool stopping = false;
    std::atomic<bool> step_down_all{false};
    std::thread control;

    // When each other ternd was last heard from (tern.alive.<node>, every round of each node's
    // control loop): a partition led by a nats-server whose ternd is silent is handed away.
    std::mutex alive_mutex;
    std::map<std::string, std::chrono::steady_clock::time_point> heard;
    // A ternd not heard from for this long is taken for gone (each beats twice a second).
    static constexpr std::chrono::seconds silent_limit{5};
    // Since when this node judges the others' silence (its start, or its last stall).
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    [[nodiscard]] bool silent(const std::string& node);
    // Tells the other nodes this ternd lives and how far each replica applied, at most twice a
    // second (a round of the control loop can take seconds while NATS is slow, so it beats
    // between partitions too).
    void beat();
    // A KickRequest from another node's admin listener: kicks through the partition's term if
    // this node owns it, and answers on the request's reply subject.
    void kick_asked(natsMsg* request);
    void policy_asked(natsMsg* request);
    // A policy request answered by the tenant's owner: this node's term, or the partition's
    // leader asked over NATS. Nullopt: no owner answered within `wait`.
    std::optional<v1::PolicyReply> ask_policy(const v1::PolicyRequest& ask,
                                              std::chrono::milliseconds wait);
    // A heartbeat from another node: when it was heard, and its replicas' positions.
    void heard_from(std::string_view subject, std::string_view payload);
    // Halts this node's replica of the partition when more peers disagree with its digest than
    // agree (peer_digests.hpp).
    void compare_with_peers(partition_slot& slot);
    detail::peer_digests peers;
    std::chrono::steady_clock::time_point last_beat{};
    std::chrono::steady_clock::time_point last_called = std::chrono::steady_clock::now();
    // Last, so destroyed first: its callbacks (wake) use the members above. `link` holds the
    // subscriptions and the stream readers; `publisher` (send_asap) carries what this node
    // publishes on its hot path, the appends and the bus messages, each written at once.
    std::unique_ptr<nats_link> publisher;
    std::unique_ptr<nats_link> link;
};

}  // namespace tern::cluster
