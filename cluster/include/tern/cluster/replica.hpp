// One partition's replica on this node: it reads the partition's log in order and applies each
// entry to the node's store through the node's commit writer, in one batch with the log_position
// that covers it (stream sequence and rolling digest). A restarted node resumes right after the
// last entry it applied; every replica of a partition, owner or standby, applies the same
// entries by the same rules and so reaches the same state and digest.
//
// An entry states the digest of the log before it as its writer had it. One whose writer had
// another log is a stale owner's (its append followed one of its own that failed, and the
// sequence fence let it through behind another owner's entry): every replica refuses it alike,
// moving its position past it, so a stale owner's entry never lands out of its writer's order.
//
// A replica halts, and never skips, when it cannot go on: an entry it cannot decode (a newer
// format: upgrade this node), a gap (the stream no longer reaches back to this node's position:
// restore a checkpoint), or the store failing. A halted replica's partition is not served by this
// node; the reason is in its status (logs, metrics, readiness).
//
// Threading: entries arrive on a libnats thread and are applied on the writer's threads; the
// applied handler runs on the writer's completion thread, in sequence order. status() and
// wait_applied() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <tern/cluster/partition_log.hpp>
#include <tern/storage/commit_writer.hpp>

namespace tern::cluster {

struct replica_status {
    std::uint64_t applied = 0;  // the stream sequence applied last (0: nothing yet)
    std::uint64_t digest = 0;   // the rolling digest up to it
    std::string halted;         // why it stopped; empty while it applies
    std::uint64_t refused = 0;  // stale owners' entries refused since start
};

class replica {
public:
    // Each applied entry's outcome (the genesis' is an empty outcome), in sequence order.
    using applied_handler = std::function<void(std::uint64_t sequence, storage::entry_result)>;

    // At most this many entries submitted to the writer and not yet applied; the log's reader
    // waits beyond it (and the stream's flow control slows down).
    static constexpr std::size_t max_in_flight = 8192;

    replica(std::uint32_t partition, partition_log& log, storage::store& store,
            storage::commit_writer& writer, applied_handler on_applied = {});
    ~replica();
    replica(const replica&) = delete;
    replica& operator=(const replica&) = delete;

    // Reads from the store's position + 1; the log's first entry is `log_first` (when known):
    // if the log no longer holds the next entry, halts at once instead (log_starts_at), without
    // making a reader. Throws nats_error when the log cannot be read, or storage errors as
    // std::runtime_error.
    void start(std::uint64_t log_first = 0);
    // Stops reading, then waits until everything submitted has been applied (or failed) and its
    // handler has returned.
    void stop();
    // Reads on from the next entry through a new reader. A reader's consumer lives on whichever
    // server holding a copy JetStream placed it on, and keeps reading that copy; a copy that led
    // while cut off may hold entries its cluster never committed (docs/cluster.md, "The 2.9.10
    // caveats"). The node calls this for a reader that is not on its own server (when the
    // leader changes, and when the periodic placement check finds it moved), so each replica
    // reads its own server's copy. Throws like start(), and then has no reader until called
    // again. Control thread.
    void read_again();
    // Whether a reader delivers entries (started, and not lost to a failed read_again).
    [[nodiscard]] bool reading() const noexcept { return reader_ != nullptr; }
    // Whether it reads through this node's own server (log_settings::home_server).
    [[nodiscard]] bool reading_at_home() const noexcept { return reader_ && reader_->at_home(); }
    // The same, asking the server (log_reader::still_at_home). Control thread.
    [[nodiscard]] bool still_reading_at_home() { return reader_ && reader_->still_at_home(); }

    // Whether an entry must be on disk before it counts as applied (true at first). The owner's
    // must: its acks wait for the apply, and on 2.9.10 its fsync'd store may be the only disk
    // copy. A standby's need not: a restart reads whatever did not reach the disk again from the
    // log (the position is in the same batch), and skipping the fsync leaves the disk to the
    // owners. Any thread; entries submitted after the call follow it.
    void set_durable(bool durable) noexcept { durable_ = durable; }

    [[nodiscard]] std::uint32_t partition() const noexcept { return partition_; }
    [[nodiscard]] replica_status status() const;
    // Waits until the entry `sequence` is applied (true), or the replica halted and applied
    // what it had taken, or `timeout` passed (false).
    bool wait_applied(std::uint64_t sequence, std::chrono::milliseconds timeout) const;

    // This node's digest of the log after entry `sequence`, for the recent entries (the last
    // `digest_history` applied); nullopt for older or not yet applied ones.
    [[nodiscard]] std::optional<std::uint64_t> digest_at(std::uint64_t sequence) const;
    static constexpr std::size_t digest_history = 4096;

    // Stops applying for `reason` (the first reason stays): the node found this replica's copy
    // of the log diverged from its peers'.
    void halt(const std::string& reason);
    // The stream's first entry is now `first` (older ones aged out). When this replica still
    // needs an entry before it, none will ever come, so it halts, saying so; with entries
    // missing in between the reader would find the gap itself, but a stream that aged out
    // entirely delivers nothing at all. Any thread.
    void log_starts_at(std::uint64_t first);

private:
    static std::string aged_out(std::uint64_t needed, std::uint64_t first);
    void on_entry(std::uint64_t sequence, std::string_view bytes);
    void submit(std::uint64_t sequence, std::string_view bytes);
    void applied(std::uint64_t sequence, std::uint64_t digest, storage::entry_result outcome,
                 const storage::entry_result& position);

    const std::uint32_t partition_;
    partition_log& log_;
    storage::store& store_;
    storage::commit_writer& writer_;
    applied_handler on_applied_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    replica_status status_;
    std::uint64_t submitted_ = 0;         // the last sequence handed to the writer
    std::uint64_t submitted_digest_ = 0;  // the digest up to it
    std::size_t in_flight_ = 0;           // handed to the writer, completion not yet finished
    // (sequence, digest after it) of the recent applied entries, at sequence % digest_history.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> recent_ =
        std::vector<std::pair<std::uint64_t, std::uint64_t>>(digest_history);
    std::unique_ptr<log_reader> reader_;
    std::atomic<bool> durable_{true};
};

}  // namespace tern::cluster
