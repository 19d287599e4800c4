// What every connection of a gateway shares: the limits, the token verifier, the core, the
// metrics. Built once by the composition root (app/gateway.cpp) and read by every connection.
#pragma once

#include <tern/auth/jwt.hpp>
#include <tern/core/frame_handler.hpp>
#include <tern/core/limits.hpp>

#include "metrics/metrics.hpp"

namespace tern::server::net {

struct connection_settings {
    const core::limits* limits = nullptr;  // never null once the gateway is built
    const auth::jwt_verifier* verifier = nullptr;
    core::frame_handler* handler = nullptr;  // null until the core is attached: requests refused
    server::metrics* metrics = nullptr;      // never null once the gateway is built
};

}  // namespace tern::server::net
