// What ternd nodes say to each other goes through here: counted (cluster_observer), and a
// message that cannot be sent or read is counted and logged, at most once a second per kind.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include <tern/cluster/nats_link.hpp>
#include <tern/cluster/node.hpp>

namespace tern::cluster::detail {

class bus {
public:
    bus(nats_link& link, const cluster_observer& observer) : link_(link), observer_(observer) {}

    void send(const std::string& subject, const std::string& bytes) {
        if (link_.publish(subject, bytes)) {
            if (observer_.bus_message) observer_.bus_message(false);
            return;
        }
        if (observer_.bus_error) observer_.bus_error("unsent");
        if (due(last_unsent_)) {
            spdlog::warn(
                "cluster: a message to {} could not be sent (NATS unreachable); the "
                "other side resends or times out",
                subject);
        }
    }
    void received() {
        if (observer_.bus_message) observer_.bus_message(true);
    }
    void malformed(std::string_view from, std::size_t bytes) {
        if (observer_.bus_error) observer_.bus_error("malformed");
        if (due(last_malformed_)) {
            spdlog::warn("cluster: a malformed message from {} ({} bytes) dropped", from, bytes);
        }
    }

private:
    // True at most once a second per kind.
    static bool due(std::atomic<std::int64_t>& last) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
        auto before = last.load();
        return now - before >= 1000 && last.compare_exchange_strong(before, now);
    }

    nats_link& link_;
    const cluster_observer& observer_;
    std::atomic<std::int64_t> last_unsent_{-1'000'000};
    std::atomic<std::int64_t> last_malformed_{-1'000'000};
};

}  // namespace tern::cluster::detail
