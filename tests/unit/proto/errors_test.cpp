#include <tern/wire/errors.hpp>

#include <catch2/catch.hpp>

#include <vector>

#include "tern/v1/errors.pb.h"

namespace v1 = tern::v1;
namespace wire = tern::wire;

TEST_CASE("every protocol error code is described, under its own name", "[unit][errors]") {
    const auto* descriptor = v1::ErrorCode_descriptor();
    for (int i = 0; i < descriptor->value_count(); ++i) {
        const auto* value = descriptor->value(i);
        CAPTURE(value->name());
        const auto& info = wire::describe(static_cast<v1::ErrorCode>(value->number()));
        CHECK(info.name == value->name());
        CHECK_FALSE(info.summary.empty());
    }
}

TEST_CASE("retryable codes are the transient ones", "[unit][errors]") {
    CHECK(wire::describe(v1::RATE_LIMITED).retryable);
    CHECK(wire::describe(v1::UNAVAILABLE).retryable);
    CHECK(wire::describe(v1::STORAGE_FULL).retryable);
    CHECK(wire::describe(v1::TOKEN_EXPIRED).retryable);
    CHECK_FALSE(wire::describe(v1::NOT_MEMBER).retryable);
    CHECK_FALSE(wire::describe(v1::BAD_FRAME).retryable);
    CHECK_FALSE(wire::describe(static_cast<v1::ErrorCode>(987654)).retryable);
    CHECK(wire::describe(static_cast<v1::ErrorCode>(987654)).name == "UNKNOWN_ERROR");
}

TEST_CASE("every disconnect reason carries advice, under its own name", "[unit][errors]") {
    const auto* descriptor = v1::DisconnectReason_descriptor();
    for (int i = 0; i < descriptor->value_count(); ++i) {
        const auto* value = descriptor->value(i);
        CAPTURE(value->name());
        CHECK(wire::advise(static_cast<v1::DisconnectReason>(value->number())).name ==
              value->name());
    }
    CHECK_FALSE(wire::advise(v1::DISCONNECT_KICKED).reconnect);
    CHECK(wire::advise(v1::DISCONNECT_TOKEN_EXPIRED).needs_new_token);
    CHECK(wire::advise(v1::DISCONNECT_SERVER_DRAINING).reconnect);
}

TEST_CASE("a refused handshake gives one piece of advice: the Disconnect agrees with the Error",
          "[unit][errors]") {
    const auto* descriptor = v1::ErrorCode_descriptor();
    std::vector<v1::ErrorCode> handshake{v1::DRAINING, v1::UNAVAILABLE, v1::UNSUPPORTED_VERSION};
    for (int i = 0; i < descriptor->value_count(); ++i) {
        const auto number = descriptor->value(i)->number();
        if (number >= 200 && number < 300) handshake.push_back(static_cast<v1::ErrorCode>(number));
    }
    REQUIRE(handshake.size() >= 13);  // every 2xx, REPLACED (209) included
    for (const auto code : handshake) {
        const auto reason = wire::handshake_disconnect(code);
        CAPTURE(wire::describe(code).name, wire::advise(reason).name);
        CHECK(wire::advise(reason).reconnect == wire::describe(code).retryable);
        CHECK(reason != v1::DISCONNECT_PROTOCOL_ERROR);  // each has a reason of its own
    }
}

TEST_CASE("codec errors map onto protocol codes", "[unit][errors]") {
    CHECK(wire::to_protocol_error(wire::errc::frame_too_large) == v1::FRAME_TOO_LARGE);
    CHECK(wire::to_protocol_error(wire::errc::malformed_frame) == v1::BAD_FRAME);
    CHECK(wire::to_protocol_error(wire::errc::missing_body) == v1::UNKNOWN_REQUEST);
    CHECK(wire::to_protocol_error(wire::errc::text_message) == v1::TEXT_MESSAGE);
    const boost::system::error_code ec = wire::errc::malformed_frame;
    CHECK(ec.category().name() == std::string("tern.wire"));
    CHECK(ec.message() == "malformed frame");
}
