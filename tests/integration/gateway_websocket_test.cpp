// The WebSocket listener: subprotocol tern.v1, binary messages only, Origin allow-list, frame
// limit, and the same protocol as TCP (a WebSocket device and a TCP device talk to each other).
#include <array>
#include <thread>

#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "tern/v1/events.pb.h"
#include "ws_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

void with_ws(server::config& c) { c.listen.ws = "127.0.0.1:0"; }

// Writes `request` on a new connection and returns what the server sends within a second.
std::string exchange_raw(std::uint16_t port, const std::string& request) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(socket, boost::asio::buffer(request));
    std::string received;
    std::array<char, 4096> chunk{};
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    socket.non_blocking(true);
    while (std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        const auto n = socket.read_some(boost::asio::buffer(chunk), ec);
        if (ec == boost::asio::error::would_block) {
            std::this_thread::sleep_for(10ms);
            continue;
        }
        if (ec) break;
        received.append(chunk.data(), n);
    }
    return received;
}

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

TEST_CASE("a WebSocket Ping is answered, a Close echoed, and early frames are read",
          "[integration][websocket]") {
    gateway_fixture f(with_ws);
    ws_client bob(f.gw->ws_port());
    bob.send(hello(f.token_for(1, 9, 90)));
    REQUIRE(bob.receive_until(v1::Frame::kWelcome));
    CHECK(bob.ping_answered("are you there", ping(3, 5)));
    CHECK(bob.close_cleanly());

    // A client that sends its Hello in the same write as its upgrade request is served.
    std::string hello_bytes;
    REQUIRE_FALSE(wire::encode_message(hello(f.token_for(1, 8, 80)), hello_bytes, 1 << 16));
    REQUIRE(hello_bytes.size() >= 126);
    REQUIRE(hello_bytes.size() <= 0xffff);
    std::string frame{static_cast<char>(0x82), static_cast<char>(0x80 | 126),  // FIN, binary
                      static_cast<char>(hello_bytes.size() >> 8),
                      static_cast<char>(hello_bytes.size() & 0xff)};
    frame.append(4, '\0');  // a zero mask leaves the payload as it is
    frame += hello_bytes;
    const auto reply = exchange_raw(
        f.gw->ws_port(),
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: tern.v1\r\n\r\n" +
            frame);
    // The 101 with the RFC's example accept key, then the Welcome in one unmasked server frame.
    CHECK(reply.rfind("HTTP/1.1 101", 0) == 0);
    CHECK(reply.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string::npos);
    const auto body = reply.find("\r\n\r\n");
    REQUIRE(body != std::string::npos);
    const auto ws = reply.substr(body + 4);
    REQUIRE(ws.size() >= 2);
    CHECK(static_cast<std::uint8_t>(ws[0]) == 0x82);
    std::size_t length = static_cast<std::uint8_t>(ws[1]);
    std::size_t header = 2;
    if (length == 126) {
        REQUIRE(ws.size() >= 4);
        length = (static_cast<std::size_t>(static_cast<std::uint8_t>(ws[2])) << 8) |
                 static_cast<std::uint8_t>(ws[3]);
        header = 4;
    }
    REQUIRE(ws.size() >= header + length);
    v1::Frame welcome;
    REQUIRE_FALSE(wire::decode_frame(
        {reinterpret_cast<const std::uint8_t*>(ws.data()) + header, length}, welcome, 1 << 16));
    CHECK(welcome.welcome().user_id() == 8);
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
    ws_client native(f.gw->ws_port(), "tern.v1", "", &ec);  // no Origin: not a browser
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
