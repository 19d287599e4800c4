// Listener addresses from the configuration.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace tern::server::net {

// "host:port" (IPv6 as "[::1]:port") -> endpoint; throws std::runtime_error naming `key`.
[[nodiscard]] boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& key,
                                                            const std::string& text);

}  // namespace tern::server::net
