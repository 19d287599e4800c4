// The core's telemetry port (core/telemetry.hpp) on the server's metrics and log: counts go to
// Prometheus, and each kind of failure is logged at most once a second with the count held back
// since (a full disk fails every commit; the metric counts them all).
#pragma once

#include <array>

#include <tern/core/telemetry.hpp>

#include "log_throttle.hpp"
#include "metrics/metrics.hpp"

namespace tern::server::app {

class core_telemetry final : public core::telemetry {
public:
    explicit core_telemetry(server::metrics& metrics) : metrics_(metrics) {}

    void message_received() override { metrics_.message_received(); }
    void fanout(std::size_t recipients) override { metrics_.fanout(recipients); }
    void messages_delivered(std::size_t pushes, std::chrono::nanoseconds since) override {
        metrics_.messages_delivered(pushes, since);
    }
    void failed(core::failure what, std::string_view detail) override;
    void digest(core::digest_outcome what) override { metrics_.digest(core::to_string(what)); }

private:
    server::metrics& metrics_;
    std::array<log_throttle, 4> warnings_{
        log_throttle{std::chrono::seconds(1)}, log_throttle{std::chrono::seconds(1)},
        log_throttle{std::chrono::seconds(1)}, log_throttle{std::chrono::seconds(1)}};
};

}  // namespace tern::server::app
