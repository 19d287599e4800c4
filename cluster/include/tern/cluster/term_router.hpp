// The router of one ownership term's core: the node's shards, with a switch. A term's core
// (core::service) lives only as long as its term, but its tasks sit in the shards' queues and
// timers; once the term is closed, none of them runs (each checks the switch as it starts), and
// after_running() tells when the shards have finished any task that started before: then the
// core can be destroyed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include <tern/core/router.hpp>

namespace tern::cluster {

class term_router final : public core::router {
public:
    // `serves`: whether a tenant is in the term's partition (null: every tenant).
    explicit term_router(core::router& shards,
                         std::function<bool(storage::tenant_id)> serves = nullptr)
        : shards_(shards), serves_(std::move(serves)) {}

    [[nodiscard]] std::size_t shard_count() const noexcept override {
        return shards_.shard_count();
    }
    [[nodiscard]] std::size_t owner_of(storage::tenant_id tenant,
                                       const storage::conv_id& conv) const noexcept override {
        return shards_.owner_of(tenant, conv);
    }
    [[nodiscard]] std::size_t home_of(storage::tenant_id tenant,
                                      storage::user_id user) const noexcept override {
        return shards_.home_of(tenant, user);
    }
    [[nodiscard]] bool serves(storage::tenant_id tenant) const noexcept override {
        return !serves_ || serves_(tenant);
    }
    void post(std::size_t shard, core::task fn) override {
        shards_.post(shard, guarded(std::move(fn)));
    }
    void post_after(std::size_t shard, std::chrono::milliseconds delay, core::task fn) override {
        shards_.post_after(shard, delay, guarded(std::move(fn)));
    }

    // From now on no task of the term starts. Idempotent, any thread.
    void close() noexcept { open_->store(false); }
    [[nodiscard]] bool open() const noexcept { return open_->load(); }

    // Runs `done` (on some shard) once every shard has finished the task it was running when
    // this was called: after close(), nothing of the term runs any more.
    void after_running(std::function<void()> done) {
        const auto count = shards_.shard_count();
        auto left = std::make_shared<std::atomic<std::size_t>>(count);
        auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
        for (std::size_t s = 0; s < count; ++s) {
            shards_.post(s, [left, shared_done] {
                if (left->fetch_sub(1) == 1) (*shared_done)();
            });
        }
    }

private:
    core::task guarded(core::task fn) {
        return [open = open_, fn = std::move(fn)]() mutable {
            if (open->load()) fn();
        };
    }

    core::router& shards_;
    std::function<bool(storage::tenant_id)> serves_;
    std::shared_ptr<std::atomic<bool>> open_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace tern::cluster
