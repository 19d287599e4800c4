// The TLS and WebSocket-over-TLS listeners: TLS 1.2+ only, the same protocol as TCP.
#include <optional>
#include <thread>

#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"
#include "tern/v1/events.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

// A gateway with the TLS and WSS listeners on a fresh certificate; 0 keeps a limit's default.
struct tls_fixture {
    explicit tls_fixture(std::uint32_t auth_deadline_ms = 0, std::uint32_t max_handshakes = 0)
        : f([this, auth_deadline_ms, max_handshakes](server::config& c) {
              c.listen.tls = "127.0.0.1:0";
              c.listen.wss = "127.0.0.1:0";
              c.tls.cert_file = files.first;
              c.tls.key_file = files.second;
              if (auth_deadline_ms != 0) c.limits.auth_deadline_ms = auth_deadline_ms;
              if (max_handshakes != 0) c.limits.max_tls_handshakes = max_handshakes;
          }) {}

    temp_dir certs{"tern-certs"};
    std::pair<std::string, std::string> files = make_test_certificate(certs);
    gateway_fixture f;
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

TEST_CASE("a silent or stalled TLS handshake is cut off at the auth deadline",
          "[integration][tls][abuse]") {
    tls_fixture t(1000);
    auto& f = t.f;
    raw_client silent(f.gw->tls_port());
    raw_client stalled(f.gw->tls_port());
    stalled.send_raw(std::string("\x16\x03\x01\x02\x00\x01", 6));  // a ClientHello's first bytes
    CHECK(silent.closed_within(10s));
    CHECK(stalled.closed_within(10s));
    CHECK(metric(f.gw->admin_port(),
                 R"(tern_connections_rejected_total{reason="tls_handshake"})") == 2);
    // The listener still serves.
    tls_client ok(f.gw->tls_port(), t.files.first);
    ok.send(hello(f.good_token()));
    const auto welcome = ok.receive();
    REQUIRE(welcome);
    CHECK(welcome->has_welcome());
}

TEST_CASE("at the bound on TLS handshakes the listeners wait until one ends",
          "[integration][tls][abuse]") {
    tls_fixture t(0, 2);
    auto& f = t.f;
    const auto admin = f.gw->admin_port();
    const auto value = [&](const char* series) { return metric(admin, series); };
    const auto eventually = [](auto&& holds) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        for (;;) {
            if (holds()) return true;
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(10ms);
        }
    };
    constexpr auto in_progress = "tern_tls_handshakes_in_progress";
    constexpr auto accepted = R"(tern_connections_accepted_total{transport="tls"})";
    constexpr auto accepted_wss = R"(tern_connections_accepted_total{transport="wss"})";

    // Two clients that never speak fill the bound.
    std::optional<raw_client> silent_1(std::in_place, f.gw->tls_port());
    std::optional<raw_client> silent_2(std::in_place, f.gw->tls_port());
    REQUIRE(eventually([&] { return value(in_progress) == 2; }));
    // More wait, on either TLS listener: neither starts their handshakes (each listener holds
    // one socket, the rest stay in the kernel's backlog).
    std::optional<raw_client> waiting(std::in_place, f.gw->tls_port());
    std::optional<raw_client> waiting_wss(std::in_place, f.gw->wss_port());
    std::optional<raw_client> waiting_more(std::in_place, f.gw->tls_port());
    std::this_thread::sleep_for(300ms);
    CHECK(value(accepted) == 2);
    CHECK(value(accepted_wss) == 0);
    CHECK(value(in_progress) == 2);

    // One silent client goes: its handshake ends, and one waiting connection is taken.
    silent_1.reset();
    REQUIRE(eventually([&] { return value(accepted) + value(accepted_wss) == 3; }));
    CHECK(value(R"(tern_connections_rejected_total{reason="tls_handshake"})") == 1);
    CHECK(value(in_progress) == 2);

    // Once the bound has room again, a client completes its handshake and logs in.
    silent_2.reset();
    waiting.reset();
    waiting_wss.reset();
    waiting_more.reset();
    // Every held or queued socket is taken in turn and fails; then none is in progress.
    REQUIRE(eventually(
        [&] { return value(R"(tern_connections_rejected_total{reason="tls_handshake"})") == 5; }));
    CHECK(value(accepted) + value(accepted_wss) == 5);
    CHECK(value(in_progress) == 0);
    tls_client ok(f.gw->tls_port(), t.files.first);
    ok.send(hello(f.good_token()));
    const auto welcome = ok.receive();
    REQUIRE(welcome);
    CHECK(welcome->has_welcome());
    CHECK(value(in_progress) == 0);
}

TEST_CASE("TLS carries frames larger than a record and bursts of small ones, in order",
          "[integration][tls]") {
    tls_fixture t;
    tls_client bob(t.f.gw->tls_port(), t.files.first);
    bob.send(hello(t.f.token_for(1, 9, 90)));
    REQUIRE(bob.receive_until(v1::Frame::kWelcome));
    auto alice = t.f.login(1, 7, 70);

    // The largest content allowed: its frame spans two TLS records both ways.
    const std::string big(16 * 1024, 'x');
    bob.send(send_text(1, direct(9, 7), big, "big-1"));
    REQUIRE(bob.receive_reply(1));
    const auto big_push = alice->receive_until(v1::Frame::kPush);
    REQUIRE(big_push);
    CHECK(big_push->push().event().message().content().text() == big);
    const auto echo = bob.receive_until(v1::Frame::kPush);  // the sender's own devices get it too
    REQUIRE(echo);
    CHECK(echo->push().event().message().content().text() == big);

    // A burst: the server writes queued pushes gathered into records.
    constexpr int burst = 150;  // within the inbound burst (200 frames)
    for (int i = 0; i < burst; ++i) {
        alice->send(
            send_text(100 + i, direct(7, 9), std::to_string(i), "burst-" + std::to_string(i)));
    }
    for (int i = 0; i < burst; ++i) {
        const auto push = bob.receive_until(v1::Frame::kPush);
        REQUIRE(push);
        CHECK(push->push().event().message().content().text() == std::to_string(i));
    }
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
