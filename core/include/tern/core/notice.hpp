// How a device announces a delivered event (tern.v1.Notice): the core's decision for each
// recipient (docs/notifications.md), handed to the device port with every live push.
#pragma once

#include <cstdint>

namespace tern::core {

// The values are tern.v1.Notice's.
enum class notice : std::uint8_t {
    unspecified = 0,  // not decided: catch-up pages
    none = 1,         // no sound, no banner, no badge change
    silent = 2,       // badge and list only
    alert = 3,        // sound or banner
};

}  // namespace tern::core
