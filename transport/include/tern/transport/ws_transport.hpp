// The SDK's transport of a WebSocket connection (ws, and wss over TLS), on Beast's WebSocket
// stream: subprotocol tern.v1, one binary message per Frame, messages bounded by the frame limit,
// no compression. A text message is a protocol error (errc::text_message). The server frames
// WebSocket itself (stream_transport with wire::ws_reader), holding no buffer while idle.
#pragma once

#include <array>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <tern/wire/frame_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::transport {

template <class NextLayer>
class ws_transport {
public:
    static constexpr wire::framing framing = wire::framing::message;
    using stream_type = boost::beast::websocket::stream<NextLayer>;

    ws_transport(stream_type stream, std::size_t max_frame_size)
        : stream_(std::move(stream)), max_frame_size_(max_frame_size) {
        stream_.read_message_max(max_frame_size);
        stream_.binary(true);
    }

    // Decodes the message async_fill received: frame, need_more (nothing received), or error
    // (tern::wire::errc: a text message, or bytes that are no Frame).
    [[nodiscard]] wire::split_status next(v1::Frame& out, boost::system::error_code& ec) {
        if (!has_message_) return wire::split_status::need_more;
        has_message_ = false;
        const auto data = buffer_.cdata();
        if (!stream_.got_binary()) {
            ec = wire::errc::text_message;
        } else {
            ec = wire::decode_frame({static_cast<const std::uint8_t*>(data.data()), data.size()},
                                    out, max_frame_size_);
        }
        buffer_.consume(buffer_.size());
        buffer_.shrink_to_fit();  // an idle connection holds no receive buffer
        return ec ? wire::split_status::error : wire::split_status::frame;
    }

    // Receives the next message; completes with an error_code (the stream's, or
    // errc::frame_too_large).
    template <class CompletionToken>
    auto async_fill(CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code)>(
            fill_op{this}, token, stream_);
    }

    // One message per frame; Beast writes each as one WebSocket message. Completes with
    // (error_code, bytes) after the last frame or the first error; `frames` (never empty: the
    // callers write only when something is queued) must outlive it.
    template <class CompletionToken>
    auto async_write_frames(const std::vector<wire::out_frame>& frames, CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken,
                                          void(boost::system::error_code, std::size_t)>(
            write_frames_op{this, &frames}, token, stream_);
    }

    boost::asio::awaitable<boost::system::error_code> write(
        const std::vector<wire::out_frame>& frames) {
        auto [ec, n] =
            co_await async_write_frames(frames, boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return ec;
    }

    // The TCP socket underneath (to poll it without reading, or to drain it when closing).
    [[nodiscard]] boost::asio::ip::tcp::socket& lowest_socket() {
        return boost::beast::get_lowest_layer(stream_).socket();
    }
    [[nodiscard]] int native_handle() { return lowest_socket().native_handle(); }

    void close() {
        boost::system::error_code ignored;
        lowest_socket().shutdown(boost::asio::socket_base::shutdown_both, ignored);
        lowest_socket().close(ignored);
    }

private:
    struct fill_op {
        ws_transport* transport;
        bool started = false;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
            if (!started) {
                started = true;
                return transport->stream_.async_read(transport->buffer_, std::move(self));
            }
            if (ec == boost::beast::websocket::error::message_too_big) {
                ec = wire::make_error_code(wire::errc::frame_too_large);
            }
            transport->has_message_ = !ec;
            self.complete(ec);
        }
    };

    // The composed write: one async_write per frame, in order.
    struct write_frames_op {
        ws_transport* transport;
        const std::vector<wire::out_frame>* frames;
        std::size_t next = 0;
        std::size_t written = 0;
        bool started = false;

        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
            if (started) {
                written += n;
                if (ec) return self.complete(ec, written);
            }
            started = true;
            if (next == frames->size()) return self.complete({}, written);
            const auto& f = (*frames)[next++];
            // Beast keeps its own copy of the buffer sequence (not of the bytes).
            const std::array<boost::asio::const_buffer, 2> parts{
                boost::asio::buffer(f.head),
                f.shared ? boost::asio::buffer(*f.shared) : boost::asio::const_buffer{}};
            transport->stream_.async_write(parts, std::move(self));
        }
    };

    stream_type stream_;
    std::size_t max_frame_size_;
    boost::beast::flat_buffer buffer_;
    bool has_message_ = false;  // buffer_ holds a received message next() has not decoded
};

}  // namespace tern::transport
