// The core's push port (core/push_port.hpp) on ternd's relay sender (tern::push): pushes go to
// the configured relay on the sender's own thread, every outcome is counted in the metrics
// (tern_push_total, tern_push_queue_depth), the badge is counted from the store when a push
// goes, and a token the relay reports dead is handed to whoever forgets it (the core, or on a
// cluster node the owner of the tenant's partition).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <tern/core/push_port.hpp>
#include <tern/push/relay_sender.hpp>
#include <tern/server/config.hpp>
#include <tern/storage/store.hpp>

#include "metrics/metrics.hpp"

namespace tern::server::app {

class push_link final : public core::push_port {
public:
    using forget_token = std::function<void(storage::tenant_id, storage::user_id,
                                            storage::device_id, const std::string& token)>;

    // Throws std::invalid_argument for a relay URL the sender cannot use.
    push_link(const config& cfg, server::metrics& metrics, const storage::store& store);

    // Who forgets a dead token; set once, before the first push.
    void forget_with(forget_token forget) { forget_ = std::move(forget); }

    void submit(push::push_message m, std::chrono::milliseconds delay) override;
    void read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
              std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) override;

    [[nodiscard]] std::size_t depth() const;
    // Stops the sender (what is still queued is not sent). Called once nothing submits any
    // more (the shards and the commit writer stopped): no call reaches the core after it.
    void stop();

private:
    forget_token forget_;
    std::unique_ptr<push::relay_sender> sender_;
};

// The push link for the configuration; null when it names no relay (push.url empty).
[[nodiscard]] std::unique_ptr<push_link> push_link_of(const config& cfg, server::metrics& metrics,
                                                      const storage::store& store);

}  // namespace tern::server::app
