#include <tern/wire/frame_codec.hpp>

#include <algorithm>
#include <limits>

#include <google/protobuf/io/coded_stream.h>

#include "tern/v1/frame.pb.h"

namespace tern::wire {
namespace {

std::uint32_t read_length_prefix(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

split_result need(std::size_t n) noexcept { return {split_status::need_more, {}, 0, n, {}}; }

split_result fail(errc e) noexcept { return {split_status::error, {}, 0, 0, make_error_code(e)}; }

// The largest frame any caller may configure: the prefix is 32 bits and protobuf limits a
// message to 2 GiB; we stay far below both.
constexpr std::size_t hard_max_frame_size = 64u * 1024 * 1024;

std::size_t clamp_max(std::size_t max_frame_size) noexcept {
    return std::clamp<std::size_t>(max_frame_size, 1, hard_max_frame_size);
}

}  // namespace

void write_length_prefix(std::uint32_t size, std::uint8_t* out) noexcept {
    out[0] = static_cast<std::uint8_t>(size >> 24);
    out[1] = static_cast<std::uint8_t>(size >> 16);
    out[2] = static_cast<std::uint8_t>(size >> 8);
    out[3] = static_cast<std::uint8_t>(size);
}

split_result split_frame(std::span<const std::uint8_t> input, std::size_t max_frame_size) noexcept {
    max_frame_size = clamp_max(max_frame_size);
    if (input.size() < length_prefix_size) return need(length_prefix_size - input.size());
    const std::uint32_t length = read_length_prefix(input.data());
    if (length == 0) return fail(errc::empty_frame);
    if (length > max_frame_size) return fail(errc::frame_too_large);
    const std::size_t total = length_prefix_size + length;
    if (input.size() < total) return need(total - input.size());
    return {split_status::frame, input.subspan(length_prefix_size, length), total, 0, {}};
}

boost::system::error_code decode_frame(std::span<const std::uint8_t> payload, v1::Frame& out,
                                       std::size_t max_frame_size) noexcept {
    if (payload.empty()) return errc::empty_frame;
    if (payload.size() > clamp_max(max_frame_size)) return errc::frame_too_large;
    out.Clear();
    google::protobuf::io::CodedInputStream in(payload.data(), static_cast<int>(payload.size()));
    in.SetRecursionLimit(max_nesting_depth);
    if (!out.MergeFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
        return errc::malformed_frame;
    }
    if (out.body_case() == v1::Frame::BODY_NOT_SET) return errc::missing_body;
    return {};
}

boost::system::error_code append_stream_frame(const v1::Frame& frame, std::string& out,
                                              std::size_t max_frame_size) {
    const std::size_t size = frame.ByteSizeLong();
    if (size == 0) return errc::empty_frame;
    if (size > clamp_max(max_frame_size)) return errc::encode_too_large;
    const std::size_t start = out.size();
    out.resize(start + length_prefix_size + size);
    auto* p = reinterpret_cast<std::uint8_t*>(out.data() + start);
    write_length_prefix(static_cast<std::uint32_t>(size), p);
    // ByteSizeLong() cached the sizes, so serializing to the exact span cannot overflow it.
    frame.SerializeWithCachedSizesToArray(p + length_prefix_size);
    return {};
}

std::size_t ws_header_size(std::uint64_t size) noexcept {
    return size < 126 ? 2 : size <= 0xffff ? 4 : 10;
}

std::size_t write_ws_header(ws_opcode opcode, std::uint64_t size, std::uint8_t* out) noexcept {
    out[0] = static_cast<std::uint8_t>(0x80 | static_cast<std::uint8_t>(opcode));  // FIN
    if (size < 126) {
        out[1] = static_cast<std::uint8_t>(size);
        return 2;
    }
    if (size <= 0xffff) {
        out[1] = 126;
        out[2] = static_cast<std::uint8_t>(size >> 8);
        out[3] = static_cast<std::uint8_t>(size);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(size >> (56 - 8 * i));
    return 10;
}

namespace {

// One binary WebSocket frame, header and Frame, replacing `out`.
boost::system::error_code encode_ws_frame(const v1::Frame& frame, std::string& out,
                                          std::size_t max_frame_size) {
    const std::size_t size = frame.ByteSizeLong();
    if (size == 0) return errc::empty_frame;
    if (size > clamp_max(max_frame_size)) return errc::encode_too_large;
    std::uint8_t header[max_ws_header_size];
    const auto header_size = write_ws_header(ws_opcode::binary, size, header);
    out.resize(header_size + size);
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    std::copy_n(header, header_size, p);
    frame.SerializeWithCachedSizesToArray(p + header_size);
    return {};
}

}  // namespace

boost::system::error_code encode_message(const v1::Frame& frame, std::string& out,
                                         std::size_t max_frame_size) {
    const std::size_t size = frame.ByteSizeLong();
    if (size == 0) return errc::empty_frame;
    if (size > clamp_max(max_frame_size)) return errc::encode_too_large;
    out.resize(size);
    frame.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data()));
    return {};
}

namespace {

void append_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// Protobuf field keys: (field number << 3) | wire type.
constexpr std::uint64_t key(std::uint32_t field, std::uint32_t wire_type) {
    return (std::uint64_t{field} << 3) | wire_type;
}
constexpr std::uint32_t wire_varint = 0;
constexpr std::uint32_t wire_length = 2;
constexpr std::uint32_t frame_push_field = 22;  // Frame.push, frame.proto
constexpr std::uint32_t push_inbox_seq_field = 1;
constexpr std::uint32_t push_event_field = 2;
constexpr std::uint32_t push_notice_field = 3;

}  // namespace

boost::system::error_code encode_frame(const v1::Frame& frame, framing f,
                                       std::size_t max_frame_size, out_frame& out) {
    out.shared.reset();
    out.head.clear();
    switch (f) {
        case framing::stream:
            return append_stream_frame(frame, out.head, max_frame_size);
        case framing::websocket:
            return encode_ws_frame(frame, out.head, max_frame_size);
        case framing::message:
            break;
    }
    return encode_message(frame, out.head, max_frame_size);
}

boost::system::error_code encode_push(std::uint64_t inbox_seq,
                                      std::shared_ptr<const std::string> event, framing f,
                                      std::size_t max_frame_size, out_frame& out,
                                      std::uint32_t notice) {
    const std::size_t event_size = event ? event->size() : 0;
    // Push { inbox_seq = 1; notice = 3; event = 2 }: the event last, so that it can be shared.
    std::size_t push_size = 0;
    if (inbox_seq != 0)
        push_size += varint_size(key(push_inbox_seq_field, wire_varint)) + varint_size(inbox_seq);
    if (notice != 0)
        push_size += varint_size(key(push_notice_field, wire_varint)) + varint_size(notice);
    push_size +=
        varint_size(key(push_event_field, wire_length)) + varint_size(event_size) + event_size;
    const std::size_t frame_size =
        varint_size(key(frame_push_field, wire_length)) + varint_size(push_size) + push_size;
    if (frame_size > clamp_max(max_frame_size)) return errc::encode_too_large;

    out.head.clear();
    out.head.reserve(max_ws_header_size + frame_size - event_size);
    if (f == framing::stream) {
        out.head.resize(length_prefix_size);
        write_length_prefix(static_cast<std::uint32_t>(frame_size),
                            reinterpret_cast<std::uint8_t*>(out.head.data()));
    } else if (f == framing::websocket) {
        out.head.resize(ws_header_size(frame_size));
        write_ws_header(ws_opcode::binary, frame_size,
                        reinterpret_cast<std::uint8_t*>(out.head.data()));
    }
    append_varint(out.head, key(frame_push_field, wire_length));
    append_varint(out.head, push_size);
    if (inbox_seq != 0) {
        append_varint(out.head, key(push_inbox_seq_field, wire_varint));
        append_varint(out.head, inbox_seq);
    }
    if (notice != 0) {
        append_varint(out.head, key(push_notice_field, wire_varint));
        append_varint(out.head, notice);
    }
    append_varint(out.head, key(push_event_field, wire_length));
    append_varint(out.head, event_size);
    out.shared = std::move(event);
    return {};
}

std::span<std::uint8_t> receive_buffer::prepare(std::size_t want) {
    if (begin_ != 0) {
        std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
                  buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
        end_ -= begin_;
        begin_ = 0;
    }
    const std::size_t target = std::min(bound_, end_ + std::max<std::size_t>(want, 1));
    if (buffer_.size() < target) {
        if (buffer_.capacity() < target) {
            buffer_.reserve(std::min(bound_, std::max(target, 2 * buffer_.capacity())));
        }
        buffer_.resize(target);
    }
    return {buffer_.data() + end_, buffer_.size() - end_};
}

void receive_buffer::consume(std::size_t n) noexcept {
    begin_ = std::min(begin_ + n, end_);
    if (begin_ == end_) begin_ = end_ = 0;
}

void receive_buffer::release_if_empty() noexcept {
    if (begin_ != end_) return;
    begin_ = end_ = 0;
    std::vector<std::uint8_t>().swap(buffer_);
}

stream_reader::stream_reader(std::size_t max_frame_size)
    : max_frame_size_(clamp_max(max_frame_size)), buffer_(length_prefix_size + max_frame_size_) {}

std::span<std::uint8_t> stream_reader::prepare(std::size_t hint) {
    std::size_t want = hint;
    const auto received = buffer_.data();
    if (received.size() >= length_prefix_size) {
        // The frame in progress tells us how much it still needs; read at least that much so a
        // large frame arrives in few reads. An invalid length is reported by next(), not here.
        const std::size_t length = read_length_prefix(received.data());
        if (length <= max_frame_size_ && length_prefix_size + length > received.size()) {
            want = std::max(want, length_prefix_size + length - received.size());
        }
    }
    return buffer_.prepare(want);
}

void stream_reader::release_if_empty() noexcept { buffer_.release_if_empty(); }

void stream_reader::commit(std::size_t n) noexcept { buffer_.commit(n); }

split_status stream_reader::next(v1::Frame& out, boost::system::error_code& ec) {
    if (failed_) {
        ec = failed_;
        return split_status::error;
    }
    const auto r = split_frame(buffer_.data(), max_frame_size_);
    switch (r.status) {
        case split_status::need_more:
            ec = {};
            return split_status::need_more;
        case split_status::error:
        case split_status::closed:  // split_frame never says so
            // The byte stream cannot be resynchronized after a bad length: stay failed.
            failed_ = ec = r.ec;
            return split_status::error;
        case split_status::frame:
            break;
    }
    ec = decode_frame(r.payload, out, max_frame_size_);
    buffer_.consume(r.consumed);
    return ec ? split_status::error : split_status::frame;
}

}  // namespace tern::wire
