// The server side of the WebSocket upgrade, over any stream (a TCP stream, TLS, or Beast's test
// stream in the fuzz target): the request bounded by the auth deadline and 8 KiB of headers,
// subprotocol tern.v1 required, Origin checked against the allow-list, no compression. A refusal
// is answered with a plain HTTP error; every refusal and failure is counted.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "metrics/metrics.hpp"

namespace tern::server::net {

inline constexpr std::string_view websocket_subprotocol = "tern.v1";

// Whether a Sec-WebSocket-Protocol header ("a, b, c") offers tern.v1.
inline bool offers_subprotocol(std::string_view header) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        auto item = header.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == websocket_subprotocol) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

struct upgrade_policy {
    std::chrono::milliseconds deadline;                         // for the request and the handshake
    const std::vector<std::string>* allowed_origins = nullptr;  // empty or null: any Origin
};

namespace detail {

// Streams over a TCP socket have a deadline and a socket to shut down; Beast's test stream has
// neither, and needs neither.
template <class Stream>
void set_deadline(Stream& stream, std::chrono::milliseconds deadline) {
    if constexpr (requires { boost::beast::get_lowest_layer(stream).expires_after(deadline); }) {
        boost::beast::get_lowest_layer(stream).expires_after(deadline);
    }
}

template <class Stream>
void shut_down(Stream& stream) {
    if constexpr (requires { boost::beast::get_lowest_layer(stream).socket(); }) {
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(stream).socket().shutdown(
            boost::asio::socket_base::shutdown_both, ignored);
    }
}

// Answers a refused upgrade with a plain HTTP error, then closes.
template <class Stream>
boost::asio::awaitable<void> refuse(Stream& stream, unsigned version,
                                    boost::beast::http::status status, std::string body) {
    namespace http = boost::beast::http;
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "ternd");
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.prepare_payload();
    res.keep_alive(false);
    co_await http::async_write(stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
    shut_down(stream);
}

}  // namespace detail

// The upgraded stream, or nullopt when the request was refused, too slow, too large or not HTTP.
template <class Stream>
boost::asio::awaitable<std::optional<boost::beast::websocket::stream<Stream>>> accept_upgrade(
    Stream stream, upgrade_policy policy, server::metrics& metrics) {
    namespace http = boost::beast::http;
    namespace websocket = boost::beast::websocket;
    using upgraded = std::optional<websocket::stream<Stream>>;
    detail::set_deadline(stream, policy.deadline);
    boost::beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser,
                                             boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
        metrics.rejected(reject_reason::websocket_upgrade);
        co_return upgraded{};
    }
    auto request = parser.release();
    const auto refuse = [&](http::status status, std::string body) {
        metrics.rejected(reject_reason::websocket_upgrade);
        return detail::refuse(stream, request.version(), status, std::move(body));
    };
    if (!websocket::is_upgrade(request)) {
        co_await refuse(http::status::bad_request, "WebSocket upgrade required\n");
        co_return upgraded{};
    }
    if (!offers_subprotocol(request[http::field::sec_websocket_protocol])) {
        co_await refuse(http::status::bad_request, "subprotocol tern.v1 required\n");
        co_return upgraded{};
    }
    const auto* origins = policy.allowed_origins;
    if (origins && !origins->empty() &&
        std::find(origins->begin(), origins->end(), std::string(request[http::field::origin])) ==
            origins->end()) {
        co_await refuse(http::status::forbidden, "origin not allowed\n");
        co_return upgraded{};
    }
    // A client waits for the 101 before it sends frames (RFC 6455, 4.1): bytes it sent early
    // stay in `buffer` and are dropped, and the connection then fails on its next read.
    websocket::stream<Stream> ws(std::move(stream));
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = policy.deadline;
    timeouts.idle_timeout = websocket::stream_base::none();  // the connection's watchdog
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(http::field::sec_websocket_protocol, websocket_subprotocol);
        res.set(http::field::server, "ternd");
    }));
    auto [accept_ec] =
        co_await ws.async_accept(request, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (accept_ec) {
        metrics.rejected(reject_reason::websocket_upgrade);
        co_return upgraded{};
    }
    co_return upgraded{std::move(ws)};
}

}  // namespace tern::server::net
