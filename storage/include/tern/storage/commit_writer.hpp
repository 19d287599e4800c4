// The group-commit writer: the one thread that applies log entries to a store.
//
// Callers submit entries from any thread; the writer takes everything pending (up to a batch
// limit) and applies it as one atomic batch, then runs each entry's completion once the batch is
// durable in the configured mode. A completion never runs before its entry is durable, so a
// caller may acknowledge a send from its completion.
//
// In `fsync` mode the commit is pipelined over two threads: the writer stages batch N+1
// (store::stage) while the syncer makes batch N durable and visible (store::publish), and one
// fsync covers every batch staged while the previous one ran; batches whose requests all say
// they need no durability (`request::durable`) are published without one. In `os` and `memory`
// mode one thread applies and completes.
//
// Back-pressure: try_submit() refuses an entry while max_pending_entries wait (the caller answers
// a retryable error), so a writer that cannot keep up (a slow disk, a RocksDB write stall) never
// grows the queue without bound. An Ack (ack_inbox) is refused already at half the bound: Acks
// are cumulative (a device's next one covers a refused one) and are most of the entries when
// groups are busy, so their room is better kept for requests. submit() always queues: for
// callers that bound themselves.
//
// Threading: submit() and try_submit() are thread-safe and never block on I/O. Completions run on
// one internal thread, in submission order; they must be short and must not block (post the result
// to your own executor). Blocking work (fsync, RocksDB compactions stalls) never touches callers'
// threads.
//
// Failure: if a batch cannot be written (I/O error, disk full), nothing of it was applied and
// every completion of the batch receives the error; later batches are tried as they come. An
// owner that assigned seqs in the failed batch must forget them (the store's head did not move).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <tern/storage/store.hpp>

namespace tern::storage {

// Told about every commit and every sync, on the writer's threads (for metrics histograms):
// must be quick and thread-safe. Either may be empty.
struct commit_observer {
    std::function<void(std::size_t entries, std::chrono::nanoseconds took, bool failed)> committed;
    std::function<void(std::chrono::nanoseconds took, bool failed)> synced;  // fsync mode
};

struct commit_writer_options {
    durability mode = durability::fsync;
    std::size_t max_batch_entries = 4096;  // at most this many entries in one commit
    // Entries waiting for the writer at most, for try_submit() (Acks: half); 0: no bound.
    std::size_t max_pending_entries = 262'144;
    commit_observer observer{};
};

// Counters for metrics; read with commit_writer::stats() from any thread.
struct commit_writer_stats {
    std::uint64_t commits = 0;
    std::uint64_t entries = 0;
    std::uint64_t failed_commits = 0;
    std::uint64_t commit_nanos = 0;  // total time spent applying (store::apply or stage)
    std::uint64_t max_batch = 0;
    std::uint64_t syncs = 0;         // fsync mode: store::publish calls that fsynced
    std::uint64_t sync_nanos = 0;    // total time spent in store::publish
    std::uint64_t refused_full = 0;  // try_submit() calls refused: the queue was full
};

class commit_writer {
public:
    using completion = std::function<void(entry_result)>;

    struct request {
        log_entry entry;
        completion done;  // may be empty
        // Commit this entry in the same batch as the next one submitted (an entry and the
        // log_position that covers it): a batch never ends after a request that says so.
        bool keep_with_next = false;
        // fsync mode: false when the entry need not be on disk before its completion (a
        // standby's copy of a replicated log, which a restart re-reads from the log). Such an
        // entry still becomes visible in order; a batch with no durable request is published
        // without an fsync, and the next fsync covers it.
        bool durable = true;
    };

    commit_writer(store& target, commit_writer_options options);
    // Stops after committing everything already submitted.
    ~commit_writer();
    commit_writer(const commit_writer&) = delete;
    commit_writer& operator=(const commit_writer&) = delete;

    // Queues one entry. After stop() the completion receives errc::closed at once.
    void submit(log_entry entry, completion done);
    // Queues one entry unless max_pending_entries are waiting (half of them for an Ack): then
    // returns false, and `done` is neither run nor kept. After stop() the completion receives
    // errc::closed (true).
    [[nodiscard]] bool try_submit(log_entry entry, completion done);
    // Queues several entries with one lock acquisition; they commit in this order.
    void submit(std::vector<request> requests);

    // Commits what is pending, then ends the thread. Idempotent.
    void stop();

    [[nodiscard]] commit_writer_stats stats() const;
    [[nodiscard]] durability mode() const noexcept { return options_.mode; }

private:
    // A batch applied (or refused) by the writer, waiting for the syncer.
    struct staged_batch {
        std::vector<request> requests;
        result<store::staged> staged;
    };

    void run_writer();
    void run_syncer();
    void commit(std::vector<request>& batch);
    void stage(std::vector<request>& batch);
    static std::vector<log_entry> take_entries(std::vector<request>& batch);
    void count_commit(std::size_t entries, std::uint64_t nanos, bool failed);  // holds mutex_
    void observe_commit(std::size_t entries, std::uint64_t nanos, bool failed) const;
    static void complete(std::vector<request>& batch, std::vector<entry_result>& results);
    static void fail(std::vector<request>& batch, boost::system::error_code ec);

    store& store_;
    const commit_writer_options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    // A deque: under overload thousands wait, and the writer takes a batch from the front
    // without moving the rest.
    std::deque<request> pending_;
    bool stopping_ = false;
    commit_writer_stats stats_;

    // fsync mode: the writer's hand-off to the syncer.
    std::condition_variable staged_ready_;
    std::vector<staged_batch> staged_;
    bool writer_done_ = false;

    std::thread writer_;
    std::thread syncer_;
};

}  // namespace tern::storage
