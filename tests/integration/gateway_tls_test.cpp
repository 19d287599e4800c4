// The TLS and WebSocket-over-TLS listeners: TLS 1.2+ only, the same protocol as TCP.
#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "tern/v1/events.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

struct tls_fixture {
    temp_dir certs{"tern-certs"};
    std::pair<std::string, std::string> files = make_test_certificate(certs);
    gateway_fixture f{[this](server::config& c) {
        c.listen.tls = "127.0.0.1:0";
        c.listen.wss = "127.0.0.1:0";
        c.tls.cert_file = files.first;
        c.tls.key_file = files.second;
    }};
};

}  // namespace

TEST_CASE("a TLS device and a TCP device exchange messages", "[integration][tls]") {
    tls_fixture t;
    tls_client bob(t.f.gw->tls_port(), t.files.first);
    bob.send(hello(t.f.token_for(1, 9, 90)));
    const auto welcome = bob.receive();
    REQUIRE(welcome);
    REQUIRE(welcome->has_welcome());

    auto alice = t.f.login(1, 7, 70);
    alice->send(send_text(2, direct(7, 9), "encrypted", "tls-1"));
    REQUIRE(alice->receive_reply(2));
    const auto push = bob.receive_until(v1::Frame::kPush);
    REQUIRE(push);
    CHECK(push->push().event().message().content().text() == "encrypted");
}

TEST_CASE("TLS 1.1 and plain bytes are refused on the TLS port", "[integration][tls]") {
    tls_fixture t;
    CHECK_THROWS(tls_client(t.f.gw->tls_port(), t.files.first, TLS1_1_VERSION));
    raw_client plain(t.f.gw->tls_port());
    plain.send(hello(t.f.good_token()));
    CHECK(plain.closed_within(5s));
    // TLS 1.2 is accepted.
    tls_client v12(t.f.gw->tls_port(), t.files.first, TLS1_2_VERSION);
    v12.send(hello(t.f.good_token()));
    const auto w = v12.receive();
    REQUIRE(w);
    CHECK(w->has_welcome());
}

TEST_CASE("WebSocket over TLS speaks the protocol", "[integration][tls][websocket]") {
    tls_fixture t;
    namespace ssl = boost::asio::ssl;
    namespace websocket = boost::beast::websocket;
    boost::asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(t.files.first);
    websocket::stream<ssl::stream<boost::asio::ip::tcp::socket>> ws(io, ctx);
    ws.next_layer().set_verify_mode(ssl::verify_peer);
    boost::beast::get_lowest_layer(ws).connect(
        {boost::asio::ip::make_address("127.0.0.1"), t.f.gw->wss_port()});
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(boost::beast::http::field::sec_websocket_protocol, "tern.v1");
    }));
    ws.handshake("127.0.0.1", "/");
    ws.binary(true);
    std::string out;
    REQUIRE_FALSE(wire::encode_message(hello(t.f.good_token()), out, 1 << 16));
    ws.write(boost::asio::buffer(out));
    boost::beast::flat_buffer buffer;
    ws.read(buffer);  // the server answers at once; a failure closes, which throws here
    v1::Frame welcome;
    const auto data = buffer.cdata();
    REQUIRE_FALSE(wire::decode_frame({static_cast<const std::uint8_t*>(data.data()), data.size()},
                                     welcome, 1 << 16));
    CHECK(welcome.has_welcome());
    CHECK(welcome.welcome().user_id() == 42);
}
