// Whether a request fits the server's limits, checked before it is sent: a request the server
// cannot take (its content above Welcome.limits.max_content_bytes, its frame above
// max_frame_bytes) is refused at send() and never enters the outbox, so it can never become a
// poison message that is resent on every connection. Before the first Welcome the SDK assumes
// the protocol's defaults; at each Welcome the outbox is checked again against the server's own
// limits, and an entry that no longer fits fails there instead of being sent.
//
// Header-only: the SDK's symbols are hidden, and its unit tests compile it themselves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <tern/client/error.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::client::detail {

struct server_limits {
    std::size_t max_frame_bytes = 64 * 1024;    // the protocol's defaults, until a Welcome
    std::size_t max_content_bytes = 16 * 1024;  // says otherwise

    [[nodiscard]] static server_limits of(const v1::Limits& l) {
        return {l.max_frame_bytes(), l.max_content_bytes()};
    }
};

// Room for the req_id and the frame's own tags, which the request does not carry yet.
inline constexpr std::size_t request_envelope_bytes = 16;

// The content a request carries (send, edit), or null.
inline const v1::Content* content_of(const v1::Frame& request) {
    if (request.has_send()) return &request.send().content();
    if (request.has_edit()) return &request.edit().content();
    return nullptr;
}

// Nullopt when `request` fits; otherwise the error its sender gets (never retryable: the same
// request will not fit later).
inline std::optional<error> refuse_oversize(const v1::Frame& request, const server_limits& limits) {
    if (const auto* content = content_of(request)) {
        const auto size = content->has_custom()
                              ? content->custom().type().size() + content->custom().data().size()
                              : content->text().size();
        if (size > limits.max_content_bytes) {
            return error{error_code::content_too_large,
                         "content of " + std::to_string(size) + " bytes; the server takes " +
                             std::to_string(limits.max_content_bytes),
                         false};
        }
    }
    const auto frame = request.ByteSizeLong() + request_envelope_bytes;
    if (frame > limits.max_frame_bytes) {
        return error{error_code::frame_too_large,
                     "a request of " + std::to_string(frame) + " bytes; the server's frames are " +
                         std::to_string(limits.max_frame_bytes),
                     false};
    }
    return std::nullopt;
}

}  // namespace tern::client::detail
