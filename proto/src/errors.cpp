#include <tern/wire/errors.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "tern/v1/errors.pb.h"

namespace tern::wire {
namespace {

class wire_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tern.wire"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::empty_frame:
                return "empty frame";
            case errc::frame_too_large:
                return "frame exceeds the size limit";
            case errc::malformed_frame:
                return "malformed frame";
            case errc::missing_body:
                return "frame has no known body";
            case errc::encode_too_large:
                return "encoded frame exceeds the size limit";
            case errc::text_message:
                return "WebSocket text message";
            case errc::websocket_protocol:
                return "WebSocket protocol violation";
        }
        return "unknown wire error";
    }
};

struct error_row {
    v1::ErrorCode code;
    error_info info;
};

// The table behind describe(); tests check it names every value of tern.v1.ErrorCode.
constexpr std::array error_rows{
    error_row{v1::ERROR_CODE_UNSPECIFIED, {"ERROR_CODE_UNSPECIFIED", false, "no error code given"}},
    error_row{v1::BAD_FRAME, {"BAD_FRAME", false, "the bytes are not a valid Frame"}},
    error_row{v1::FRAME_TOO_LARGE, {"FRAME_TOO_LARGE", false, "frame above the size limit"}},
    error_row{v1::UNSUPPORTED_VERSION,
              {"UNSUPPORTED_VERSION", false, "protocol version not supported"}},
    error_row{v1::HELLO_REQUIRED, {"HELLO_REQUIRED", false, "the first frame must be Hello"}},
    error_row{v1::ALREADY_AUTHENTICATED,
              {"ALREADY_AUTHENTICATED", false, "Hello sent on an authenticated connection"}},
    error_row{v1::UNKNOWN_REQUEST, {"UNKNOWN_REQUEST", false, "request not understood"}},
    error_row{v1::TEXT_MESSAGE, {"TEXT_MESSAGE", false, "WebSocket text messages are not allowed"}},
    error_row{v1::AUTH_TIMEOUT, {"AUTH_TIMEOUT", true, "no Hello within the auth deadline"}},
    error_row{v1::TOKEN_INVALID, {"TOKEN_INVALID", false, "token malformed or not verifiable"}},
    error_row{v1::TOKEN_EXPIRED, {"TOKEN_EXPIRED", true, "token expired; get a new one"}},
    error_row{v1::TOKEN_NOT_YET_VALID,
              {"TOKEN_NOT_YET_VALID", true, "token not valid yet (clock skew)"}},
    error_row{v1::TOKEN_WRONG_AUDIENCE,
              {"TOKEN_WRONG_AUDIENCE", false, "token audience not accepted"}},
    error_row{v1::TOKEN_WRONG_ISSUER, {"TOKEN_WRONG_ISSUER", false, "token issuer not accepted"}},
    error_row{v1::TOKEN_UNKNOWN_KEY, {"TOKEN_UNKNOWN_KEY", false, "no key with the token's kid"}},
    error_row{v1::TOKEN_ALG_NOT_ALLOWED,
              {"TOKEN_ALG_NOT_ALLOWED", false, "token algorithm not allowed"}},
    error_row{v1::TOO_MANY_DEVICES,
              {"TOO_MANY_DEVICES", true, "the user has the maximum devices online"}},
    error_row{v1::REPLACED, {"REPLACED", false, "the same device has a newer connection"}},
    error_row{v1::INVALID_ARGUMENT, {"INVALID_ARGUMENT", false, "a field is missing or invalid"}},
    error_row{v1::NOT_FOUND, {"NOT_FOUND", false, "no such conversation or event"}},
    error_row{v1::NOT_MEMBER, {"NOT_MEMBER", false, "not a member of the conversation"}},
    error_row{v1::PERMISSION_DENIED, {"PERMISSION_DENIED", false, "role does not allow this"}},
    error_row{v1::CONTENT_TOO_LARGE, {"CONTENT_TOO_LARGE", false, "content above the limit"}},
    error_row{v1::GROUP_FULL, {"GROUP_FULL", false, "the member limit would be exceeded"}},
    error_row{v1::WINDOW_EXPIRED, {"WINDOW_EXPIRED", false, "recall or edit window passed"}},
    error_row{v1::ALREADY_RECALLED, {"ALREADY_RECALLED", false, "the message was recalled"}},
    error_row{v1::CLIENT_MSG_ID_REUSED,
              {"CLIENT_MSG_ID_REUSED", false, "client_msg_id used for another request"}},
    error_row{v1::URGENT_BUDGET_SPENT,
              {"URGENT_BUDGET_SPENT", false, "the sender's urgent messages for today are spent"}},
    error_row{v1::SCHEDULED_LIMIT,
              {"SCHEDULED_LIMIT", false, "the sender's scheduled messages are at the limit"}},
    error_row{v1::SCHEDULED_RELEASING,
              {"SCHEDULED_RELEASING", false, "the scheduled message is being released"}},
    error_row{v1::RATE_LIMITED, {"RATE_LIMITED", true, "too many frames; slow down"}},
    error_row{v1::SLOW_CONSUMER, {"SLOW_CONSUMER", true, "outbound queue overflowed; resync"}},
    error_row{v1::IDLE_TIMEOUT, {"IDLE_TIMEOUT", true, "connection idle for too long"}},
    error_row{v1::UNAVAILABLE, {"UNAVAILABLE", true, "temporarily unavailable"}},
    error_row{v1::STORAGE_FULL, {"STORAGE_FULL", true, "the store refuses writes"}},
    error_row{v1::DRAINING, {"DRAINING", true, "server draining; reconnect elsewhere"}},
    error_row{v1::TIMEOUT, {"TIMEOUT", true, "outcome unknown; resend with the same id"}},
    error_row{v1::INTERNAL, {"INTERNAL", true, "internal error"}},
};

constexpr error_info unknown_error{"UNKNOWN_ERROR", false, "error code unknown to this version"};

struct disconnect_row {
    v1::DisconnectReason reason;
    disconnect_advice advice;
};

constexpr std::array disconnect_rows{
    disconnect_row{v1::DISCONNECT_REASON_UNSPECIFIED,
                   {"DISCONNECT_REASON_UNSPECIFIED", true, false, 1000, "no reason given"}},
    disconnect_row{v1::DISCONNECT_CLIENT_CLOSED,
                   {"DISCONNECT_CLIENT_CLOSED", false, false, 0, "the client closed"}},
    disconnect_row{v1::DISCONNECT_SERVER_DRAINING,
                   {"DISCONNECT_SERVER_DRAINING", true, false, 0, "reconnect elsewhere"}},
    disconnect_row{v1::DISCONNECT_AUTH_FAILED,
                   {"DISCONNECT_AUTH_FAILED", false, true, 0, "authentication failed"}},
    disconnect_row{v1::DISCONNECT_TOKEN_EXPIRED,
                   {"DISCONNECT_TOKEN_EXPIRED", true, true, 0, "token expired"}},
    disconnect_row{v1::DISCONNECT_PROTOCOL_ERROR,
                   {"DISCONNECT_PROTOCOL_ERROR", true, false, 5000, "protocol error"}},
    disconnect_row{v1::DISCONNECT_SLOW_CONSUMER,
                   {"DISCONNECT_SLOW_CONSUMER", true, false, 1000, "slow consumer; resync"}},
    disconnect_row{v1::DISCONNECT_IDLE_TIMEOUT,
                   {"DISCONNECT_IDLE_TIMEOUT", true, false, 0, "idle timeout"}},
    disconnect_row{v1::DISCONNECT_KICKED, {"DISCONNECT_KICKED", false, false, 0, "kicked"}},
    disconnect_row{v1::DISCONNECT_REPLACED,
                   {"DISCONNECT_REPLACED", false, false, 0, "same device connected again"}},
    disconnect_row{v1::DISCONNECT_RATE_LIMITED,
                   {"DISCONNECT_RATE_LIMITED", true, false, 5000, "rate limited"}},
    disconnect_row{v1::DISCONNECT_UNSUPPORTED_VERSION,
                   {"DISCONNECT_UNSUPPORTED_VERSION", false, false, 0, "upgrade the app"}},
    disconnect_row{v1::DISCONNECT_SERVER_ERROR,
                   {"DISCONNECT_SERVER_ERROR", true, false, 1000, "server error"}},
    disconnect_row{v1::DISCONNECT_TOO_MANY_DEVICES,
                   {"DISCONNECT_TOO_MANY_DEVICES", true, false, 30000,
                    "too many devices online; retry later"}},
    disconnect_row{v1::DISCONNECT_TOKEN_NOT_YET_VALID,
                   {"DISCONNECT_TOKEN_NOT_YET_VALID", true, false, 10000,
                    "token not valid yet; check the clock, retry later"}},
};

constexpr disconnect_advice unknown_reason{"UNKNOWN_REASON", true, false, 5000,
                                           "reason unknown to this version; back off"};

}  // namespace

const boost::system::error_category& wire_category() noexcept {
    static const wire_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), wire_category()};
}

v1::ErrorCode to_protocol_error(errc e) noexcept {
    switch (e) {
        case errc::frame_too_large:
            return v1::FRAME_TOO_LARGE;
        case errc::missing_body:
            return v1::UNKNOWN_REQUEST;
        case errc::encode_too_large:
            return v1::INTERNAL;
        case errc::text_message:
            return v1::TEXT_MESSAGE;
        case errc::empty_frame:
        case errc::malformed_frame:
        case errc::websocket_protocol:
            break;
    }
    return v1::BAD_FRAME;
}

const error_info& describe(v1::ErrorCode code) noexcept {
    const auto* it = std::find_if(error_rows.begin(), error_rows.end(),
                                  [code](const error_row& r) { return r.code == code; });
    return it == error_rows.end() ? unknown_error : it->info;
}

const disconnect_advice& advise(v1::DisconnectReason reason) noexcept {
    const auto* it = std::find_if(disconnect_rows.begin(), disconnect_rows.end(),
                                  [reason](const disconnect_row& r) { return r.reason == reason; });
    return it == disconnect_rows.end() ? unknown_reason : it->advice;
}

v1::DisconnectReason handshake_disconnect(v1::ErrorCode code) noexcept {
    switch (code) {
        case v1::AUTH_TIMEOUT:
            return v1::DISCONNECT_IDLE_TIMEOUT;
        case v1::TOKEN_EXPIRED:
            return v1::DISCONNECT_TOKEN_EXPIRED;
        case v1::TOKEN_NOT_YET_VALID:
            return v1::DISCONNECT_TOKEN_NOT_YET_VALID;
        case v1::TOO_MANY_DEVICES:
            return v1::DISCONNECT_TOO_MANY_DEVICES;
        case v1::REPLACED:
            return v1::DISCONNECT_REPLACED;
        case v1::UNSUPPORTED_VERSION:
            return v1::DISCONNECT_UNSUPPORTED_VERSION;
        case v1::DRAINING:
            return v1::DISCONNECT_SERVER_DRAINING;
        case v1::UNAVAILABLE:
            return v1::DISCONNECT_SERVER_ERROR;
        case v1::TOKEN_INVALID:
        case v1::TOKEN_WRONG_AUDIENCE:
        case v1::TOKEN_WRONG_ISSUER:
        case v1::TOKEN_UNKNOWN_KEY:
        case v1::TOKEN_ALG_NOT_ALLOWED:
            return v1::DISCONNECT_AUTH_FAILED;
        default:
            return v1::DISCONNECT_PROTOCOL_ERROR;
    }
}

}  // namespace tern::wire
