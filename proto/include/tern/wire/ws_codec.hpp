// The server side of WebSocket data framing (RFC 6455, section 5), I/O-free: a bounded receive
// buffer for a client's frames, like stream_reader for the stream framing. The HTTP upgrade is
// done before (server/src/net/ws_upgrade.hpp); frames written back use framing::websocket.
//
// It takes masked client frames, unmasks them in place and hands over each binary message as a
// Frame; fragmented messages are joined (control frames may come between their fragments). No
// extension is negotiated, so reserved bits are errors. A Ping is answered with a Pong, a Close
// with the Close echo (take_reply() gives the bytes to send). A message larger than the frame
// limit is refused as soon as its header says so; a text message is errc::text_message. Framing
// violations (an unmasked frame, a reserved bit or opcode, a control frame over 125 bytes or
// fragmented, a continuation without a start) are errc::websocket_protocol, for good.
//
// The buffer holds at most one frame (header and payload); a fragmented message is joined in a
// second buffer of at most the frame limit. Both are freed once empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include <tern/wire/frame_codec.hpp>

namespace tern::wire {

class ws_reader {
public:
    static constexpr wire::framing framing = wire::framing::websocket;

    explicit ws_reader(std::size_t max_frame_size = default_max_frame_size);

    // Writable space for the next read: at least 1 byte, and what the frame in progress still
    // needs (or `hint`, whichever is larger, within the bound).
    [[nodiscard]] std::span<std::uint8_t> prepare(std::size_t hint = 4096);

    // The next binary message, decoded into `out`: frame; need_more; closed once the client sent
    // Close; error (a bad message is an error for that message, a framing violation for good).
    [[nodiscard]] split_status next(v1::Frame& out, boost::system::error_code& ec);

    // Moves the control frames owed to the client (Pongs, the Close echo) into `out`, encoded
    // for the wire; false when none are owed.
    [[nodiscard]] bool take_reply(std::string& out);

    void commit(std::size_t n) noexcept { buffer_.commit(n); }
    void release_if_empty() noexcept { buffer_.release_if_empty(); }
    [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.capacity(); }

private:
    split_status fail(errc e, boost::system::error_code& ec);
    void reply(ws_opcode opcode, std::span<const std::uint8_t> payload);

    std::size_t max_frame_size_;
    receive_buffer buffer_;
    std::size_t frame_bytes_ = 0;  // header and payload of the frame in progress, once known
    std::string message_;          // the fragments of a message so far
    bool in_message_ = false;      // a fragmented message has started
    bool text_ = false;            // the message in progress is text
    bool closed_ = false;
    std::string replies_;
    boost::system::error_code failed_;
};

}  // namespace tern::wire
