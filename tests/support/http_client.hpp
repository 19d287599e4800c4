// HTTP for tests of the admin listener, through the tools' one HTTP client (tern::tooling), and
// reading its metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include <tern/tooling/http_client.hpp>

namespace tern::test {

using tooling_reply = tern::tooling::http_reply;

// A request to 127.0.0.1:`port`; throws when there is no reply at all (the test fails there).
inline tooling_reply http_request(std::uint16_t port, tern::tooling::http_method method,
                                  const std::string& target, const std::string& bearer = {},
                                  const std::string& body = {}) {
    auto reply = tern::tooling::send_http({method, "127.0.0.1", std::to_string(port), target,
                                           bearer, std::chrono::seconds(30), body});
    if (!reply) throw std::runtime_error("HTTP " + target + ": " + reply.error().message());
    return std::move(*reply);
}

inline tooling_reply http_get(std::uint16_t port, const std::string& target) {
    return http_request(port, tern::tooling::http_method::get, target);
}

inline tooling_reply http_post(std::uint16_t port, const std::string& target,
                               const std::string& bearer = {}, const std::string& body = {}) {
    return http_request(port, tern::tooling::http_method::post, target, bearer, body);
}

// The value of the sample `series` (a metric name with its labels, as exposed) in a Prometheus
// text exposition, if present.
inline std::optional<double> metric_sample(const std::string& exposition,
                                           const std::string& series) {
    std::istringstream lines(exposition);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
}

// The sample `series` of the gateway's /metrics on admin port `port` (0 when absent).
inline double metric(std::uint16_t port, const std::string& series) {
    return metric_sample(http_get(port, "/metrics").body, series).value_or(0);
}

}  // namespace tern::test
