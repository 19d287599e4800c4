// The gateway's connection layer against a real listener: the handshake and every way it can go
// wrong, heartbeats, deadlines and limits. Each case starts a gateway on port 0.
#include <tern/server/gateway.hpp>
#include <tern/tooling/tokens.hpp>

#include <fstream>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"

using namespace tern;
using namespace tern::test;

using namespace std::chrono_literals;

namespace {

// Expects an Error with `code`, then a Disconnect with `reason`, then the close.
void expect_refused(test::raw_client& c, v1::ErrorCode code, v1::DisconnectReason reason) {
    const auto error = c.receive();
    REQUIRE(error);
    REQUIRE(error->has_error());
    CHECK(error->error().code() == code);
    const auto disconnect = c.receive();
    REQUIRE(disconnect);
    REQUIRE(disconnect->has_disconnect());
    CHECK(disconnect->disconnect().reason() == reason);
    CHECK(disconnect->disconnect().code() == code);
    CHECK(c.closed_within(5s));
}

}  // namespace

TEST_CASE("a valid Hello is answered by Welcome with the token's identity and the limits",
          "[integration][gateway]") {
    gateway_fixture f;
    auto c = f.connect();
    c.send(hello(f.good_token(), 11));
    const auto w = c.receive();
    REQUIRE(w);
    REQUIRE(w->has_welcome());
    CHECK(w->req_id() == 11);
    CHECK(w->welcome().protocol_version() == 1);
    CHECK(w->welcome().tenant_id() == 1);
    CHECK(w->welcome().user_id() == 42);
    CHECK(w->welcome().device_id() == 7);
    CHECK(w->welcome().heartbeat_interval_ms() == 30'000);
    CHECK(w->welcome().limits().max_frame_bytes() == 65'536);
    CHECK(w->welcome().limits().inbound_burst() == 200);

    c.send(ping(12, 777));
    const auto pong = c.receive();
    REQUIRE(pong);
    REQUIRE(pong->has_pong());
    CHECK(pong->req_id() == 12);
    CHECK(pong->pong().client_time_ms() == 777);
    CHECK(pong->pong().server_time_ms() > 0);
}

TEST_CASE("bad tokens are refused, each with its code", "[integration][gateway]") {
    gateway_fixture f;
    struct bad_case {
        std::string name;
        std::string token;
        v1::ErrorCode code;
        v1::DisconnectReason reason;
    };
    const std::vector<bad_case> cases{
        {"expired",
         f.token("k1", f.k1.private_pem, [](auto& c) { c.expires_at = unix_now() - 120; }),
         v1::TOKEN_EXPIRED, v1::DISCONNECT_TOKEN_EXPIRED},
        {"not yet valid",
         f.token("k1", f.k1.private_pem, [](auto& c) { c.not_before = unix_now() + 600; }),
         v1::TOKEN_NOT_YET_VALID, v1::DISCONNECT_TOKEN_NOT_YET_VALID},
        {"bad signature", f.token("k1", f.stranger.private_pem), v1::TOKEN_INVALID,
         v1::DISCONNECT_AUTH_FAILED},
        {"wrong audience",
         f.token("k1", f.k1.private_pem, [](auto& c) { c.audience = "elsewhere"; }),
         v1::TOKEN_WRONG_AUDIENCE, v1::DISCONNECT_AUTH_FAILED},
        {"unknown kid", f.token("k9", f.k1.private_pem), v1::TOKEN_UNKNOWN_KEY,
         v1::DISCONNECT_AUTH_FAILED},
        {"another tenant's key", f.token("t2", f.t2.private_pem), v1::TOKEN_INVALID,
         v1::DISCONNECT_AUTH_FAILED},
        {"alg none", "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiI0MiJ9.",
         v1::TOKEN_ALG_NOT_ALLOWED, v1::DISCONNECT_AUTH_FAILED},
        {"HS256 when not enabled",
         gateway_fixture::token_with(auth::signing_key::hmac("k1", std::string(32, 'x')).value()),
         v1::TOKEN_ALG_NOT_ALLOWED, v1::DISCONNECT_AUTH_FAILED},
        {"garbage", "not-a-token", v1::TOKEN_INVALID, v1::DISCONNECT_AUTH_FAILED},
    };
    for (const auto& bad : cases) {
        CAPTURE(bad.name);
        auto c = f.connect();
        c.send(hello(bad.token));
        expect_refused(c, bad.code, bad.reason);
    }
    // The tenant-bound key works for its own tenant.
    auto c = f.connect();
    c.send(hello(f.token("t2", f.t2.private_pem, [](auto& claims) { claims.tenant = 2; })));
    const auto w = c.receive();
    REQUIRE(w);
    CHECK(w->has_welcome());
}

TEST_CASE("protocol violations close the connection with the right code",
          "[integration][gateway]") {
    gateway_fixture f;
    SECTION("a frame before Hello") {
        auto c = f.connect();
        c.send(ping(1));
        expect_refused(c, v1::HELLO_REQUIRED, v1::DISCONNECT_PROTOCOL_ERROR);
    }
    SECTION("Hello twice") {
        auto c = f.connect();
        c.send(hello(f.good_token()));
        REQUIRE(c.receive_until(v1::Frame::kWelcome));
        c.send(hello(f.good_token(), 2));
        expect_refused(c, v1::ALREADY_AUTHENTICATED, v1::DISCONNECT_PROTOCOL_ERROR);
    }
    SECTION("an unsupported protocol version") {
        auto c = f.connect();
        auto h = hello(f.good_token());
        h.mutable_hello()->set_protocol_version(2);
        c.send(h);
        expect_refused(c, v1::UNSUPPORTED_VERSION, v1::DISCONNECT_UNSUPPORTED_VERSION);
    }
    SECTION("an oversize length prefix") {
        auto c = f.connect();
        c.send_raw(std::string("\x00\x10\x00\x01", 4));  // 1 MiB + 1 > 64 KiB
        expect_refused(c, v1::FRAME_TOO_LARGE, v1::DISCONNECT_PROTOCOL_ERROR);
    }
    SECTION("garbage bytes") {
        auto c = f.connect();
        c.send_raw(std::string("\x00\x00\x00\x05\xff\xff\xff\xff\xff", 9));
        expect_refused(c, v1::BAD_FRAME, v1::DISCONNECT_PROTOCOL_ERROR);
    }
    SECTION("a zero length prefix") {
        auto c = f.connect();
        c.send_raw(std::string(4, '\0'));
        expect_refused(c, v1::BAD_FRAME, v1::DISCONNECT_PROTOCOL_ERROR);
    }
}

TEST_CASE("a bad client does not disturb the others", "[integration][gateway]") {
    gateway_fixture f;
    auto good = f.connect();
    good.send(hello(f.good_token()));
    REQUIRE(good.receive_until(v1::Frame::kWelcome));
    for (int i = 0; i < 20; ++i) {
        auto bad = f.connect();
        bad.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(bad.closed_within(5s));
        good.send(ping(100 + i));
        const auto pong = good.receive();
        REQUIRE(pong);
        CHECK(pong->pong().client_time_ms() == 0);
        CHECK(pong->req_id() == static_cast<std::uint64_t>(100 + i));
    }
}

TEST_CASE("no Hello within the auth deadline closes the connection", "[integration][gateway]") {
    gateway_fixture f([](server::config& c) { c.limits.auth_deadline_ms = 200; });
    auto c = f.connect();
    expect_refused(c, v1::AUTH_TIMEOUT, v1::DISCONNECT_IDLE_TIMEOUT);
}

TEST_CASE("an idle connection is closed after the idle timeout", "[integration][gateway]") {
    gateway_fixture f([](server::config& c) {
        c.limits.heartbeat_interval_ms = 100;
        c.limits.idle_timeout_ms = 400;
    });
    auto c = f.connect();
    c.send(hello(f.good_token()));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    const auto d = c.receive_until(v1::Frame::kDisconnect, 10s);
    REQUIRE(d);
    CHECK(d->disconnect().reason() == v1::DISCONNECT_IDLE_TIMEOUT);
    CHECK(d->disconnect().reconnect());
    CHECK(c.closed_within(5s));
}

TEST_CASE("a connection is closed when its token expires, even while busy",
          "[integration][gateway]") {
    gateway_fixture f([](server::config& c) { c.auth.max_skew_seconds = 0; });
    auto c = f.connect();
    c.send(hello(f.token("k1", f.k1.private_pem,
                         [](auth::token_claims& t) { t.expires_at = unix_now() + 2; })));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    // Activity does not extend a token's life.
    std::optional<v1::Frame> d;
    for (std::uint64_t i = 2; !d && i < 200; ++i) {
        c.send(ping(i));
        d = c.receive_until(v1::Frame::kDisconnect, 100ms);
    }
    REQUIRE(d);
    CHECK(d->disconnect().reason() == v1::DISCONNECT_TOKEN_EXPIRED);
    CHECK(d->disconnect().code() == v1::TOKEN_EXPIRED);
    CHECK(d->disconnect().reconnect());
    CHECK(c.closed_within(5s));
}

TEST_CASE("the inbound rate limit answers RATE_LIMITED and then disconnects a flood",
          "[integration][gateway]") {
    gateway_fixture f([](server::config& c) {
        c.limits.inbound_frames_per_second = 1;
        c.limits.inbound_burst = 5;
    });
    auto c = f.connect();
    c.send(hello(f.good_token()));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    for (int i = 0; i < 20; ++i) c.send(ping(i + 2));
    bool limited = false;
    std::optional<v1::Frame> frame;
    while ((frame = c.receive(5s))) {
        if (frame->has_error() && frame->error().code() == v1::RATE_LIMITED) {
            limited = true;
            CHECK(frame->error().retryable());
            CHECK(frame->error().retry_after_ms() > 0);
            CHECK(frame->req_id() >= 2);  // the refused request is named
        }
        if (frame->has_disconnect()) {
            CHECK(frame->disconnect().reason() == v1::DISCONNECT_RATE_LIMITED);
            break;
        }
    }
    CHECK(limited);
    REQUIRE(frame);
    CHECK(frame->has_disconnect());
}

TEST_CASE("a bad request is answered with an error and the connection stays open",
          "[integration][gateway]") {
    gateway_fixture f;
    auto c = f.connect();
    c.send(hello(f.good_token()));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    v1::Frame send;
    send.set_req_id(5);
    send.mutable_send()->set_client_msg_id("x");  // no conversation
    c.send(send);
    const auto e = c.receive();
    REQUIRE(e);
    REQUIRE(e->has_error());
    CHECK(e->req_id() == 5);
    CHECK(e->error().code() == v1::INVALID_ARGUMENT);
    CHECK_FALSE(e->error().retryable());
    c.send(ping(6));
    const auto pong = c.receive();
    REQUIRE(pong);
    CHECK(pong->has_pong());
}
