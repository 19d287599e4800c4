// The one HTTP client of the tools and tests: a request to ternd's admin listener (or any plain
// http:// endpoint), one connection per request, blocking, bounded by a timeout. ternctl's
// status, drain and kick, tern-bench's --metrics and the tests' admin checks all go through it.
//
// No Beast type appears here: Beast stays inside the library.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace tern::tooling {

// "http://host:port[/path]" taken apart; the path defaults to "/".
struct http_url {
    std::string host;
    std::string port;
    std::string target = "/";
};

// Refuses anything but http:// with a host and a port (errc::invalid_argument).
[[nodiscard]] boost::system::result<http_url> parse_http_url(std::string_view url);

enum class http_method { get, post };

struct http_request {
    http_method method = http_method::get;
    std::string host;
    std::string port;
    std::string target = "/";
    std::string bearer;  // sent as "Authorization: Bearer ..." when not empty
    std::chrono::milliseconds timeout{30'000};
    std::string body;  // sent as application/json when not empty
};

struct http_reply {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

// Sends one request (HTTP/1.1, Connection: close) and reads the whole reply. Any status is a
// reply; the error is a failure to resolve, connect, write or read, or the timeout.
[[nodiscard]] boost::system::result<http_reply> send_http(const http_request& request);

}  // namespace tern::tooling
