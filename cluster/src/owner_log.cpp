#include <tern/cluster/owner_log.hpp>

#include <tern/cluster/log_codec.hpp>

namespace tern::cluster {

namespace st = tern::storage;

owner_log::owner_log(partition_log& log, std::uint64_t applied, std::uint64_t applied_digest,
                     lost_handler on_lost, std::size_t max_in_flight, append_observer observe)
    : log_(log),
      max_in_flight_(max_in_flight),
      on_lost_(std::move(on_lost)),
      observe_(std::move(observe)),
      next_(applied + 1),
      digest_(applied_digest),
      front_(applied + 1) {}

owner_log::~owner_log() {
    std::lock_guard lock(mutex_);
    on_lost_ = nullptr;
    fail_from(front_, "the ownership term ended");
}

bool owner_log::try_submit(st::log_entry entry, completion done) {
    std::lock_guard order(publish_mutex_);
    std::uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        if (ended_) {
            done(make_error_code(st::errc::log_unavailable));
            return true;
        }
        if (slots_.size() >= max_in_flight_) return false;
        sequence = next_++;
        slot next;
        next.done = std::move(done);
        slots_.push_back(std::move(next));
    }
    // Each entry states the digest of the log before it: a replica whose copy differs halts.
    const auto bytes = encode_entry(entry, digest_);
    digest_ = next_digest(digest_, sequence, bytes);
    log_.append(bytes, sequence - 1,
                [self = shared_from_this(), sequence, submitted = std::chrono::steady_clock::now()](
                    append_result r) { self->appended(sequence, submitted, r); });
    return true;
}

void owner_log::appended(std::uint64_t sequence, std::chrono::steady_clock::time_point submitted,
                         const append_result& r) {
    std::lock_guard lock(mutex_);
    // Every answer counts, also one that comes after the term ended: a stale owner's appends
    // are answered (fenced, most of them) after its term was ended.
    if (observe_) observe_(r.status, std::chrono::steady_clock::now() - submitted);
    if (sequence < front_) return;  // completed (failed) already
    if (r.status != append_status::ok) {
        fail_from(sequence,
                  r.status == append_status::fenced
                      ? "fenced: another writer appended to the partition (" + r.error + ")"
                      : "the append failed: " + r.error);
        return;
    }
    slots_[sequence - front_].appended = true;
    drain();
}

void owner_log::applied(std::uint64_t sequence, st::entry_result outcome) {
    std::lock_guard lock(mutex_);
    if (sequence < front_ || sequence - front_ >= slots_.size()) return;  // not this term's
    slots_[sequence - front_].outcome = std::move(outcome);
    drain();
}

void owner_log::end(const std::string& why) {
    std::lock_guard lock(mutex_);
    fail_from(front_, why);
}

bool owner_log::ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
}

void owner_log::fail_from(std::uint64_t sequence, const std::string& why) {
    for (auto i = sequence - front_; i < slots_.size(); ++i) slots_[i].failed = true;
    const bool first_time = !ended_;
    ended_ = true;
    drain();
    if (first_time && on_lost_) on_lost_(why);
}

void owner_log::drain() {
    while (!slots_.empty()) {
        auto& s = slots_.front();
        if (s.failed) {
            s.done(make_error_code(st::errc::log_unavailable));
        } else if (s.appended && s.outcome) {
            s.done(std::move(*s.outcome));
        } else {
            return;
        }
        slots_.pop_front();
        ++front_;
    }
}

}  // namespace tern::cluster
