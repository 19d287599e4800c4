#include <tern/storage/commit_writer.hpp>

#include <algorithm>
#include <chrono>

namespace tern::storage {

commit_writer::commit_writer(store& target, commit_writer_options options)
    : store_(target), options_(options) {
    thread_ = std::thread([this] { run(); });
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

void commit_writer::submit(std::vector<request> requests) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            if (pending_.empty()) {
                pending_ = std::move(requests);
            } else {
                std::move(requests.begin(), requests.end(), std::back_inserter(pending_));
            }
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
    if (thread_.joinable()) thread_.join();
}

commit_writer_stats commit_writer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void commit_writer::run() {
    std::vector<request> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and everything is committed
            if (pending_.size() <= options_.max_batch_entries) {
                batch.swap(pending_);
            } else {
                const auto cut =
                    pending_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch_entries);
                batch.assign(std::make_move_iterator(pending_.begin()),
                             std::make_move_iterator(cut));
                pending_.erase(pending_.begin(), cut);
            }
        }
        commit(batch);
        batch.clear();
    }
}

void commit_writer::commit(std::vector<request>& batch) {
    std::vector<log_entry> entries;
    entries.reserve(batch.size());
    for (auto& r : batch) entries.push_back(std::move(r.entry));

    const auto start = std::chrono::steady_clock::now();
    auto results = store_.apply(entries, options_.mode);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    {
        std::lock_guard lock(mutex_);
        ++stats_.commits;
        stats_.entries += batch.size();
        stats_.commit_nanos += static_cast<std::uint64_t>(nanos);
        stats_.max_batch = std::max<std::uint64_t>(stats_.max_batch, batch.size());
        if (!results) ++stats_.failed_commits;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!batch[i].done) continue;
        if (results) {
            batch[i].done(std::move((*results)[i]));
        } else {
            batch[i].done(results.error());
        }
    }
}

}  // namespace tern::storage
