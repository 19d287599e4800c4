// One partition's replicated log: the JetStream stream TERN_P<nn> (subject tern.log.p<nn>),
// file storage, `replicas` copies, retention by age. Its Raft leader's node owns the partition
// (docs/cluster.md).
//
// Appends are fenced: each names the sequence it must follow (Nats-Expected-Last-Sequence, the
// stream-level check, which every replica applies; never the per-subject one, which 2.9.10 lets
// two writers both pass). One that does not follow the stream's last entry is refused, so a
// stale owner can never write, however sure it is that it owns the partition.
//
// Threading: append() and read_from() may be called from any thread; their callbacks run on
// libnats' threads. info(), ensure() and step_down() block (JetStream API requests): call them
// from the cluster's control thread, never from a shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tern/cluster/nats_link.hpp>

namespace tern::cluster {

struct log_settings {
    std::string cluster = "tern";  // written into each stream's genesis entry
    std::uint32_t partitions = 32;
    int replicas = 3;
    std::chrono::seconds max_age{std::chrono::hours(24 * 7)};
    // An append not acknowledged by a quorum within this is failed (it may still land: the
    // owner then learns it from the stream, never from the append).
    std::chrono::milliseconds append_timeout{2000};
    // The nats-server whose copy of the stream a reader should read (this node's own: its
    // server_name is the node's name); empty: wherever JetStream places the consumer.
    std::string home_server;
};

[[nodiscard]] std::string stream_name(std::uint32_t partition);  // TERN_P07
[[nodiscard]] std::string log_subject(std::uint32_t partition);  // tern.log.p07

struct replica_state {
    std::string name;  // the nats-server's server_name, which is its ternd's node name
    bool current = false;
    bool offline = false;
    std::uint64_t lag = 0;
};

struct stream_state {
    std::uint64_t first_seq = 0;
    std::uint64_t last_seq = 0;
    std::string leader;                   // empty while there is none (an election, no quorum)
    std::vector<replica_state> replicas;  // the followers, as the leader sees them
};

enum class append_status {
    ok,
    fenced,  // another writer appended since `expected_last`: this node is not the owner
    failed,  // no quorum, timeout, connection lost: the entry may or may not be in the log
};

struct append_result {
    append_status status = append_status::failed;
    std::uint64_t sequence = 0;  // ok: the entry's stream sequence
    std::string error;
};

class log_reader;

class partition_log {
public:
    using append_done = std::function<void(append_result)>;
    using entry_handler = std::function<void(std::uint64_t sequence, std::string_view bytes)>;

    // Reads and JetStream API calls go through `link`; appends through `appends`, when given
    // (a connection that writes at once, nats_settings::send_asap), else through `link`.
    partition_log(nats_link& link, std::uint32_t partition, log_settings settings,
                  nats_link* appends = nullptr);
    ~partition_log();
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    [[nodiscard]] std::uint32_t partition() const noexcept { return partition_; }

    // The stream's state; nullopt when it does not exist. Throws nats_error otherwise.
    [[nodiscard]] std::optional<stream_state> info() const;
    // Creates the stream and its genesis entry unless they exist (any node may: the genesis is
    // fenced on an empty stream, so there is exactly one). Throws nats_error.
    stream_state ensure();
    // Asks the stream's leader to hand leadership to another replica. Throws nats_error.
    void step_down();
    // Asks JetStream to drop server `peer`'s copy of the stream and place a fresh one, which
    // catches up from the others (docs/cluster.md, "A diverged replica"); with no spare server
    // the fresh copy goes on `peer` itself. `peer` is a server name ([A-Za-z0-9_-]). Throws
    // nats_error, with JetStream's reason when it refuses.
    void remove_peer(const std::string& peer);

    // Appends `bytes` as the entry after `expected_last`; `done` runs once, on a libnats thread.
    void append(std::string_view bytes, std::uint64_t expected_last, append_done done);

    // Reads every entry from `from` on, in stream order, now and as they are appended (an
    // ordered consumer: it recreates itself after a gap or a lost connection). `on_entry` runs
    // on one libnats thread at a time. Stop by destroying the reader.
    //
    // JetStream places the consumer on any server holding a copy, and it stays there: a
    // replica reading through another node's server stalls when that node is cut off (the
    // owner's acknowledgements with it), and reads that node's copy, which after a partition may
    // hold entries its cluster never committed (docs/cluster.md). So the reader asks again, a
    // few times, until the consumer lives on `home_server`; if it cannot (that server is down),
    // it keeps the last placement and says so in the log.
    [[nodiscard]] std::unique_ptr<log_reader> read_from(std::uint64_t from, entry_handler on_entry);

private:
    struct pending_appends;
    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure);
    // Scales the stream down by one copy and back up, so that JetStream places the missing copy.
    void place_fresh_copy();

    nats_link& link_;
    const std::uint32_t partition_;
    const log_settings settings_;
    const std::string stream_;
    const std::string subject_;
    std::shared_ptr<pending_appends> pending_;
    jsCtx* js_ = nullptr;         // reads and API calls
    jsCtx* append_js_ = nullptr;  // appends, and their acknowledgements
};

class log_reader {
public:
    log_reader(jsCtx* js, const std::string& stream, const std::string& subject, std::uint64_t from,
               const std::string& home_server, partition_log::entry_handler on_entry);
    ~log_reader();
    log_reader(const log_reader&) = delete;
    log_reader& operator=(const log_reader&) = delete;

    // Whether the consumer lives on the server asked for (or none was asked for), as last
    // looked at.
    [[nodiscard]] bool at_home() const noexcept { return at_home_; }
    // Asks the server again where the consumer lives: libnats re-creates an ordered consumer
    // by itself after a gap or a lost connection, and JetStream may place the new one on any
    // copy. Keeps the last answer when the server cannot say (JetStream's API is away).
    bool still_at_home();

private:
    using guarded = detail::guarded_handler<partition_log::entry_handler>;
    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
    // Subscribes (an ordered consumer from `from`); the server the consumer lives on.
    std::string subscribe(jsCtx* js, const std::string& stream, const std::string& subject,
                          std::uint64_t from);
    void unsubscribe();

    // The server the consumer lives on; empty when it cannot be learnt.
    std::string placement() const;

    std::string home_server_;
    std::shared_ptr<guarded> state_;
    natsSubscription* sub_ = nullptr;
    bool at_home_ = true;
};

}  // namespace tern::cluster
