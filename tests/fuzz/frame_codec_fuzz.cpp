// libFuzzer target: the stream reader and Frame decoder on arbitrary bytes, read in arbitrary
// chunks. Properties: no crash or sanitizer report; the reader's storage stays within 4 + max;
// every decoded Frame re-encodes and decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <tern/wire/frame_codec.hpp>

#include "tern/v1/frame.pb.h"

namespace wire = tern::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first byte picks the frame limit, the second the read size.
    const std::size_t max = 64 + static_cast<std::size_t>(data[0]) * 256;
    const std::size_t chunk = 1 + data[1];
    data += 2;
    size -= 2;

    wire::stream_reader reader(max);
    std::size_t pos = 0;
    while (pos < size) {
        auto space = reader.prepare(chunk);
        if (space.empty()) std::abort();  // next() always drains a whole frame
        const std::size_t n = std::min({space.size(), chunk, size - pos});
        std::memcpy(space.data(), data + pos, n);
        reader.commit(n);
        pos += n;
        if (reader.capacity() > wire::length_prefix_size + max) std::abort();
        tern::v1::Frame frame;
        boost::system::error_code ec;
        for (;;) {
            const auto status = reader.next(frame, ec);
            if (status == wire::split_status::need_more) break;
            if (status == wire::split_status::error) {
                if (ec == wire::errc::frame_too_large || ec == wire::errc::empty_frame) return 0;
                continue;  // a bad frame is skipped; the stream stays framed
            }
            std::string encoded;
            if (wire::encode_message(frame, encoded, 1 << 26)) std::abort();
            tern::v1::Frame again;
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(encoded.data());
            if (wire::decode_frame({bytes, encoded.size()}, again, 1 << 26)) std::abort();
            if (again.SerializeAsString() != encoded) std::abort();
        }
    }
    // The whole input as one WebSocket message, too.
    tern::v1::Frame frame;
    (void)wire::decode_frame({data, size}, frame, max);
    return 0;
}
