// libFuzzer target: the WebSocket upgrade and then WebSocket frames, over Beast's test stream,
// through the gateway's own upgrade (net/ws_upgrade.hpp) and reader (wire::ws_reader in the
// stream transport). The first byte chooses: bit 0 set, a valid upgrade request is sent first and
// the rest is the client's frames after the 101 (masked or not, any opcode, any length); clear,
// the rest is the request itself. Properties: no crash or sanitizer report; frames decode or fail
// with an error; every control reply is one well-formed server frame (FIN, unmasked, a Pong or a
// Close, at most 125 bytes of payload); the exchange ends when the input does.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <tern/transport/read_frame.hpp>
#include <tern/transport/stream_transport.hpp>
#include <tern/wire/ws_codec.hpp>

#include "metrics/metrics.hpp"
#include "net/ws_upgrade.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using test_stream = beast::test::stream;

constexpr std::size_t max_frame = 4096;

const std::string valid_request =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: tern.v1\r\nOrigin: https://app.example\r\n\r\n";

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

// One or more control frames as the server writes them: FIN set, no mask, Pong or Close.
void check_reply(const std::string& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (bytes.size() - at < 2) fail("a truncated control reply");
        const auto b0 = static_cast<std::uint8_t>(bytes[at]);
        const auto b1 = static_cast<std::uint8_t>(bytes[at + 1]);
        const auto opcode = b0 & 0x0f;
        if (b0 != (0x80 | opcode) || (opcode != 0x8 && opcode != 0xA)) fail("a bad reply header");
        if (b1 > 125 || at + 2 + b1 > bytes.size()) fail("a bad control reply length");
        at += 2 + b1;
    }
}

asio::awaitable<void> serve(test_stream stream, std::string frames, tern::server::metrics& metrics,
                            bool& ended) {
    const std::vector<std::string> origins{"https://app.example"};
    const auto early = co_await tern::server::net::accept_upgrade(stream, {&origins}, metrics);
    if (early) {
        stream.append(frames);
        stream.close_remote();  // EOF after the frames
        tern::transport::stream_transport<test_stream, tern::wire::ws_reader> transport(
            std::move(stream), max_frame);
        transport.preload(*early);
        tern::v1::Frame frame;
        for (int i = 0; i < 64; ++i) {
            const auto ec = co_await tern::transport::read_frame(transport, frame);
            tern::wire::out_frame reply;
            while (transport.take_reply(reply)) check_reply(reply.head);
            if (ec && ec.category() != tern::wire::wire_category()) break;  // closed, or EOF
        }
    }
    ended = true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static tern::server::metrics metrics{{"fuzz", "fuzz"}};
    if (size < 1) return 0;
    const bool upgrade_first = data[0] & 1;
    const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);

    asio::io_context io;
    test_stream server(io);
    test_stream client(io);
    server.connect(client);
    if (upgrade_first) {
        server.append(valid_request);
    } else {
        server.append(rest);
        server.close_remote();
    }
    bool ended = false;
    asio::co_spawn(io,
                   serve(std::move(server), upgrade_first ? rest : std::string(), metrics, ended),
                   asio::detached);
    io.run_for(std::chrono::seconds(5));
    if (!ended) {
        std::fprintf(stderr, "property violated: the upgrade or the reads did not end\n");
        std::abort();
    }
    return 0;
}
