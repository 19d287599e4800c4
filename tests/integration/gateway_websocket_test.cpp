// The WebSocket listener: subprotocol tern.v1, binary messages only, Origin allow-list, frame
// limit, and the same protocol as TCP (a WebSocket device and a TCP device talk to each other).
#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "tern/v1/events.pb.h"
#include "ws_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

void with_ws(server::config& c) { c.listen.ws = "127.0.0.1:0"; }

}  // namespace

TEST_CASE("a WebSocket device and a TCP device exchange messages", "[integration][websocket]") {
    gateway_fixture f(with_ws);
    ws_client bob(f.gw->ws_port());
    CHECK(bob.upgrade_response()[boost::beast::http::field::sec_websocket_protocol] == "tern.v1");
    bob.send(hello(f.token_for(1, 9, 90)));
    const auto welcome = bob.receive();
    REQUIRE(welcome);
    REQUIRE(welcome->has_welcome());
    CHECK(welcome->welcome().user_id() == 9);

    auto alice = f.login(1, 7, 70);
    alice->send(send_text(2, direct(7, 9), "over the web", "ws-1"));
    REQUIRE(alice->receive_reply(2));

    const auto push = bob.receive_until(v1::Frame::kPush);
    REQUIRE(push);
    CHECK(push->push().inbox_seq() == 1);
    CHECK(push->push().event().message().content().text() == "over the web");

    bob.send(ping(3, 5));
    const auto pong = bob.receive_until(v1::Frame::kPong);
    REQUIRE(pong);
    CHECK(pong->req_id() == 3);
}

TEST_CASE("an upgrade without the tern.v1 subprotocol is refused", "[integration][websocket]") {
    gateway_fixture f(with_ws);
    boost::system::error_code ec;
    ws_client c(f.gw->ws_port(), "chat.v2", {}, &ec);
    CHECK(ec);
    ws_client none(f.gw->ws_port(), "", {}, &ec);
    CHECK(ec);
}

TEST_CASE("the Origin allow-list is enforced when configured", "[integration][websocket]") {
    gateway_fixture f([](server::config& c) {
        c.listen.ws = "127.0.0.1:0";
        c.websocket.allowed_origins = {"https://app.example"};
    });
    boost::system::error_code ec;
    ws_client evil(f.gw->ws_port(), "tern.v1", "https://evil.example", &ec);
    CHECK(ec);
    ws_client good(f.gw->ws_port(), "tern.v1", "https://app.example", &ec);
    CHECK_FALSE(ec);
}

TEST_CASE("a text message is a protocol error", "[integration][websocket]") {
    gateway_fixture f(with_ws);
    ws_client c(f.gw->ws_port());
    c.send(hello(f.good_token()));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    c.send_text("{\"hello\": true}");
    const auto error = c.receive_until(v1::Frame::kError);
    REQUIRE(error);
    CHECK(error->error().code() == v1::TEXT_MESSAGE);
    const auto disconnect = c.receive_until(v1::Frame::kDisconnect);
    REQUIRE(disconnect);
    CHECK(disconnect->disconnect().reason() == v1::DISCONNECT_PROTOCOL_ERROR);
    CHECK(c.closed_within(5s));
}

TEST_CASE("a message above the frame limit closes the connection", "[integration][websocket]") {
    gateway_fixture f(with_ws);
    ws_client c(f.gw->ws_port());
    c.send(hello(f.good_token()));
    REQUIRE(c.receive_until(v1::Frame::kWelcome));
    v1::Frame send;
    send.set_req_id(9);
    send.mutable_send()->set_client_msg_id(std::string(70 * 1024, 'x'));
    c.send(send);
    // The WebSocket layer refuses the message as it arrives and closes with code 1009 (message
    // too big); no frame of it is ever buffered whole.
    CHECK(c.closed_within(5s));
}
