// The I/O-free frame codec of protocol v1.
//
// Two framings carry the same protobuf `tern.v1.Frame`:
//   stream (TCP, TLS):    [4-byte big-endian length N][N bytes of Frame], 1 <= N <= max
//   message (WebSocket):  one binary message is one Frame of at most max bytes
//   websocket (server):   the message framing with the server's unmasked WebSocket frame header
//                         written before each Frame (ws_codec.hpp reads the client's frames)
//
// split_frame() answers frame / need-more / error for the bytes received so far, reading only
// the length prefix before it decides, so an oversize or zero length is refused before anything is
// buffered. stream_reader adds a buffer that never grows past 4 + max bytes, whatever the input.
// decode_frame() parses one Frame with a recursion limit and refuses a Frame without a body.
//
// Thread safety: the free functions are reentrant; a stream_reader belongs to one connection and
// one thread at a time. No function throws on bad input: errors are boost::system::error_code
// values of tern::wire::errc.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include <tern/wire/errors.hpp>

namespace tern::v1 {
class Frame;
}

namespace tern::wire {

inline constexpr std::size_t length_prefix_size = 4;
inline constexpr std::size_t default_max_frame_size = 64 * 1024;
// Protobuf nesting allowed in a Frame. The deepest legitimate Frame nests about 6 levels
// (Frame > SyncPage > Push > Event > EditEvent > Content > CustomPayload).
inline constexpr int max_nesting_depth = 16;

enum class split_status {
    frame,      // `payload` holds one whole Frame's bytes; drop `consumed` bytes afterwards
    need_more,  // read at least `need` more bytes, then ask again
    error,      // `ec` says why; the stream cannot be resynchronized, close the connection
    closed,     // the peer closed the stream in band (a WebSocket Close): nothing follows
};

struct split_result {
    split_status status;
    std::span<const std::uint8_t> payload;  // valid while the input bytes are
    std::size_t consumed = 0;               // prefix + payload, when status == frame
    std::size_t need = 0;                   // more bytes needed, when status == need_more
    boost::system::error_code ec;
};

// Looks for one stream frame at the start of `input`. Never reads past `input`.
[[nodiscard]] split_result split_frame(std::span<const std::uint8_t> input,
                                       std::size_t max_frame_size) noexcept;

// Parses one Frame from `payload` (a stream frame's payload or a whole WebSocket message).
// On error `out` is left in an unspecified but valid state.
[[nodiscard]] boost::system::error_code decode_frame(std::span<const std::uint8_t> payload,
                                                     v1::Frame& out,
                                                     std::size_t max_frame_size) noexcept;

// Appends the stream encoding of `frame` (prefix and payload) to `out`.
// Fails with errc::encode_too_large, leaving `out` unchanged, if it does not fit `max_frame_size`.
[[nodiscard]] boost::system::error_code append_stream_frame(const v1::Frame& frame,
                                                            std::string& out,
                                                            std::size_t max_frame_size);

// Encodes `frame` as one WebSocket message body (no prefix), replacing `out`.
[[nodiscard]] boost::system::error_code encode_message(const v1::Frame& frame, std::string& out,
                                                       std::size_t max_frame_size);

// How a connection delimits frames.
enum class framing {
    stream,     // TCP, TLS: a 4-byte big-endian length before each Frame
    message,    // WebSocket through a library that frames messages itself (the SDK's Beast)
    websocket,  // WebSocket, server side: each Frame as one unmasked binary frame, header included
};

// An encoded frame ready to be written, in up to two parts: `head`, owned, then `shared`, the
// encoded bytes of an event that every recipient's frame shares (encode once, share the bytes).
struct out_frame {
    std::string head;
    std::shared_ptr<const std::string> shared;  // may be null

    [[nodiscard]] std::size_t size() const noexcept {
        return head.size() + (shared ? shared->size() : 0);
    }
};

// Encodes any Frame (owned, no shared part).
[[nodiscard]] boost::system::error_code encode_frame(const v1::Frame& frame, framing f,
                                                     std::size_t max_frame_size, out_frame& out);

// Encodes Frame{push{inbox_seq, event, notice}} for one recipient without copying the event: the
// head holds the envelope, the recipient's inbox_seq and notice (a tern.v1.Notice value; 0 is
// left out), `shared` the event's encoded tern.v1.Event. Decodes exactly like the same Frame
// built and serialized by protobuf (the notice precedes the event in the bytes: parsers take
// fields in any order).
[[nodiscard]] boost::system::error_code encode_push(std::uint64_t inbox_seq,
                                                    std::shared_ptr<const std::string> event,
                                                    framing f, std::size_t max_frame_size,
                                                    out_frame& out, std::uint32_t notice = 0);

// Writes the 4-byte big-endian length prefix for a payload of `size` bytes.
void write_length_prefix(std::uint32_t size, std::uint8_t* out) noexcept;

// WebSocket opcodes (RFC 6455, 5.2).
enum class ws_opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};
inline constexpr std::size_t max_ws_header_size = 10;  // a server's: no masking key

// The size of an unmasked (server) frame header for `size` payload bytes: 2, 4 or 10.
[[nodiscard]] std::size_t ws_header_size(std::uint64_t size) noexcept;
// Writes the header of a final, unmasked frame; returns its size.
std::size_t write_ws_header(ws_opcode opcode, std::uint64_t size, std::uint8_t* out) noexcept;

// The byte buffer under both readers: read into prepare(), commit() what arrived, look at data(),
// consume() what was used. It never holds more than `bound` bytes (reserve() allocates exactly
// what is asked for), moves unread bytes to the front before it grows, and frees its storage
// when empty on request, so an idle connection holds none.
class receive_buffer {
public:
    explicit receive_buffer(std::size_t bound) noexcept : bound_(bound) {}

    // Writable space of at least 1 byte, and of `want` bytes where the bound allows.
    [[nodiscard]] std::span<std::uint8_t> prepare(std::size_t want);
    void commit(std::size_t n) noexcept { end_ = std::min(end_ + n, buffer_.size()); }
    [[nodiscard]] std::span<std::uint8_t> data() noexcept {
        return {buffer_.data() + begin_, end_ - begin_};
    }
    void consume(std::size_t n) noexcept;
    void release_if_empty() noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.capacity(); }

private:
    std::size_t bound_;
    std::vector<std::uint8_t> buffer_;
    std::size_t begin_ = 0;  // first unread byte
    std::size_t end_ = 0;    // one past the last received byte
};

// A bounded receive buffer for a stream connection: the transport reads into prepare(), then
// calls commit(), then drains frames with next(). Its storage never exceeds 4 + max_frame_size
// bytes: an oversize length is refused as soon as its prefix arrives.
class stream_reader {
public:
    static constexpr wire::framing framing = wire::framing::stream;

    explicit stream_reader(std::size_t max_frame_size = default_max_frame_size);

    // Writable space for the next read: at least 1 byte and at most what the current frame
    // still needs (or `hint` bytes, whichever is larger, within the bound).
    [[nodiscard]] std::span<std::uint8_t> prepare(std::size_t hint = 4096);
    void commit(std::size_t n) noexcept;

    // Decodes the next complete frame into `out`. Returns need_more when the buffer holds no
    // whole frame. A bad length prefix is an error for ever after (the stream cannot be
    // resynchronized); a well-framed but undecodable Frame is an error for that frame only.
    [[nodiscard]] split_status next(v1::Frame& out, boost::system::error_code& ec);

    // Frees the storage when nothing is buffered: an idle connection then holds no buffer.
    void release_if_empty() noexcept;

    [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.capacity(); }
    [[nodiscard]] std::size_t max_frame_size() const noexcept { return max_frame_size_; }

private:
    std::size_t max_frame_size_;
    receive_buffer buffer_;
    boost::system::error_code failed_;
};

}  // namespace tern::wire
