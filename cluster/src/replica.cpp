#include <tern/cluster/replica.hpp>

#include <stdexcept>

#include <spdlog/spdlog.h>

#include <tern/cluster/log_codec.hpp>

namespace tern::cluster {

namespace st = tern::storage;

replica::replica(std::uint32_t partition, partition_log& log, st::store& store,
                 st::commit_writer& writer, applied_handler on_applied)
    : partition_(partition),
      log_(log),
      store_(store),
      writer_(writer),
      on_applied_(std::move(on_applied)) {}

replica::~replica() { stop(); }

void replica::start(std::uint64_t log_first) {
    const auto stored = store_.position(partition_);
    if (!stored)
        throw std::runtime_error("reading the partition's position: " + stored.error().message());
    {
        std::lock_guard lock(mutex_);
        if (*stored) {
            status_.applied = (*stored)->sequence;
            status_.digest = (*stored)->digest;
        }
        submitted_ = status_.applied;
        submitted_digest_ = status_.digest;
    }
    log_starts_at(log_first);
    if (!status().halted.empty()) return;
    reader_ = log_.read_from(
        submitted_ + 1,
        [this](std::uint64_t sequence, std::string_view bytes) { on_entry(sequence, bytes); });
}

void replica::read_again() {
    reader_.reset();  // no more entries from it once this returns
    std::uint64_t next = 0;
    {
        std::lock_guard lock(mutex_);
        if (!status_.halted.empty()) return;
        next = submitted_ + 1;
    }
    reader_ = log_.read_from(next, [this](std::uint64_t sequence, std::string_view bytes) {
        on_entry(sequence, bytes);
    });
}

void replica::stop() {
    reader_.reset();
    // Entries already with the writer still complete; their handlers touch this object.
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return in_flight_ == 0; });
}

replica_status replica::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

bool replica::wait_applied(std::uint64_t sequence, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    // A halted replica still applies what it had submitted: wait for that too.
    changed_.wait_for(lock, timeout, [&] {
        return status_.applied >= sequence || (!status_.halted.empty() && in_flight_ == 0);
    });
    return status_.applied >= sequence;
}

std::optional<std::uint64_t> replica::digest_at(std::uint64_t sequence) const {
    std::lock_guard lock(mutex_);
    if (sequence == status_.applied) return status_.digest;  // also right after a restart
    const auto& [at, digest] = recent_[sequence % digest_history];
    if (at != sequence || sequence == 0) return std::nullopt;
    return digest;
}

std::string replica::aged_out(std::uint64_t needed, std::uint64_t first) {
    return "the log no longer holds entry " + std::to_string(needed) + " (it starts at " +
           std::to_string(first) +
           "): restore a checkpoint of a healthy node (docs/cluster.md, \"A lost disk\")";
}

void replica::log_starts_at(std::uint64_t first) {
    std::lock_guard lock(mutex_);
    // Entries up to submitted_ are read already (applied, or on their way to the store).
    if (!status_.halted.empty() || first <= submitted_ + 1) return;
    status_.halted = aged_out(submitted_ + 1, first);
    changed_.notify_all();
}

void replica::halt(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (status_.halted.empty()) status_.halted = reason;
    changed_.notify_all();
}

void replica::on_entry(std::uint64_t sequence, std::string_view bytes) {
    std::unique_lock lock(mutex_);
    // Back-pressure: this is the reader's own thread, and waiting here slows the stream down.
    changed_.wait(lock, [this] { return in_flight_ < max_in_flight || !status_.halted.empty(); });
    if (!status_.halted.empty() || sequence <= submitted_) return;  // halted, or a repeat
    if (sequence != submitted_ + 1) {
        // The ordered reader never skips, so the stream no longer holds the entries between
        // (they aged out): only a checkpoint can bring this node back.
        status_.halted = aged_out(submitted_ + 1, sequence);
        changed_.notify_all();
        return;
    }
    lock.unlock();
    submit(sequence, bytes);
}

void replica::submit(std::uint64_t sequence, std::string_view bytes) {
    auto decoded = decode_entry(bytes);
    if (!decoded) {
        return halt("entry " + std::to_string(sequence) + " is " + describe(decoded.error()));
    }
    std::uint64_t digest = 0;
    bool stale = false;
    std::uint64_t refused = 0;
    {
        std::lock_guard lock(mutex_);
        // An entry whose writer had another log before it is a stale owner's: its append was
        // pipelined behind one that failed, and the fence (a sequence) let it through after
        // another owner's entry. Every replica refuses it alike, so all stay equal.
        stale = decoded->digest_before && *decoded->digest_before != submitted_digest_;
        if (stale) refused = ++status_.refused;
        digest = submitted_digest_ = next_digest(submitted_digest_, sequence, bytes);
        submitted_ = sequence;
        ++in_flight_;
    }
    if (stale && (refused & (refused - 1)) == 0) {  // the 1st, 2nd, 4th, 8th...: bounded
        spdlog::warn(
            "cluster: partition {}: entry {} refused: its writer had another log before it (a "
            "stale owner's append that followed one of its own that failed); {} refused so far",
            partition_, sequence, refused);
    }
    const st::log_position position{partition_, sequence, digest};
    auto* entry = std::get_if<st::log_entry>(&decoded->record);
    if (!entry || stale) {  // nothing to apply but the position
        std::vector<st::commit_writer::request> only_position;
        st::entry_result outcome = st::apply_outcome{};
        if (stale) outcome = make_error_code(st::errc::log_unavailable);  // its writer retries
        only_position.push_back({position,
                                 [this, sequence, digest, outcome](st::entry_result r) {
                                     applied(sequence, digest, outcome, r);
                                 },
                                 false, durable_});
        writer_.submit(std::move(only_position));
        return;
    }
    // The entry's outcome waits in a shared slot for the position's completion, which comes
    // right after it (same batch, same thread).
    auto outcome = std::make_shared<st::entry_result>(st::apply_outcome{});
    std::vector<st::commit_writer::request> both;
    const bool durable = durable_;
    both.push_back({std::move(*entry), [outcome](st::entry_result r) { *outcome = std::move(r); },
                    true, durable});
    both.push_back({position,
                    [this, sequence, digest, outcome](st::entry_result r) {
                        applied(sequence, digest, std::move(*outcome), r);
                    },
                    false, durable});
    writer_.submit(std::move(both));
}

void replica::applied(std::uint64_t sequence, std::uint64_t digest, st::entry_result outcome,
                      const st::entry_result& position) {
    // The handler runs before this entry stops counting as in flight: stop() waits for that, so
    // nothing here runs on a destroyed replica.
    if (!position) {
        // The batch did not reach the store (I/O error, disk full, shutting down): nothing of
        // this entry is applied, and nothing after it may be.
        if (on_applied_) on_applied_(sequence, position.error());
        std::lock_guard lock(mutex_);
        if (status_.halted.empty()) {
            status_.halted = "applying entry " + std::to_string(sequence) +
                             " failed: " + position.error().message();
        }
        --in_flight_;
        changed_.notify_all();
        return;
    }
    // An entry the apply rules refuse (invalid_entry) is refused on every replica alike: the
    // position still moves past it.
    if (on_applied_) on_applied_(sequence, std::move(outcome));
    std::lock_guard lock(mutex_);
    status_.applied = sequence;
    status_.digest = digest;
    recent_[sequence % digest_history] = {sequence, digest};
    --in_flight_;
    changed_.notify_all();
}

}  // namespace tern::cluster
