// A raw protocol client for integration tests: frames in, frames out, over TCP, with every wait
// bounded by a deadline. It speaks bytes, not the SDK, so tests can send anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <tern/wire/frame_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::test {

// Stream: boost::asio::ip::tcp::socket (raw_client) or ssl::stream of it (tls_client).
template <class Stream>
class basic_raw_client {
public:
    static constexpr bool is_tls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

    // For TLS, `ca_file` is the certificate to trust (the server's, self-signed in tests) and
    // `max_version` caps the protocol version the client offers (0: no cap).
    // `receive_buffer` > 0 shrinks the socket's receive buffer (to play a slow reader).
    explicit basic_raw_client(std::uint16_t port, const std::string& ca_file = {},
                              int max_version = 0, std::size_t max_frame = 1 << 20,
                              int receive_buffer = 0)
        : tls_context_(boost::asio::ssl::context::tls_client),
          socket_(make_stream(context_, tls_context_)),
          reader_(max_frame) {
        auto& socket = lowest();
        if (receive_buffer > 0) {
            socket.open(boost::asio::ip::tcp::v4());
            socket.set_option(boost::asio::socket_base::receive_buffer_size(receive_buffer));
        }
        socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        socket.set_option(boost::asio::ip::tcp::no_delay(true));
        if constexpr (is_tls) {
            if (!ca_file.empty()) {
                tls_context_.load_verify_file(ca_file);
                socket_.set_verify_mode(boost::asio::ssl::verify_peer);
            }
            if (max_version != 0) SSL_set_max_proto_version(socket_.native_handle(), max_version);
            socket_.handshake(boost::asio::ssl::stream_base::client);  // throws when refused
        }
    }

    void send(const v1::Frame& frame) {
        std::string out;
        if (wire::append_stream_frame(frame, out, 1 << 24)) throw std::runtime_error("encode");
        send_raw(out);
    }

    void send_raw(const std::string& bytes) {
        boost::system::error_code ec;
        boost::asio::write(socket_, boost::asio::buffer(bytes), ec);  // the server may have closed
    }

    // The next frame, or nullopt if the connection closed or the deadline passed first. Frames
    // set aside by receive_until() and receive_reply() come first, in arrival order.
    std::optional<v1::Frame> receive(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        if (!stash_.empty()) {
            auto f = std::move(stash_.front());
            stash_.pop_front();
            return f;
        }
        return receive_wire(timeout);
    }

    // The reply to request `req_id` (an Error, or its answer); other frames are set aside for
    // receive(). nullopt on close or deadline.
    std::optional<v1::Frame> receive_reply(
        std::uint64_t req_id, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return receive_matching([&](const v1::Frame& f) { return f.req_id() == req_id; }, timeout);
    }

    // The first frame with `body`; other frames are set aside for receive().
    std::optional<v1::Frame> receive_until(
        v1::Frame::BodyCase body, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return receive_matching([&](const v1::Frame& f) { return f.body_case() == body; }, timeout);
    }

    // True once the server has closed the connection (reading the frames it sent before).
    bool closed_within(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!closed_ && std::chrono::steady_clock::now() < deadline) {
            receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
        }
        return closed_;
    }

private:
    template <class Match>
    std::optional<v1::Frame> receive_matching(Match&& match, std::chrono::milliseconds timeout) {
        for (auto it = stash_.begin(); it != stash_.end(); ++it) {
            if (match(*it)) {
                auto f = std::move(*it);
                stash_.erase(it);
                return f;
            }
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto f = receive_wire(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!f) return std::nullopt;
            if (match(*f)) return f;
            stash_.push_back(std::move(*f));
        }
        return std::nullopt;
    }

    std::optional<v1::Frame> receive_wire(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            v1::Frame frame;
            boost::system::error_code ec;
            const auto status = reader_.next(frame, ec);
            if (status == wire::split_status::frame) return frame;
            if (status == wire::split_status::error) return std::nullopt;
            if (closed_) return std::nullopt;
            auto space = reader_.prepare(4096);
            std::size_t got = 0;
            bool done = false;
            socket_.async_read_some(boost::asio::buffer(space.data(), space.size()),
                                    [&](const boost::system::error_code& e, std::size_t n) {
                                        done = true;
                                        got = n;
                                        if (e && e != boost::asio::error::operation_aborted) {
                                            closed_ = true;
                                        }
                                    });
            context_.restart();
            context_.run_until(deadline);
            if (!done) {
                lowest().cancel();
                context_.restart();
                context_.run();
                reader_.commit(got);
                return std::nullopt;  // timed out (or closed just then)
            }
            reader_.commit(got);
        }
    }

    static Stream make_stream(boost::asio::io_context& io, boost::asio::ssl::context& tls) {
        if constexpr (is_tls) {
            return Stream(io, tls);
        } else {
            return Stream(io);
        }
    }
    boost::asio::ip::tcp::socket& lowest() {
        if constexpr (is_tls) {
            return socket_.next_layer();
        } else {
            return socket_;
        }
    }

    std::deque<v1::Frame> stash_;
    boost::asio::io_context context_;
    boost::asio::ssl::context tls_context_;
    Stream socket_;
    wire::stream_reader reader_;
    bool closed_ = false;
};

using raw_client = basic_raw_client<boost::asio::ip::tcp::socket>;
using tls_client = basic_raw_client<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace tern::test
