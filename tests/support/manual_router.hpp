// A router (core/router.hpp) for unit tests of the core: no threads. Posts queue per shard and
// run when the test says so, in the order they were posted; delayed posts wait for the test to
// advance its clock. It is also the core's wall clock, so time moves only when the test moves
// it. Owners and homes are simple functions of the ids, so a test can choose where things live.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include <tern/core/clock.hpp>
#include <tern/core/router.hpp>

namespace tern::test {

class manual_router final : public core::router, public core::clock {
public:
    explicit manual_router(std::size_t shards, std::int64_t start_ms = 1'800'000'000'000)
        : queues_(shards), now_ms_(start_ms) {}

    // ---- core::router ------------------------------------------------------------------------
    [[nodiscard]] std::size_t shard_count() const noexcept override { return queues_.size(); }
    // A group is owned by shard id % shards; a direct conversation by its smaller user's.
    [[nodiscard]] std::size_t owner_of(storage::tenant_id,
                                       const storage::conv_id& conv) const noexcept override {
        return static_cast<std::size_t>(conv.id % queues_.size());
    }
    // A user is homed on shard user % shards.
    [[nodiscard]] std::size_t home_of(storage::tenant_id,
                                      storage::user_id user) const noexcept override {
        return static_cast<std::size_t>(user % queues_.size());
    }
    void post(std::size_t shard, core::task fn) override {
        posted_to_.push_back(shard);
        queues_.at(shard).push_back(std::move(fn));
    }
    void post_after(std::size_t shard, std::chrono::milliseconds delay, core::task fn) override {
        timers_.emplace(std::make_tuple(now_ms_ + delay.count(), next_timer_++),
                        std::make_pair(shard, std::move(fn)));
    }

    // ---- core::clock ---------------------------------------------------------------------------
    [[nodiscard]] std::int64_t unix_ms() const noexcept override { return now_ms_; }

    // ---- the test's hands -------------------------------------------------------------------
    // Runs queued tasks, shard by shard in turns (one task of each shard per turn, as threads
    // would interleave), until none is left. Returns how many ran.
    std::size_t run() {
        std::size_t ran = 0;
        for (bool any = true; any;) {
            any = false;
            for (std::size_t shard = 0; shard < queues_.size(); ++shard) {
                if (queues_[shard].empty()) continue;
                auto task = std::move(queues_[shard].front());
                queues_[shard].pop_front();
                running_ = shard;
                task();
                running_.reset();
                ++ran;
                any = true;
                if (ran > 1'000'000) throw std::runtime_error("manual_router: tasks never end");
            }
        }
        return ran;
    }
    // Moves the clock forward, running what comes due on the way (and what that posts).
    void advance(std::chrono::milliseconds by) {
        const auto until = now_ms_ + by.count();
        run();
        while (!timers_.empty() && std::get<0>(timers_.begin()->first) <= until) {
            auto node = timers_.extract(timers_.begin());
            now_ms_ = std::get<0>(node.key());
            post(node.mapped().first, std::move(node.mapped().second));
            run();
        }
        now_ms_ = until;
    }
    // The shard whose task runs now (nullopt outside run()): a test checks where work happens.
    [[nodiscard]] std::optional<std::size_t> running() const noexcept { return running_; }
    // The shards posted to since the last call, in order.
    std::vector<std::size_t> take_posts() { return std::exchange(posted_to_, {}); }
    [[nodiscard]] std::size_t pending_timers() const noexcept { return timers_.size(); }

private:
    std::vector<std::deque<core::task>> queues_;
    std::map<std::tuple<std::int64_t, std::uint64_t>, std::pair<std::size_t, core::task>> timers_;
    std::uint64_t next_timer_ = 0;
    std::int64_t now_ms_;
    std::optional<std::size_t> running_;
    std::vector<std::size_t> posted_to_;
};

}  // namespace tern::test
