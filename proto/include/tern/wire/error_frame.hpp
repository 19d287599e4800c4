// The one builder of Error frames, for every part of the server that answers a request with an
// error (the connection's handshake and rate limit, the core's refusals): the code, a message
// for logs and people, and `retryable` as the shared error table says (errors.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "tern/v1/frame.pb.h"

namespace tern::wire {

// Frame{req_id, error{code, message, retryable, retry_after_ms}}.
[[nodiscard]] v1::Frame error_frame(std::uint64_t req_id, v1::ErrorCode code, std::string message,
                                    std::uint32_t retry_after_ms = 0);

}  // namespace tern::wire
