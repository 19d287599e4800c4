// Errors the SDK reports: the server's error codes (the same numbers as tern.v1.ErrorCode, see
// docs/protocol.md) plus a few of the client's own, and a small result type.
//
// No exception crosses the SDK's API on the message path: operations complete with a result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <tern/client/export.hpp>

namespace tern::client {

enum class error_code : std::uint32_t {
    none = 0,
    // The server's codes (tern.v1.ErrorCode).
    bad_frame = 100,
    frame_too_large = 101,
    unsupported_version = 102,
    hello_required = 103,
    already_authenticated = 104,
    unknown_request = 105,
    text_message = 106,
    auth_timeout = 200,
    token_invalid = 201,
    token_expired = 202,
    token_not_yet_valid = 203,
    token_wrong_audience = 204,
    token_wrong_issuer = 205,
    token_unknown_key = 206,
    token_alg_not_allowed = 207,
    too_many_devices = 208,
    replaced = 209,  // this handshake lost to a newer connection of the same device
    invalid_argument = 300,
    not_found = 301,
    not_member = 302,
    permission_denied = 303,
    content_too_large = 304,
    group_full = 305,
    window_expired = 306,
    already_recalled = 307,
    client_msg_id_reused = 308,
    urgent_budget_spent = 309,  // the sender's urgent messages for today are spent
    scheduled_limit = 310,      // the user's scheduled messages are at the server's limit
    scheduled_releasing = 311,  // the scheduled message is being released: too late to change
    rate_limited = 400,
    slow_consumer = 401,
    idle_timeout = 402,
    unavailable = 500,
    storage_full = 501,
    draining = 502,
    timeout = 503,
    internal = 504,
    // The client's own.
    not_connected = 900,  // a request that needs the connection found none (retry later)
    closed = 901,         // the client was disconnected or destroyed before an answer came
    expired = 902,        // a send was not acknowledged within options::send_expiry
};

struct error {
    error_code code = error_code::none;
    std::string message;
    bool retryable = false;
};

// The name of a code ("NOT_MEMBER"); "UNKNOWN" for a number this SDK does not know.
[[nodiscard]] TERN_CLIENT_API const char* to_string(error_code code) noexcept;

// Either a value or an error.
template <class T>
class result {
public:
    result(T value) : v_(std::move(value)) {}                      // NOLINT: implicit by design
    result(error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
    [[nodiscard]] T& value() & { return std::get<0>(v_); }
    [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
    [[nodiscard]] const T* operator->() const { return &std::get<0>(v_); }
    [[nodiscard]] const error& err() const& { return std::get<1>(v_); }

private:
    std::variant<T, error> v_;
};

// The outcome of an operation that returns nothing.
struct ok {};

}  // namespace tern::client
