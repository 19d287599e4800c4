// The two relay contracts, as bytes (docs/notifications.md, "Push relays"):
//
// - Tern's signed webhook: POST <url> with a JSON body; header `X-Tern-Signature: t=<unix
//   seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the shared secret>`. The relay checks the
//   signature and refuses a timestamp older than it allows (replays). It answers 2xx when it
//   took the push, 410 when the token is no longer valid (ternd forgets it), 429 or 5xx to be
//   asked again later; any other answer is a refusal (counted, not retried).
// - The Matrix Push Gateway API (`POST /_matrix/push/v1/notify`, as Sygnal serves it): the
//   conversation is the room, the seq the event; the gateway lists tokens it rejects.
//
// Pure functions: tested without sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tern/push/push_message.hpp>

namespace tern::push {

enum class contract : std::uint8_t { webhook, matrix };

struct http_post {
    std::vector<std::pair<std::string, std::string>> headers;  // besides Host and Content-Length
    std::string body;
};

// The webhook's JSON body.
[[nodiscard]] std::string webhook_body(const push_message& m);
// Hex HMAC-SHA256 of "<unix_seconds>.<body>" under `secret`.
[[nodiscard]] std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                                            std::string_view body);
// Whether `header` (the X-Tern-Signature value) signs `body` under `secret`, made no more than
// `tolerance_s` seconds from `now_s`: what a relay checks (the example relay does the same).
[[nodiscard]] bool webhook_signature_valid(std::string_view header, std::string_view body,
                                           std::string_view secret, std::int64_t now_s,
                                           std::int64_t tolerance_s);
[[nodiscard]] http_post webhook_post(const push_message& m, std::string_view secret,
                                     std::int64_t unix_seconds);

// The Matrix push gateway's notify body.
[[nodiscard]] std::string matrix_body(const push_message& m);
[[nodiscard]] http_post matrix_post(const push_message& m);

// What a relay's answer means for the push.
enum class verdict : std::uint8_t {
    delivered,      // the relay took it
    retry,          // ask again later (5xx, 429, no answer)
    token_invalid,  // the token is dead: forget it
    refused,        // the relay will not take it (another 4xx): counted, not retried
};
[[nodiscard]] verdict webhook_verdict(unsigned status);
// `token`: the push's token, which the gateway may list under "rejected".
[[nodiscard]] verdict matrix_verdict(unsigned status, std::string_view body,
                                     std::string_view token);

}  // namespace tern::push
