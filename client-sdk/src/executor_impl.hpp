// Serializes one client's callbacks on any executor: one at a time, in order, even when the
// executor has many threads.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <tern/client/executor.hpp>

namespace tern::client::detail {

class serial_queue {
public:
    explicit serial_queue(std::shared_ptr<executor> target) : state_(std::make_shared<state>()) {
        state_->direct = target->runs_in_order();
        state_->target = std::move(target);
    }

    // Thread-safe. The task runs after every task posted before it has returned.
    void post(std::function<void()> task);

private:
    struct state {
        std::shared_ptr<executor> target;
        std::mutex mutex;
        std::deque<std::function<void()>> tasks;
        bool running = false;  // a task of ours is posted to the target or running
        bool direct = false;   // the target runs tasks in order itself: no queue needed
    };
    static void schedule(const std::shared_ptr<state>& s);

    std::shared_ptr<state> state_;
};

}  // namespace tern::client::detail
