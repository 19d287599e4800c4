// The group-commit writer: the one thread that applies log entries to a store.
//
// Callers submit entries from any thread; the writer takes everything pending (up to a batch
// limit), applies it as one atomic batch durable under the configured mode (one fsync per batch
// in `fsync` mode), then runs each entry's completion. A completion never runs before its entry
// is durable in that mode, so a caller may acknowledge a send from its completion.
//
// Threading: submit() is thread-safe and never blocks on I/O. Completions run on the writer
// thread, in submission order; they must be short and must not block (post the result to your
// own executor). Blocking work (fsync, RocksDB compactions stalls) never touches callers' threads.
//
// Failure: if a batch cannot be written (I/O error, disk full), nothing of it was applied and
// every completion of the batch receives the error; later batches are tried as they come. An
// owner that assigned seqs in the failed batch must forget them (the store's head did not move).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <tern/storage/store.hpp>

namespace tern::storage {

struct commit_writer_options {
    durability mode = durability::fsync;
    std::size_t max_batch_entries = 4096;  // at most this many entries in one commit
};

// Counters for metrics; read with commit_writer::stats() from any thread.
struct commit_writer_stats {
    std::uint64_t commits = 0;
    std::uint64_t entries = 0;
    std::uint64_t failed_commits = 0;
    std::uint64_t commit_nanos = 0;  // total time spent in store::apply
    std::uint64_t max_batch = 0;
};

class commit_writer {
  public:
    using completion = std::function<void(entry_result)>;

    struct request {
        log_entry entry;
        completion done;  // may be empty
    };

    commit_writer(store& target, commit_writer_options options);
    // Stops after committing everything already submitted.
    ~commit_writer();
    commit_writer(const commit_writer&) = delete;
    commit_writer& operator=(const commit_writer&) = delete;

    // Queues one entry. After stop() the completion receives errc::closed at once.
    void submit(log_entry entry, completion done);
    // Queues several entries with one lock acquisition; they commit in this order.
    void submit(std::vector<request> requests);

    // Commits what is pending, then ends the thread. Idempotent.
    void stop();

    [[nodiscard]] commit_writer_stats stats() const;
    [[nodiscard]] durability mode() const noexcept { return options_.mode; }

  private:
    void run();
    void commit(std::vector<request>& batch);

    store& store_;
    const commit_writer_options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<request> pending_;
    bool stopping_ = false;
    commit_writer_stats stats_;
    std::thread thread_;
};

}  // namespace tern::storage
