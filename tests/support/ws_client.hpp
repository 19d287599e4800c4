// A WebSocket protocol client for integration tests (Beast), with every wait bounded.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <tern/wire/frame_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::test {

class ws_client {
public:
    // Connects and upgrades; `upgrade_error` receives the failure instead of throwing when set.
    ws_client(std::uint16_t port, const std::string& subprotocol = "tern.v1",
              const std::string& origin = {}, boost::system::error_code* upgrade_error = nullptr)
        : ws_(context_) {
        auto& socket = ws_.next_layer();
        socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        ws_.set_option(boost::beast::websocket::stream_base::decorator(
            [subprotocol, origin](boost::beast::websocket::request_type& req) {
                if (!subprotocol.empty()) {
                    req.set(boost::beast::http::field::sec_websocket_protocol, subprotocol);
                }
                if (!origin.empty()) req.set(boost::beast::http::field::origin, origin);
            }));
        boost::system::error_code ec;
        ws_.handshake(response_, "127.0.0.1", "/", ec);
        if (upgrade_error) {
            *upgrade_error = ec;
        } else if (ec) {
            throw boost::system::system_error(ec);
        }
        ws_.binary(true);
    }

    [[nodiscard]] const boost::beast::websocket::response_type& upgrade_response() const {
        return response_;
    }

    void send(const v1::Frame& frame) {
        std::string out;
        if (wire::encode_message(frame, out, 1 << 24)) throw std::runtime_error("encode");
        boost::system::error_code ec;
        ws_.binary(true);
        ws_.write(boost::asio::buffer(out), ec);
    }

    void send_text(const std::string& text) {
        boost::system::error_code ec;
        ws_.text(true);
        ws_.write(boost::asio::buffer(text), ec);
        ws_.binary(true);
    }

    // Sends a WebSocket Ping, then `app_ping` (a protocol Ping), and reads until the protocol
    // Pong: true when the WebSocket Pong came before it, as the server answers in order.
    bool ping_answered(const std::string& payload, const v1::Frame& app_ping) {
        namespace websocket = boost::beast::websocket;
        bool answered = false;
        ws_.control_callback([&](websocket::frame_type kind, boost::beast::string_view data) {
            if (kind == websocket::frame_type::pong && data == payload) answered = true;
        });
        ws_.ping(websocket::ping_data(payload.c_str()));
        send(app_ping);
        const auto pong = receive_until(v1::Frame::kPong);
        ws_.control_callback();
        return pong && answered;
    }

    // Closes with a WebSocket Close; true when the server echoed it (a clean close).
    bool close_cleanly(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        bool done = false;
        boost::system::error_code result;
        ws_.async_close(boost::beast::websocket::close_code::normal,
                        [&](boost::system::error_code ec) {
                            done = true;
                            result = ec;
                        });
        return run(done, timeout) && !result;
    }

    // The next frame, or nullopt on close or deadline.
    std::optional<v1::Frame> receive(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        boost::beast::flat_buffer buffer;
        bool done = false;
        boost::system::error_code result;
        ws_.async_read(buffer, [&](boost::system::error_code ec, std::size_t) {
            done = true;
            result = ec;
        });
        if (!run(done, timeout)) return std::nullopt;
        if (result) {
            closed_ = true;
            return std::nullopt;
        }
        v1::Frame f;
        const auto data = buffer.cdata();
        if (wire::decode_frame({static_cast<const std::uint8_t*>(data.data()), data.size()}, f,
                               1 << 24)) {
            return std::nullopt;
        }
        return f;
    }

    std::optional<v1::Frame> receive_until(
        v1::Frame::BodyCase body, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto f = receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!f) return std::nullopt;
            if (f->body_case() == body) return f;
        }
        return std::nullopt;
    }

    bool closed_within(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!closed_ && std::chrono::steady_clock::now() < deadline) {
            receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
        }
        return closed_;
    }

private:
    // Runs the started operation until it sets `done` or the timeout passes; then it is
    // cancelled (which leaves Beast's stream unusable) and false is returned.
    bool run(const bool& done, std::chrono::milliseconds timeout) {
        context_.restart();
        context_.run_for(timeout);
        if (done) return true;
        ws_.next_layer().cancel();
        context_.restart();
        context_.run();
        return false;
    }

    boost::asio::io_context context_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
    boost::beast::websocket::response_type response_;
    bool closed_ = false;
};

}  // namespace tern::test
