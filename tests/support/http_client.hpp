// A blocking HTTP/1.1 client for tests of the admin listener (one request per connection), and
// reading its metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace tern::test {

struct http_reply {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

inline http_reply http_request(std::uint16_t port, boost::beast::http::verb method,
                               const std::string& target, const std::string& bearer = {}) {
    namespace http = boost::beast::http;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    req.keep_alive(false);
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

inline http_reply http_get(std::uint16_t port, const std::string& target) {
    return http_request(port, boost::beast::http::verb::get, target);
}

inline http_reply http_post(std::uint16_t port, const std::string& target,
                            const std::string& bearer = {}) {
    return http_request(port, boost::beast::http::verb::post, target, bearer);
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
