#include <tern/wire/frame_codec.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tern/v1/events.pb.h"
#include "tern/v1/frame.pb.h"

namespace {

using tern::wire::split_status;
namespace wire = tern::wire;
namespace v1 = tern::v1;

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

v1::Frame make_send(std::uint64_t req_id, const std::string& text) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* send = f.mutable_send();
    send->mutable_conv()->set_type(v1::CONV_TYPE_DIRECT);
    send->mutable_conv()->set_id(7);
    send->mutable_conv()->set_peer(9);
    send->set_client_msg_id("cmid-" + std::to_string(req_id));
    send->mutable_content()->set_text(text);
    return f;
}

std::string stream_of(const std::vector<v1::Frame>& frames) {
    std::string out;
    for (const auto& f : frames) REQUIRE_FALSE(wire::append_stream_frame(f, out, 1 << 20));
    return out;
}

// Feeds `stream` to a reader in the given chunk sizes and returns the frames decoded.
std::vector<v1::Frame> feed(const std::string& stream, const std::vector<std::size_t>& chunks) {
    wire::stream_reader reader(1 << 16);
    std::vector<v1::Frame> out;
    std::size_t pos = 0;
    for (std::size_t chunk : chunks) {
        while (chunk > 0) {
            auto space = reader.prepare(chunk);
            const std::size_t n = std::min(space.size(), chunk);
            std::memcpy(space.data(), stream.data() + pos, n);
            reader.commit(n);
            pos += n;
            chunk -= n;
            v1::Frame f;
            boost::system::error_code ec;
            while (reader.next(f, ec) == split_status::frame) out.push_back(f);
            REQUIRE_FALSE(ec);
        }
    }
    REQUIRE(pos == stream.size());
    return out;
}

bool same(const v1::Frame& a, const v1::Frame& b) {
    return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

TEST_CASE("a frame round-trips through the stream encoding", "[unit][codec]") {
    const auto frame = make_send(42, "hello, tern");
    const auto stream = bytes_of(stream_of({frame}));
    const auto r = wire::split_frame(stream, wire::default_max_frame_size);
    REQUIRE(r.status == split_status::frame);
    CHECK(r.consumed == stream.size());
    v1::Frame decoded;
    REQUIRE_FALSE(wire::decode_frame(r.payload, decoded, wire::default_max_frame_size));
    CHECK(same(decoded, frame));
    CHECK(decoded.send().content().text() == "hello, tern");
}

TEST_CASE("a stream split at every byte boundary yields the same frames", "[unit][codec]") {
    const std::vector<v1::Frame> frames{make_send(1, "a"), make_send(2, std::string(300, 'b')),
                                        make_send(3, "c")};
    const std::string stream = stream_of(frames);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        CAPTURE(cut);
        const auto got = feed(stream, {cut, stream.size() - cut});
        REQUIRE(got.size() == frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) CHECK(same(got[i], frames[i]));
    }
}

TEST_CASE("a stream fed one byte at a time yields the same frames", "[unit][codec]") {
    const std::vector<v1::Frame> frames{make_send(1, "x"), make_send(2, "yy")};
    const std::string stream = stream_of(frames);
    const auto got = feed(stream, std::vector<std::size_t>(stream.size(), 1));
    REQUIRE(got.size() == 2);
    CHECK(same(got[0], frames[0]));
    CHECK(same(got[1], frames[1]));
}

TEST_CASE("several frames in one read are all decoded, in order", "[unit][codec]") {
    std::vector<v1::Frame> frames;
    for (int i = 1; i <= 50; ++i) frames.push_back(make_send(i, "m" + std::to_string(i)));
    const std::string stream = stream_of(frames);
    const auto got = feed(stream, {stream.size()});
    REQUIRE(got.size() == frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) CHECK(got[i].req_id() == i + 1);
}

TEST_CASE("split_frame asks for exactly the bytes it is missing", "[unit][codec]") {
    const auto stream = bytes_of(stream_of({make_send(1, "hello")}));
    for (std::size_t have = 0; have < stream.size(); ++have) {
        const auto r = wire::split_frame({stream.data(), have}, wire::default_max_frame_size);
        REQUIRE(r.status == split_status::need_more);
        if (have < wire::length_prefix_size) {
            CHECK(r.need == wire::length_prefix_size - have);
        } else {
            CHECK(r.need == stream.size() - have);
        }
    }
}

TEST_CASE("a zero length prefix is refused", "[unit][codec]") {
    const std::vector<std::uint8_t> zero{0, 0, 0, 0};
    const auto r = wire::split_frame(zero, wire::default_max_frame_size);
    REQUIRE(r.status == split_status::error);
    CHECK(r.ec == wire::errc::empty_frame);
}

TEST_CASE("an oversize length is refused from its prefix alone, without buffering",
          "[unit][codec]") {
    const std::size_t max = 1024;
    SECTION("one byte over the limit") {
        std::vector<std::uint8_t> prefix(4);
        wire::write_length_prefix(max + 1, prefix.data());
        const auto r = wire::split_frame(prefix, max);
        REQUIRE(r.status == split_status::error);
        CHECK(r.ec == wire::errc::frame_too_large);
    }
    SECTION("exactly the limit is accepted") {
        std::vector<std::uint8_t> prefix(4);
        wire::write_length_prefix(max, prefix.data());
        CHECK(wire::split_frame(prefix, max).status == split_status::need_more);
    }
    SECTION("a 4 GiB claim never grows the reader past its bound") {
        wire::stream_reader reader(max);
        auto space = reader.prepare(4);
        REQUIRE(space.size() >= 4);
        std::memset(space.data(), 0xff, 4);
        reader.commit(4);
        v1::Frame f;
        boost::system::error_code ec;
        CHECK(reader.next(f, ec) == split_status::error);
        CHECK(ec == wire::errc::frame_too_large);
        CHECK(reader.capacity() <= wire::length_prefix_size + max);
        // The failure is sticky: the stream cannot be resynchronized.
        CHECK(reader.next(f, ec) == split_status::error);
    }
}

TEST_CASE("the reader's storage stays within 4 + max for any input", "[unit][codec]") {
    const std::size_t max = 2048;
    wire::stream_reader reader(max);
    std::mt19937 rng(7);
    // Valid frames of every size up to the maximum, fed with random read sizes.
    std::string stream;
    for (std::size_t n : {1u, 100u, 1500u, 2000u}) {
        auto f = make_send(n, std::string(n - std::min<std::size_t>(n, 40), 'z'));
        REQUIRE_FALSE(wire::append_stream_frame(f, stream, max));
    }
    std::size_t pos = 0, decoded = 0;
    while (pos < stream.size()) {
        auto space = reader.prepare(1 + rng() % 5000);
        const std::size_t n = std::min(space.size(), stream.size() - pos);
        std::memcpy(space.data(), stream.data() + pos, n);
        reader.commit(n);
        pos += n;
        REQUIRE(reader.capacity() <= wire::length_prefix_size + max);
        v1::Frame f;
        boost::system::error_code ec;
        while (reader.next(f, ec) == split_status::frame) ++decoded;
        REQUIRE_FALSE(ec);
    }
    CHECK(decoded == 4);
    reader.release_if_empty();
    CHECK(reader.capacity() == 0);
}

TEST_CASE("truncated protobuf payloads are refused as malformed", "[unit][codec]") {
    const std::string full = make_send(9, "a message long enough to be cut").SerializeAsString();
    int refused = 0;
    for (std::size_t len = 1; len < full.size(); ++len) {
        v1::Frame f;
        const auto ec = wire::decode_frame(
            {reinterpret_cast<const std::uint8_t*>(full.data()), len}, f, 1 << 16);
        // Some prefixes end exactly between fields and are valid Frames; none may crash, and a
        // prefix that cuts a field in half must be refused.
        if (ec) {
            CHECK((ec == wire::errc::malformed_frame || ec == wire::errc::missing_body));
            ++refused;
        }
    }
    CHECK(refused > 0);
}

TEST_CASE("garbage bytes never crash the decoder", "[unit][codec]") {
    std::mt19937 rng(1234);
    int refused = 0;
    for (int i = 0; i < 5000; ++i) {
        std::vector<std::uint8_t> junk(1 + rng() % 200);
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        v1::Frame f;
        if (wire::decode_frame(junk, f, 1 << 16)) ++refused;
    }
    CHECK(refused > 4000);
}

TEST_CASE("deeply nested groups are refused, not recursed into", "[unit][codec]") {
    // Unknown fields of wire type 3 (start group) nest without bound in the protobuf grammar.
    // 100,000 levels would overflow the stack of a naive parser.
    const std::size_t depth = 100000;
    std::vector<std::uint8_t> payload;
    // Field 15 is unused in Frame: tags 15<<3|3 (start group) and 15<<3|4 (end group).
    const std::uint8_t sg = (15 << 3) | 3, eg = (15 << 3) | 4;
    payload.insert(payload.end(), depth, sg);
    payload.insert(payload.end(), depth, eg);
    v1::Frame f;
    CHECK(wire::decode_frame(payload, f, 1 << 20) == wire::errc::malformed_frame);

    // Within the limit the same shape is just an unknown field, and is ignored.
    std::vector<std::uint8_t> shallow;
    shallow.insert(shallow.end(), 3, sg);
    shallow.insert(shallow.end(), 3, eg);
    const std::string ping = [] {
        v1::Frame p;
        p.mutable_ping()->set_client_time_ms(5);
        return p.SerializeAsString();
    }();
    shallow.insert(shallow.end(), ping.begin(), ping.end());
    CHECK_FALSE(wire::decode_frame(shallow, f, 1 << 20));
    CHECK(f.has_ping());
}

TEST_CASE("unknown fields are ignored and known ones kept", "[unit][codec]") {
    const auto frame = make_send(77, "still here");
    std::string payload = frame.SerializeAsString();
    // Field 999 (varint) at the top level, as a newer peer might send.
    const unsigned tag = 999 << 3;  // wire type 0 (varint)
    payload.push_back(static_cast<char>((tag & 0x7f) | 0x80));
    payload.push_back(static_cast<char>(tag >> 7));
    payload.push_back(1);
    v1::Frame f;
    REQUIRE_FALSE(wire::decode_frame(
        {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, f, 1 << 16));
    CHECK(f.req_id() == 77);
    CHECK(f.send().content().text() == "still here");
}

TEST_CASE("a frame without a body is refused", "[unit][codec]") {
    v1::Frame f;
    f.set_req_id(5);
    const std::string payload = f.SerializeAsString();
    v1::Frame out;
    CHECK(
        wire::decode_frame({reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()},
                           out, 1 << 16) == wire::errc::missing_body);
}

TEST_CASE("WebSocket messages are decoded whole and bounded", "[unit][codec]") {
    const auto frame = make_send(3, std::string(500, 'w'));
    std::string message;
    REQUIRE_FALSE(wire::encode_message(frame, message, 1 << 16));
    const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(message.data()),
                                              message.size()};
    v1::Frame out;
    CHECK_FALSE(wire::decode_frame(bytes, out, 1 << 16));
    CHECK(same(out, frame));
    CHECK(wire::decode_frame(bytes, out, 100) == wire::errc::frame_too_large);
    CHECK(wire::decode_frame({}, out, 100) == wire::errc::empty_frame);
}

TEST_CASE("encoding refuses frames above the limit and leaves the output alone", "[unit][codec]") {
    const auto frame = make_send(1, std::string(2000, 'e'));
    std::string out = "keep";
    CHECK(wire::append_stream_frame(frame, out, 1000) == wire::errc::encode_too_large);
    CHECK(out == "keep");
}

TEST_CASE("a spliced push decodes exactly like protobuf's own encoding", "[unit][codec]") {
    tern::v1::Event event;
    event.mutable_conv()->set_type(tern::v1::CONV_TYPE_GROUP);
    event.mutable_conv()->set_id(5001);
    event.set_seq(88);
    event.set_sender(7);
    event.mutable_message()->mutable_content()->set_text(std::string(300, 'g'));
    const auto shared = std::make_shared<const std::string>(event.SerializeAsString());

    for (std::uint64_t inbox_seq : {0ull, 1ull, 127ull, 128ull, 1ull << 40}) {
        CAPTURE(inbox_seq);
        v1::Frame expected;
        expected.mutable_push()->set_inbox_seq(inbox_seq);
        *expected.mutable_push()->mutable_event() = event;

        wire::out_frame out;
        REQUIRE_FALSE(wire::encode_push(inbox_seq, shared, wire::framing::message, 1 << 16, out));
        CHECK(out.shared == shared);  // the event's bytes are shared, not copied
        CHECK(out.head + *out.shared == expected.SerializeAsString());

        REQUIRE_FALSE(wire::encode_push(inbox_seq, shared, wire::framing::stream, 1 << 16, out));
        const auto stream = bytes_of(out.head + *out.shared);
        const auto split = wire::split_frame(stream, 1 << 16);
        REQUIRE(split.status == split_status::frame);
        CHECK(split.consumed == stream.size());
        v1::Frame decoded;
        REQUIRE_FALSE(wire::decode_frame(split.payload, decoded, 1 << 16));
        CHECK(same(decoded, expected));
    }
    // With a notice: the same Frame as protobuf's (the notice precedes the shared event), and
    // its size counted against the limit.
    for (const auto notice : {v1::NOTICE_NONE, v1::NOTICE_SILENT, v1::NOTICE_ALERT}) {
        CAPTURE(notice);
        v1::Frame expected;
        expected.mutable_push()->set_inbox_seq(300);
        expected.mutable_push()->set_notice(notice);
        *expected.mutable_push()->mutable_event() = event;
        wire::out_frame out;
        REQUIRE_FALSE(wire::encode_push(300, shared, wire::framing::message, 1 << 16, out,
                                        static_cast<std::uint32_t>(notice)));
        CHECK(out.shared == shared);
        CHECK(out.head.size() + out.shared->size() == expected.ByteSizeLong());
        v1::Frame decoded;
        REQUIRE(decoded.ParseFromString(out.head + *out.shared));
        CHECK(same(decoded, expected));
        const auto exact = expected.ByteSizeLong();
        CHECK(wire::encode_push(300, shared, wire::framing::message, exact - 1, out,
                                static_cast<std::uint32_t>(notice)) ==
              wire::errc::encode_too_large);
        CHECK_FALSE(wire::encode_push(300, shared, wire::framing::message, exact, out,
                                      static_cast<std::uint32_t>(notice)));
    }
    wire::out_frame out;
    CHECK(wire::encode_push(1, shared, wire::framing::stream, 100, out) ==
          wire::errc::encode_too_large);
}
