// The SDK's network threads. Many clients may share one runtime: a multi-account app, or a load
// generator with thousands of clients. A client is pinned to one of the runtime's threads for
// life, and its protocol state is touched only there (so clients never lock each other).
#pragma once

#include <cstddef>
#include <memory>

#include <tern/client/export.hpp>

namespace tern::client {

class TERN_CLIENT_API runtime {
public:
    // Starts `threads` network threads (at least one).
    [[nodiscard]] static std::shared_ptr<runtime> create(std::size_t threads = 1);

    virtual ~runtime() = default;
    [[nodiscard]] virtual std::size_t threads() const noexcept = 0;
};

}  // namespace tern::client
