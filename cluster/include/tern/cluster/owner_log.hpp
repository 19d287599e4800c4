// The commit port of one ownership term of a partition (core::commit_port): the core's entries
// are appended to the partition's log, each fenced on the sequence before it and pipelined
// (never one round trip per entry), and each completes once a quorum holds it (the append's
// acknowledgement) and this node's replica has applied it to the store, synced: then the owner
// may acknowledge. Completions run in submission order, one at a time.
//
// A term begins when this node leads the partition's stream and its replica has applied the
// whole log; it numbers its appends from there. The first append that fails ends the term:
// fenced (another writer appended: this node is not, or no longer, the owner), no quorum, or a
// timeout. That entry and every later one fail with errc::log_unavailable (retryable: an entry
// that did land is found by the retry's dedup), `on_lost` runs once, and the node stops this
// term's core, lets its replica catch up and decides again (docs/cluster.md, "Ownership").
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <tern/cluster/partition_log.hpp>
#include <tern/core/commit_port.hpp>

namespace tern::cluster {

class owner_log final : public core::commit_port, public std::enable_shared_from_this<owner_log> {
public:
    using lost_handler = std::function<void(const std::string& why)>;
    using append_observer = std::function<void(append_status, std::chrono::nanoseconds)>;
    static constexpr std::size_t default_in_flight = 4096;

    // `applied`: the last sequence of the log, which this node's replica has applied, and
    // `applied_digest` the digest of the log up to it (each append states the digest before it).
    // Held by a shared_ptr: an append in flight keeps it alive. `on_lost` runs under its lock:
    // post only. `observe` is told every append's answer, also one after the term ended.
    owner_log(partition_log& log, std::uint64_t applied, std::uint64_t applied_digest,
              lost_handler on_lost, std::size_t max_in_flight = default_in_flight,
              append_observer observe = {});
    ~owner_log() override;
    owner_log(const owner_log&) = delete;
    owner_log& operator=(const owner_log&) = delete;

    [[nodiscard]] bool try_submit(storage::log_entry entry, completion done) override;

    // The replica applied entry `sequence` (any entry of the partition, in order).
    void applied(std::uint64_t sequence, storage::entry_result outcome);

    // Ends the term (leadership moved, the node stops): what waits fails, nothing more is taken.
    void end(const std::string& why);

    [[nodiscard]] bool ended() const;

private:
    struct slot {
        completion done;
        bool appended = false;
        bool failed = false;
        std::optional<storage::entry_result> outcome;
    };

    void appended(std::uint64_t sequence, std::chrono::steady_clock::time_point submitted,
                  const append_result& r);
    // Fails every slot from `sequence` on and ends the term (holds mutex_).
    void fail_from(std::uint64_t sequence, const std::string& why);
    // Completes the slots at the front that are done (holds mutex_).
    void drain();

    partition_log& log_;
    const std::size_t max_in_flight_;
    lost_handler on_lost_;
    append_observer observe_;

    std::mutex publish_mutex_;  // numbers and sends appends in one order
    std::uint64_t next_;        // the sequence the next append takes
    std::uint64_t digest_;      // the log's digest up to next_ - 1, as this term wrote it

    mutable std::mutex mutex_;  // the slots; completions run under it (they only post)
    std::deque<slot> slots_;    // slots_[i] is sequence front_ + i
    std::uint64_t front_;
    bool ended_ = false;
};

}  // namespace tern::cluster
