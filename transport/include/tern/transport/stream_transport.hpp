// The transport of a connection over a byte stream (TCP, TLS), server or client side, with the
// reader of its framing: 4-byte length-prefixed frames (wire::stream_reader), or, on the server,
// WebSocket frames after the upgrade (wire::ws_reader; frames written with framing::websocket).
// The SDK's WebSocket transport (ws_transport.hpp, Beast) offers the same operations.
#pragma once

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <tern/wire/frame_codec.hpp>
#include <tern/wire/ws_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::transport {

template <class Executor>
auto& raw_socket(boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>& s) {
    return s;
}
inline boost::asio::ip::tcp::socket& raw_socket(boost::beast::tcp_stream& s) { return s.socket(); }

template <class Stream, class Reader = wire::stream_reader>
class stream_transport {
public:
    static constexpr wire::framing framing = Reader::framing;

    stream_transport(Stream stream, std::size_t max_frame_size)
        : stream_(std::move(stream)), reader_(max_frame_size) {}

    // Bytes that arrived with what came before this transport (the WebSocket upgrade request).
    void preload(std::string_view bytes) {
        while (!bytes.empty()) {
            auto space = reader_.prepare(bytes.size());
            const auto n = std::min(space.size(), bytes.size());
            std::memcpy(space.data(), bytes.data(), n);
            reader_.commit(n);
            bytes.remove_prefix(n);
        }
    }

    // Decodes the next Frame from the bytes already received: frame, need_more (call
    // async_fill), or error (tern::wire::errc for bad bytes; eof once the peer closed in band).
    [[nodiscard]] wire::split_status next(v1::Frame& out, boost::system::error_code& ec) {
        const auto status = reader_.next(out, ec);
        if (status != wire::split_status::closed) return status;
        ec = boost::asio::error::eof;
        return wire::split_status::error;
    }

    // A control frame the framing owes the peer (a WebSocket Pong or Close echo), encoded.
    [[nodiscard]] bool take_reply(wire::out_frame& out) {
        if constexpr (requires(std::string & s) { reader_.take_reply(s); }) {
            out.shared.reset();
            return reader_.take_reply(out.head);
        } else {
            return false;
        }
    }

    // Receives more bytes; completes with an error_code. An idle connection holds no receive
    // buffer: a stream that can wait (a socket; the server's net::tls_socket, whose read wait
    // ends at once when OpenSSL already holds bytes) waits for bytes first and takes the buffer
    // once they are there; Asio's ssl::stream (the SDK's) cannot, and reads at once. The server
    // calls it with a callback, which holds no coroutine frame while idle.
    template <class CompletionToken>
    auto async_fill(CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code)>(
            fill_op{this}, token, stream_);
    }

    // Writes the frames in one gathered write (queued frames coalesced); completes with
    // (error_code, bytes). `frames` must outlive the operation. The server calls it with a
    // callback: a coroutine per write would cost a frame allocation per push.
    template <class CompletionToken>
    auto async_write_frames(const std::vector<wire::out_frame>& frames, CompletionToken&& token) {
        buffers_.clear();
        for (const auto& f : frames) {
            buffers_.emplace_back(f.head.data(), f.head.size());
            if (f.shared) buffers_.emplace_back(f.shared->data(), f.shared->size());
        }
        return boost::asio::async_write(stream_, buffers_, std::forward<CompletionToken>(token));
    }

    boost::asio::awaitable<boost::system::error_code> write(
        const std::vector<wire::out_frame>& frames) {
        auto [ec, n] =
            co_await async_write_frames(frames, boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return ec;
    }

    // The TCP socket underneath (to poll it without reading, or to drain it when closing).
    [[nodiscard]] auto& lowest_socket() {
        return raw_socket(boost::beast::get_lowest_layer(stream_));
    }
    [[nodiscard]] int native_handle() { return lowest_socket().native_handle(); }

    // Closes the socket. Over TLS no close_notify is sent: the Disconnect frame already said
    // goodbye, and a peer that does not read must not hold the connection open.
    void close() {
        boost::system::error_code ignored;
        lowest_socket().shutdown(boost::asio::socket_base::shutdown_both, ignored);
        lowest_socket().close(ignored);
    }

private:
    // Waits for the socket to be readable when nothing is buffered (plain sockets), then reads
    // what is there. Both steps are asynchronous, so the op never completes inline.
    struct fill_op {
        stream_transport* transport;
        enum class step { start, waited, received } at = step::start;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
            auto& reader = transport->reader_;
            switch (at) {
                case step::start:
                    if constexpr (requires { typename Stream::wait_type; }) {
                        if (reader.buffered() == 0) {
                            reader.release_if_empty();
                            at = step::waited;
                            transport->stream_.async_wait(Stream::wait_read, std::move(self));
                            return;
                        }
                    }
                    break;
                case step::waited:
                    if (ec) return self.complete(ec);
                    break;
                case step::received:
                    if (!ec) reader.commit(n);
                    return self.complete(ec);
            }
            at = step::received;
            auto space = reader.prepare(2048);
            transport->stream_.async_read_some(boost::asio::buffer(space.data(), space.size()),
                                               std::move(self));
        }
    };

    Stream stream_;
    Reader reader_;
    std::vector<boost::asio::const_buffer> buffers_;
};

}  // namespace tern::transport
