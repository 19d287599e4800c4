#include <tern/storage/commit_writer.hpp>

#include <algorithm>
#include <chrono>

#include <pthread.h>

namespace tern::storage {
namespace {

std::uint64_t nanos_since(std::chrono::steady_clock::time_point start) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count());
}

}  // namespace

commit_writer::commit_writer(store& target, commit_writer_options options)
    : store_(target), options_(options) {
    // Named for top -H, perf --sort comm and gdb.
    if (options_.mode == durability::fsync) {
        syncer_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "tern-syncer");
            run_syncer();
        });
    }
    writer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tern-writer");
        run_writer();
    });
}

commit_writer::~commit_writer() { stop(); }

void commit_writer::submit(log_entry entry, completion done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            pending_.push_back({std::move(entry), std::move(done)});
            wake_.notify_one();
            return;
        }
    }
    if (done) done(make_error_code(errc::closed));
}

bool commit_writer::try_submit(log_entry entry, completion done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            const auto bound = std::holds_alternative<ack_inbox>(entry)
                                   ? options_.max_pending_entries / 2
                                   : options_.max_pending_entries;
            if (options_.max_pending_entries != 0 && pending_.size() >= bound) {
                ++stats_.refused_full;
                return false;
            }
            pending_.push_back({std::move(entry), std::move(done)});
            wake_.notify_one();
            return true;
        }
    }
    if (done) done(make_error_code(errc::closed));
    return true;
}

void commit_writer::submit(std::vector<request> requests) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            std::move(requests.begin(), requests.end(), std::back_inserter(pending_));
            wake_.notify_one();
            return;
        }
    }
    for (auto& r : requests) {
        if (r.done) r.done(make_error_code(errc::closed));
    }
}

void commit_writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        wake_.notify_one();
    }
    if (writer_.joinable()) writer_.join();
    if (syncer_.joinable()) syncer_.join();
}

commit_writer_stats commit_writer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void commit_writer::run_writer() {
    std::vector<request> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) {
                // Stopping, and everything is applied: let the syncer finish and exit.
                writer_done_ = true;
                staged_ready_.notify_one();
                return;
            }
            auto taken = std::min(pending_.size(), options_.max_batch_entries);
            while (taken < pending_.size() && pending_[taken - 1].keep_with_next) ++taken;
            const auto cut = pending_.begin() + static_cast<std::ptrdiff_t>(taken);
            batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(cut));
            pending_.erase(pending_.begin(), cut);
        }
        if (options_.mode == durability::fsync) {
            stage(batch);
        } else {
            commit(batch);
        }
        batch.clear();
    }
}

std::vector<log_entry> commit_writer::take_entries(std::vector<request>& batch) {
    std::vector<log_entry> entries;
    entries.reserve(batch.size());
    for (auto& r : batch) entries.push_back(std::move(r.entry));
    return entries;
}

void commit_writer::count_commit(std::size_t entries, std::uint64_t nanos, bool failed) {
    ++stats_.commits;
    stats_.entries += entries;
    stats_.commit_nanos += nanos;
    stats_.max_batch = std::max<std::uint64_t>(stats_.max_batch, entries);
    if (failed) ++stats_.failed_commits;
}

void commit_writer::observe_commit(std::size_t entries, std::uint64_t nanos, bool failed) const {
    if (options_.observer.committed) {
        options_.observer.committed(entries, std::chrono::nanoseconds(nanos), failed);
    }
}

// os and memory modes: apply, then complete, on this thread.
void commit_writer::commit(std::vector<request>& batch) {
    const auto entries = take_entries(batch);
    const auto start = std::chrono::steady_clock::now();
    auto results = store_.apply(entries, options_.mode);
    const auto nanos = nanos_since(start);
    {
        std::lock_guard lock(mutex_);
        count_commit(batch.size(), nanos, !results);
    }
    observe_commit(batch.size(), nanos, !results);
    if (results) {
        complete(batch, *results);
    } else {
        fail(batch, results.error());
    }
}

// fsync mode: apply without syncing and hand the batch to the syncer.
void commit_writer::stage(std::vector<request>& batch) {
    const auto entries = take_entries(batch);
    const auto start = std::chrono::steady_clock::now();
    auto staged = store_.stage(entries);
    const auto nanos = nanos_since(start);
    observe_commit(batch.size(), nanos, !staged);
    std::lock_guard lock(mutex_);
    count_commit(batch.size(), nanos, !staged);
    staged_.push_back({std::move(batch), std::move(staged)});
    staged_ready_.notify_one();
}

void commit_writer::run_syncer() {
    std::vector<staged_batch> ready;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            staged_ready_.wait(lock, [this] { return writer_done_ || !staged_.empty(); });
            if (staged_.empty()) return;  // the writer is done and everything is completed
            ready.swap(staged_);
        }
        // One fsync for every batch staged since the last one: publishing the newest staged
        // state makes all of them durable and visible.
        const store::staged_token* newest = nullptr;
        bool durable = false;
        for (const auto& b : ready) {
            if (!b.staged) continue;
            newest = &b.staged->token;
            durable = durable || std::any_of(b.requests.begin(), b.requests.end(),
                                             [](const request& r) { return r.durable; });
        }
        result<void> published;
        if (newest) {
            const auto start = std::chrono::steady_clock::now();
            published = store_.publish(*newest, durable);
            const auto nanos = nanos_since(start);
            if (durable && options_.observer.synced) {
                options_.observer.synced(std::chrono::nanoseconds(nanos), !published);
            }
            std::lock_guard lock(mutex_);
            if (durable) {
                ++stats_.syncs;
                stats_.sync_nanos += nanos;
            }
            if (!published) stats_.failed_commits += ready.size();
        }
        for (auto& b : ready) {
            if (!b.staged) {
                fail(b.requests, b.staged.error());
            } else if (!published) {
                fail(b.requests, published.error());
            } else {
                complete(b.requests, b.staged->results);
            }
        }
        ready.clear();
    }
}

void commit_writer::fail(std::vector<request>& batch, boost::system::error_code ec) {
    for (auto& req : batch) {
        if (req.done) req.done(ec);
    }
}

void commit_writer::complete(std::vector<request>& batch, std::vector<entry_result>& results) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].done) batch[i].done(std::move(results[i]));
    }
}

}  // namespace tern::storage
