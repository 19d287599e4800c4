#include <tern/client/error.hpp>
#include <tern/wire/errors.hpp>

#include "tern/v1/errors.pb.h"

namespace tern::client {

const char* to_string(error_code code) noexcept {
    switch (code) {
        case error_code::none:
            return "OK";
        case error_code::not_connected:
            return "NOT_CONNECTED";
        case error_code::closed:
            return "CLOSED";
        case error_code::expired:
            return "EXPIRED";
        default:
            break;
    }
    const auto value = static_cast<int>(code);
    if (!v1::ErrorCode_IsValid(value)) return "UNKNOWN";
    // The table's names are string literals: NUL-terminated.
    return wire::describe(static_cast<v1::ErrorCode>(value)).name.data();
}

}  // namespace tern::client
