#include <tern/wire/ws_codec.hpp>

#include <algorithm>

namespace tern::wire {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t reserved_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0f;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::size_t mask_size = 4;
constexpr std::size_t max_control_payload = 125;
constexpr std::size_t max_client_header = 2 + 8 + mask_size;

std::uint64_t read_be(const std::uint8_t* p, int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    return v;
}

void unmask(std::uint8_t* data, std::size_t size, const std::uint8_t* key) noexcept {
    for (std::size_t i = 0; i < size; ++i) data[i] ^= key[i % mask_size];
}

}  // namespace

ws_reader::ws_reader(std::size_t max_frame_size)
    : max_frame_size_(std::clamp<std::size_t>(max_frame_size, 1, 64u * 1024 * 1024)),
      buffer_(max_client_header + max_frame_size_) {}

std::span<std::uint8_t> ws_reader::prepare(std::size_t hint) {
    // The frame in progress tells how much it still needs: read at least that much.
    const auto received = buffer_.size();
    return buffer_.prepare(frame_bytes_ > received ? std::max(hint, frame_bytes_ - received)
                                                   : hint);
}

bool ws_reader::take_reply(std::string& out) {
    if (replies_.empty()) return false;
    out = std::move(replies_);
    replies_.clear();
    return true;
}

split_status ws_reader::fail(errc e, boost::system::error_code& ec) {
    failed_ = ec = make_error_code(e);
    return split_status::error;
}

void ws_reader::reply(ws_opcode opcode, std::span<const std::uint8_t> payload) {
    std::uint8_t header[max_ws_header_size];
    const auto n = write_ws_header(opcode, payload.size(), header);
    replies_.append(reinterpret_cast<const char*>(header), n);
    replies_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

split_status ws_reader::next(v1::Frame& out, boost::system::error_code& ec) {
    ec = {};
    if (failed_) {
        ec = failed_;
        return split_status::error;
    }
    if (closed_) return split_status::closed;
    for (;;) {
        const auto received = buffer_.data();
        const std::size_t available = received.size();
        if (available < 2) return split_status::need_more;
        const std::uint8_t* p = received.data();
        const bool fin = (p[0] & fin_bit) != 0;
        const auto opcode = static_cast<ws_opcode>(p[0] & opcode_bits);
        const bool control = (p[0] & 0x08) != 0;
        if ((p[0] & reserved_bits) != 0) return fail(errc::websocket_protocol, ec);
        if ((p[1] & mask_bit) == 0) return fail(errc::websocket_protocol, ec);  // 5.1
        std::uint64_t size = p[1] & 0x7f;
        std::size_t header = 2;
        if (size == 126 || size == 127) {
            const int bytes = size == 126 ? 2 : 8;
            if (available < 2 + static_cast<std::size_t>(bytes)) return split_status::need_more;
            size = read_be(p + 2, bytes);
            header += static_cast<std::size_t>(bytes);
        }
        header += mask_size;
        if (control) {
            if (!fin || size > max_control_payload || opcode > ws_opcode::pong) {
                return fail(errc::websocket_protocol, ec);
            }
        } else {
            if (opcode > ws_opcode::binary) return fail(errc::websocket_protocol, ec);
            if ((opcode == ws_opcode::continuation) != in_message_) {
                return fail(errc::websocket_protocol, ec);  // a continuation must follow a start
            }
            // Refused before it is buffered: the header alone says it is too large.
            if (size > max_frame_size_ - std::min(message_.size(), max_frame_size_)) {
                return fail(errc::frame_too_large, ec);
            }
        }
        frame_bytes_ = header + static_cast<std::size_t>(size);
        if (available < frame_bytes_) return split_status::need_more;

        auto* payload = received.data() + header;
        unmask(payload, static_cast<std::size_t>(size), payload - mask_size);
        const std::span<const std::uint8_t> data(payload, static_cast<std::size_t>(size));
        buffer_.consume(frame_bytes_);  // the bytes stay where they are until the next prepare()
        frame_bytes_ = 0;

        if (control) {
            if (opcode == ws_opcode::ping) {
                reply(ws_opcode::pong, data);
            } else if (opcode == ws_opcode::close) {
                if (data.size() == 1) return fail(errc::websocket_protocol, ec);
                reply(ws_opcode::close, data.first(std::min<std::size_t>(data.size(), 2)));
                closed_ = true;
                return split_status::closed;
            }
            continue;  // a Pong needs nothing
        }
        if (opcode != ws_opcode::continuation) text_ = opcode == ws_opcode::text;
        if (!fin) {
            message_.append(reinterpret_cast<const char*>(data.data()), data.size());
            in_message_ = true;
            continue;
        }
        std::span<const std::uint8_t> message = data;
        if (in_message_) {
            message_.append(reinterpret_cast<const char*>(data.data()), data.size());
            message = {reinterpret_cast<const std::uint8_t*>(message_.data()), message_.size()};
        }
        ec = text_ ? make_error_code(errc::text_message)
                   : decode_frame(message, out, max_frame_size_);
        in_message_ = false;
        std::string().swap(message_);
        return ec ? split_status::error : split_status::frame;
    }
}

}  // namespace tern::wire
