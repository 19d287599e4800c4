// An SDK executor a test can close: the app stops taking events (the client then stops reading
// its connection once its backlog is full), and open again.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <tern/client/executor.hpp>

namespace tern::test {

// An executor that holds tasks while closed: an app that stopped taking events.
class gate_executor final : public tern::client::executor {
public:
    gate_executor() : thread_([this] { run(); }) {}
    ~gate_executor() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = open_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    void post(std::function<void()> task) override {
        {
            std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
        }
        wake_.notify_all();
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        wake_.notify_all();
    }
    void close() {
        std::lock_guard lock(mutex_);
        open_ = false;
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return (open_ && !tasks_.empty()) || stopping_; });
            if (tasks_.empty()) return;
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    bool open_ = true;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::test
