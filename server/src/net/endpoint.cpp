#include "endpoint.hpp"

#include <stdexcept>

namespace tern::server::net {

boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& key, const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error(key + ": expected host:port");
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error(key + ": '" + host + "' is not an IP address");
    unsigned long port = 0;
    try {
        port = std::stoul(text.substr(colon + 1));
    } catch (const std::exception&) {
        throw std::runtime_error(key + ": bad port");
    }
    if (port > 65535) throw std::runtime_error(key + ": bad port");
    return {address, static_cast<std::uint16_t>(port)};
}

}  // namespace tern::server::net
