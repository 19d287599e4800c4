#include <tern/tooling/http_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace tern::tooling {

namespace http = boost::beast::http;

boost::system::result<http_url> parse_http_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    const auto invalid = make_error_code(boost::system::errc::invalid_argument);
    if (!url.starts_with(scheme)) return invalid;
    const auto rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) {
        return invalid;
    }
    http_url out;
    out.host = std::string(authority.substr(0, colon));
    // "[::1]": the brackets delimit an IPv6 literal; the resolver wants it bare.
    if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
        out.host = out.host.substr(1, out.host.size() - 2);
    }
    out.port = std::string(authority.substr(colon + 1));
    if (slash != std::string_view::npos) out.target = std::string(rest.substr(slash));
    return out;
}

// Asynchronous operations on one io_context, run to completion here: beast::tcp_stream bounds
// asynchronous operations only, so this is how the timeout covers connect, write and read.
boost::system::result<http_reply> send_http(const http_request& request) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto addresses = resolver.resolve(request.host, request.port, ec);
    if (ec) return ec;

    boost::beast::tcp_stream stream(io);
    const auto verb = request.method == http_method::post ? http::verb::post : http::verb::get;
    http::request<http::string_body> req{verb, request.target, 11};
    req.set(http::field::host, request.host);
    if (!request.bearer.empty()) req.set(http::field::authorization, "Bearer " + request.bearer);
    if (!request.body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = request.body;
    }
    req.keep_alive(false);
    req.prepare_payload();
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;

    stream.expires_after(request.timeout);
    stream.async_connect(
        addresses, [&](boost::system::error_code connected, const boost::asio::ip::tcp::endpoint&) {
            if ((ec = connected)) return;
            http::async_write(stream, req, [&](boost::system::error_code written, std::size_t) {
                if ((ec = written)) return;
                http::async_read(stream, buffer, res,
                                 [&](boost::system::error_code read, std::size_t) { ec = read; });
            });
        });
    io.run();
    if (ec) return ec;
    boost::system::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    return http_reply{res.result_int(), std::string(res[http::field::content_type]),
                      std::move(res.body())};
}

}  // namespace tern::tooling
