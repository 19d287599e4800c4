#include "executor_impl.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace tern::client {
namespace {

class thread_executor final : public executor {
public:
    thread_executor() : thread_([this] { run(); }) {}
    ~thread_executor() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void post(std::function<void()> task) override {
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
            wake = sleeping_;
            sleeping_ = false;
        }
        // A busy thread finds the task on its next pass: waking it is a system call.
        if (wake) wake_.notify_one();
    }

    [[nodiscard]] bool runs_in_order() const noexcept override { return true; }

private:
    void run() {
        std::deque<std::function<void()>> batch;
        std::unique_lock lock(mutex_);
        for (;;) {
            while (!stopping_ && tasks_.empty()) {
                sleeping_ = true;
                wake_.wait(lock);
            }
            if (tasks_.empty()) return;  // stopping, and everything ran
            // Take everything queued in one lock: posters do not wait on a running task.
            batch.swap(tasks_);
            lock.unlock();
            for (auto& task : batch) task();
            batch.clear();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    bool sleeping_ = false;  // the thread waits (or is about to): a post must wake it
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the rest is built
};

}  // namespace

std::shared_ptr<executor> make_thread_executor() { return std::make_shared<thread_executor>(); }

namespace detail {

void serial_queue::post(std::function<void()> task) {
    if (state_->direct) {
        state_->target->post(std::move(task));
        return;
    }
    {
        std::lock_guard lock(state_->mutex);
        state_->tasks.push_back(std::move(task));
        if (state_->running) return;
        state_->running = true;
    }
    schedule(state_);
}

void serial_queue::schedule(const std::shared_ptr<state>& s) {
    s->target->post([s] {
        // Run what is queued now, one at a time; whatever arrives meanwhile gets its own turn,
        // so a busy client does not monopolize a shared executor.
        std::function<void()> task;
        {
            std::lock_guard lock(s->mutex);
            task = std::move(s->tasks.front());
            s->tasks.pop_front();
        }
        task();
        bool more = false;
        {
            std::lock_guard lock(s->mutex);
            more = !s->tasks.empty();
            s->running = more;
        }
        if (more) schedule(s);
    });
}

}  // namespace detail
}  // namespace tern::client
