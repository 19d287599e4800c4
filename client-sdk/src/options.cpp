#include <charconv>

#include <tern/client/options.hpp>

namespace tern::client {

std::optional<endpoint> endpoint::parse(const std::string& url) {
    static constexpr std::pair<std::string_view, client::transport> schemes[] = {
        {"tcp://", transport::tcp},
        {"tls://", transport::tls},
        {"ws://", transport::ws},
        {"wss://", transport::wss},
    };
    endpoint out;
    std::string_view rest;
    bool known = false;
    for (const auto& [prefix, kind] : schemes) {
        if (url.starts_with(prefix)) {
            out.transport = kind;
            rest = std::string_view(url).substr(prefix.size());
            known = true;
            break;
        }
    }
    if (!known) return std::nullopt;
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        if (out.transport == transport::tcp || out.transport == transport::tls) return std::nullopt;
        out.path = std::string(rest.substr(slash));
    }
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    auto host = authority.substr(0, colon);
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    const auto port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    out.host = std::string(host);
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

}  // namespace tern::client
