// The server side of the WebSocket upgrade, over any stream (a socket, TLS, or Beast's test stream
// in the fuzz target): the request bounded by 8 KiB of headers (the caller bounds its time by the
// auth deadline), version 13 and subprotocol tern.v1 required, Origin checked against the
// allow-list, no extensions. The 101 is ours (RFC 6455, 4.2.2); the frames after it are read by
// wire::ws_reader and written with framing::websocket. A refusal is answered with a plain HTTP
// error; every refusal and failure is counted.
#pragma once

#include <algorithm>
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
#include <boost/beast/websocket/rfc6455.hpp>

#include <openssl/evp.h>

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
    const std::vector<std::string>* allowed_origins = nullptr;  // empty or null: any Origin
};

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
inline std::string websocket_accept_key(std::string_view key) {
    std::string input(key);
    input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr);
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest,
                                  static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// A key is the base64 of 16 bytes (RFC 6455, 4.1): 24 characters ending in "==".
inline bool valid_websocket_key(std::string_view key) {
    return key.size() == 24 && key.substr(22) == "==";
}

namespace detail {

// A socket (or a stream on one) is shut down; Beast's test stream has none, and needs none.
template <class Stream>
void shut_down(Stream& stream) {
    auto& lowest = boost::beast::get_lowest_layer(stream);
    if constexpr (requires { lowest.shutdown(boost::asio::socket_base::shutdown_both); }) {
        boost::system::error_code ignored;
        lowest.shutdown(boost::asio::socket_base::shutdown_both, ignored);
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

// Upgrades `stream`: the bytes the client sent after its request (its first frames, if it did not
// wait for the 101), or nullopt when the request was refused, too large or not HTTP.
template <class Stream>
boost::asio::awaitable<std::optional<std::string>> accept_upgrade(Stream& stream,
                                                                  upgrade_policy policy,
                                                                  server::metrics& metrics) {
    namespace http = boost::beast::http;
    using upgraded = std::optional<std::string>;
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
    if (!boost::beast::websocket::is_upgrade(request)) {
        co_await refuse(http::status::bad_request, "WebSocket upgrade required\n");
        co_return upgraded{};
    }
    if (request[http::field::sec_websocket_version] != "13") {
        co_await refuse(http::status::bad_request, "Sec-WebSocket-Version 13 required\n");
        co_return upgraded{};
    }
    const auto key = request[http::field::sec_websocket_key];
    if (!valid_websocket_key(key)) {
        co_await refuse(http::status::bad_request, "a valid Sec-WebSocket-Key required\n");
        co_return upgraded{};
    }
    if (!offers_subprotocol(request[http::field::sec_websocket_protocol])) {
        co_await refuse(http::status::bad_request, "subprotocol tern.v1 required\n");
        co_return upgraded{};
    }
    // The allow-list guards against other web pages driving a browser's connection: browsers
    // always send Origin. Native apps, bots and servers send none, and are let through.
    const auto* origins = policy.allowed_origins;
    const auto origin = request[http::field::origin];
    if (origins && !origins->empty() && !origin.empty() &&
        std::find(origins->begin(), origins->end(), std::string(origin)) == origins->end()) {
        co_await refuse(http::status::forbidden, "origin not allowed\n");
        co_return upgraded{};
    }
    http::response<http::empty_body> res{http::status::switching_protocols, request.version()};
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::sec_websocket_accept, websocket_accept_key(key));
    res.set(http::field::sec_websocket_protocol, websocket_subprotocol);
    res.set(http::field::server, "ternd");
    auto [write_ec, written] =
        co_await http::async_write(stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (write_ec) {
        metrics.rejected(reject_reason::websocket_upgrade);
        co_return upgraded{};
    }
    const auto early = buffer.cdata();
    co_return upgraded{std::string(static_cast<const char*>(early.data()), early.size())};
}

}  // namespace tern::server::net
