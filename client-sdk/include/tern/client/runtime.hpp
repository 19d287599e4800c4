// The SDK's network threads. Many clients may share one runtime: a multi-account app, or a load
// generator with thousands of clients. A client is pinned to one of the runtime's threads for
// life, and its protocol state is touched only there (so clients never lock each other).
#pragma once

#include <cstddef>
#include <memory>

#include <tern/client/executor.hpp>
#include <tern/client/export.hpp>

namespace tern::client {

class TERN_CLIENT_API runtime {
public:
    // Starts `threads` network threads (at least one).
    [[nodiscard]] static std::shared_ptr<runtime> create(std::size_t threads = 1);

    virtual ~runtime() = default;
    [[nodiscard]] virtual std::size_t threads() const noexcept = 0;

    // An executor that runs tasks in order on the runtime's first network thread. As a client's
    // `options::executor` it saves a thread switch per callback, which a load generator or a bot
    // with many clients and quick callbacks needs; but a callback that blocks or runs long then
    // stalls every connection on that thread, so an app with a UI keeps its own executor. The
    // executor refers to the runtime: use it only while the runtime lives (clients keep theirs).
    [[nodiscard]] virtual std::shared_ptr<executor> network_executor() = 0;
};

}  // namespace tern::client
