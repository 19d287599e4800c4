#include <tern/wire/ws_codec.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tern/v1/frame.pb.h"

namespace {

namespace wire = tern::wire;
namespace v1 = tern::v1;
using wire::split_status;
using wire::ws_opcode;

constexpr std::size_t max_frame = 4096;

v1::Frame ping_frame(std::uint64_t req_id) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_ping()->set_client_time_ms(1234);
    return f;
}

std::string payload_of(const v1::Frame& f) { return f.SerializeAsString(); }

struct frame_options {
    bool fin = true;
    bool masked = true;
    std::uint8_t reserved = 0;  // RSV1-3 bits, already shifted
};

// A client frame (masked unless asked otherwise), with the header form the length calls for.
std::string client_frame(ws_opcode opcode, const std::string& payload, frame_options o = {}) {
    std::string out;
    out.push_back(static_cast<char>((o.fin ? 0x80 : 0) | o.reserved | static_cast<int>(opcode)));
    const std::uint8_t mask = o.masked ? 0x80 : 0;
    const auto size = payload.size();
    if (size < 126) {
        out.push_back(static_cast<char>(mask | size));
    } else if (size <= 0xffff) {
        out.push_back(static_cast<char>(mask | 126));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size));
    } else {
        out.push_back(static_cast<char>(mask | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<char>(std::uint64_t{size} >> (8 * i)));
    }
    const char key[4] = {0x37, 0x7a, 0x01, static_cast<char>(0xc4)};
    if (o.masked) out.append(key, 4);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(o.masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    }
    return out;
}

// Gives the reader `bytes`, `chunk` bytes at a time, collecting what next() says after each.
struct fed {
    std::vector<v1::Frame> frames;
    std::vector<boost::system::error_code> errors;
    bool closed = false;
    std::string replies;
};

fed feed(wire::ws_reader& reader, const std::string& bytes, std::size_t chunk = 1 << 20) {
    fed out;
    std::size_t at = 0;
    while (at < bytes.size() && !out.closed && out.errors.empty()) {
        auto space = reader.prepare(chunk);
        const auto n = std::min({space.size(), chunk, bytes.size() - at});
        std::memcpy(space.data(), bytes.data() + at, n);
        reader.commit(n);
        at += n;
        for (;;) {
            v1::Frame f;
            boost::system::error_code ec;
            const auto status = reader.next(f, ec);
            std::string reply;
            while (reader.take_reply(reply)) out.replies += reply;
            if (status == split_status::frame) {
                out.frames.push_back(f);
                continue;
            }
            if (status == split_status::error) out.errors.push_back(ec);
            if (status == split_status::closed) out.closed = true;
            break;
        }
    }
    return out;
}

std::string server_frame(ws_opcode opcode, const std::string& payload) {
    std::uint8_t header[wire::max_ws_header_size];
    const auto n = wire::write_ws_header(opcode, payload.size(), header);
    return std::string(reinterpret_cast<const char*>(header), n) + payload;
}

}  // namespace

TEST_CASE("a masked binary frame is a Frame, whole or a byte at a time",
          "[unit][wire][websocket]") {
    const std::string bytes = client_frame(ws_opcode::binary, payload_of(ping_frame(1))) +
                              client_frame(ws_opcode::binary, payload_of(ping_frame(2)));
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
        wire::ws_reader reader(max_frame);
        const auto got = feed(reader, bytes, chunk);
        CHECK(got.errors.empty());
        REQUIRE(got.frames.size() == 2);
        CHECK(got.frames[0].req_id() == 1);
        CHECK(got.frames[1].ping().client_time_ms() == 1234);
        reader.release_if_empty();
        CHECK(reader.capacity() == 0);
    }
}

TEST_CASE("lengths in the 16- and 64-bit forms are read", "[unit][wire][websocket]") {
    v1::Frame big;
    big.set_req_id(3);
    big.mutable_ping()->set_client_time_ms(1);
    big.mutable_error()->set_message(std::string(300, 'm'));  // 16-bit length form
    wire::ws_reader reader(1 << 20);
    auto got = feed(reader, client_frame(ws_opcode::binary, payload_of(big)), 7);
    REQUIRE(got.frames.size() == 1);
    CHECK(got.frames[0].error().message().size() == 300);

    v1::Frame huge;
    huge.mutable_error()->set_message(std::string(70'000, 'h'));  // 64-bit length form
    got = feed(reader, client_frame(ws_opcode::binary, payload_of(huge)), 1000);
    REQUIRE(got.frames.size() == 1);
    CHECK(got.frames[0].error().message().size() == 70'000);
}

TEST_CASE("fragments are joined around a Ping, which is answered with a Pong",
          "[unit][wire][websocket]") {
    const auto payload = payload_of(ping_frame(9));
    const auto cut = payload.size() / 2;
    const std::string bytes =
        client_frame(ws_opcode::binary, payload.substr(0, cut), {.fin = false}) +
        client_frame(ws_opcode::ping, "hi") +
        client_frame(ws_opcode::continuation, payload.substr(cut));
    wire::ws_reader reader(max_frame);
    const auto got = feed(reader, bytes, 2);
    CHECK(got.errors.empty());
    REQUIRE(got.frames.size() == 1);
    CHECK(got.frames[0].req_id() == 9);
    CHECK(got.replies == server_frame(ws_opcode::pong, "hi"));
}

TEST_CASE("a Close is echoed and ends the stream", "[unit][wire][websocket]") {
    wire::ws_reader reader(max_frame);
    const std::string code_and_reason = std::string("\x03\xe8", 2) + "bye";  // 1000, "bye"
    const auto got = feed(reader, client_frame(ws_opcode::close, code_and_reason) +
                                      client_frame(ws_opcode::binary, payload_of(ping_frame(1))));
    CHECK(got.closed);
    CHECK(got.frames.empty());  // nothing after the Close is read
    CHECK(got.replies == server_frame(ws_opcode::close, std::string("\x03\xe8", 2)));
    v1::Frame f;
    boost::system::error_code ec;
    CHECK(reader.next(f, ec) == split_status::closed);
}

TEST_CASE("a message over the limit is refused from its header alone", "[unit][wire][websocket]") {
    wire::ws_reader reader(max_frame);
    // Only the header of a 1 MiB frame arrives.
    const auto header = client_frame(ws_opcode::binary, std::string(1 << 20, 'x')).substr(0, 14);
    auto got = feed(reader, header);
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == wire::errc::frame_too_large);
    CHECK(reader.capacity() <= 14 + max_frame);

    // Fragments that pass one by one but not together.
    wire::ws_reader joined(max_frame);
    got = feed(joined, client_frame(ws_opcode::binary, std::string(3000, 'a'), {.fin = false}) +
                           client_frame(ws_opcode::continuation, std::string(3000, 'b')));
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == wire::errc::frame_too_large);
}

TEST_CASE("a text message is refused and the stream goes on", "[unit][wire][websocket]") {
    wire::ws_reader reader(max_frame);
    auto got = feed(reader, client_frame(ws_opcode::text, "hello"));
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0] == wire::errc::text_message);
    got = feed(reader, client_frame(ws_opcode::binary, payload_of(ping_frame(4))));
    CHECK(got.errors.empty());
    CHECK(got.frames.size() == 1);
}

TEST_CASE("frames that break RFC 6455 fail the stream for good", "[unit][wire][websocket]") {
    const std::vector<std::pair<const char*, std::string>> cases{
        {"unmasked", client_frame(ws_opcode::binary, "x", {.masked = false})},
        {"a reserved bit", client_frame(ws_opcode::binary, "x", {.reserved = 0x40})},
        {"a reserved opcode", client_frame(static_cast<ws_opcode>(0x3), "x")},
        {"a reserved control opcode", client_frame(static_cast<ws_opcode>(0xB), "x")},
        {"a control frame over 125 bytes", client_frame(ws_opcode::ping, std::string(126, 'p'))},
        {"a fragmented control frame", client_frame(ws_opcode::ping, "p", {.fin = false})},
        {"a continuation without a start", client_frame(ws_opcode::continuation, "x")},
        {"a new message inside a fragmented one",
         client_frame(ws_opcode::binary, "a", {.fin = false}) +
             client_frame(ws_opcode::binary, "b")},
        {"a Close with a one-byte body", client_frame(ws_opcode::close, "\x03")},
    };
    for (const auto& [name, bytes] : cases) {
        INFO(name);
        wire::ws_reader reader(max_frame);
        const auto got =
            feed(reader, bytes + client_frame(ws_opcode::binary, payload_of(ping_frame(1))));
        REQUIRE(got.errors.size() == 1);
        CHECK(got.errors[0] == wire::errc::websocket_protocol);
        CHECK(got.frames.empty());
        v1::Frame f;
        boost::system::error_code ec;
        CHECK(reader.next(f, ec) == split_status::error);  // for good
    }
}

TEST_CASE("server frames carry the header the payload length calls for",
          "[unit][wire][websocket]") {
    for (const std::uint64_t size : {0ull, 125ull, 126ull, 65'535ull, 65'536ull}) {
        std::uint8_t header[wire::max_ws_header_size];
        const auto n = wire::write_ws_header(ws_opcode::binary, size, header);
        CHECK(n == wire::ws_header_size(size));
        CHECK(header[0] == 0x82);        // FIN, binary
        CHECK((header[1] & 0x80) == 0);  // a server never masks
        const std::uint64_t length = n == 2   ? header[1]
                                     : n == 4 ? (std::uint64_t{header[2]} << 8) | header[3]
                                              : [&] {
                                                    std::uint64_t v = 0;
                                                    for (int i = 2; i < 10; ++i)
                                                        v = (v << 8) | header[i];
                                                    return v;
                                                }();
        CHECK(length == size);
    }
    // encode_frame and encode_push with framing::websocket: a header, then the Frame's bytes.
    wire::out_frame out;
    REQUIRE_FALSE(wire::encode_frame(ping_frame(5), wire::framing::websocket, max_frame, out));
    CHECK(out.head == server_frame(ws_opcode::binary, payload_of(ping_frame(5))));
    const auto event = std::make_shared<const std::string>(std::string(200, '\0'));
    REQUIRE_FALSE(wire::encode_push(42, event, wire::framing::websocket, max_frame, out));
    const std::string whole = out.head + *out.shared;
    REQUIRE(static_cast<std::uint8_t>(whole[1]) == 126);
    const std::size_t length =
        (static_cast<std::uint8_t>(whole[2]) << 8) | static_cast<std::uint8_t>(whole[3]);
    CHECK(length == whole.size() - 4);
}
