// Where the SDK runs the app's callbacks. The SDK never calls back on its network threads: every
// callback of a client is posted to that client's executor, one at a time, in order, and never
// from inside a call the app made into the SDK (no re-entrancy).
#pragma once

#include <functional>
#include <memory>

#include <tern/client/export.hpp>

namespace tern::client {

class TERN_CLIENT_API executor {
public:
    virtual ~executor() = default;
    // Runs `task` later, on a thread of the executor's choosing. Must not run it inline.
    // Thread-safe.
    virtual void post(std::function<void()> task) = 0;
    // True if tasks run one at a time, in the order they were posted (one thread does them all).
    // The SDK then posts a client's callbacks straight here; otherwise it keeps a queue per
    // client to run them one at a time, in order.
    [[nodiscard]] virtual bool runs_in_order() const noexcept { return false; }
};

// An executor with one thread of its own, draining tasks in order. Destroying it runs what was
// posted before, then joins the thread.
[[nodiscard]] TERN_CLIENT_API std::shared_ptr<executor> make_thread_executor();

}  // namespace tern::client
