#include "app/core_telemetry.hpp"

#include <spdlog/spdlog.h>

namespace tern::server::app {

void core_telemetry::failed(core::failure what, std::string_view detail) {
    const auto name = core::to_string(what);
    metrics_.core_failed(name);
    auto& throttle = warnings_[static_cast<std::size_t>(what) % warnings_.size()];
    if (std::uint64_t held = 0; throttle.allow(held)) {
        spdlog::warn("{}: {} ({} more since the last of these warnings)", name, detail, held);
    }
}

}  // namespace tern::server::app
