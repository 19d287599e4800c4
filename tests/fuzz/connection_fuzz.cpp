// libFuzzer target: arbitrary bytes from a client into a gateway connection (handshake, rate
// limit, heartbeats, dispatch to the core), with a fake core that admits or refuses devices and
// answers every request. The first byte chooses whether the input starts with a valid Hello (a
// token the fuzzer cannot forge is minted here) and how strict the inbound rate is; the rest is
// the byte stream, delivered in chunks of the second byte's size.
//
// Properties: no crash or sanitizer report; everything the connection writes is well-formed,
// length-prefixed Frames under the frame limit; the core hears of a session once at most (opened
// once, closed once, only if admitted); the connection ends when the input does.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <google/protobuf/stubs/logging.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <tern/auth/jwt.hpp>
#include <tern/tooling/tokens.hpp>
#include <tern/wire/frame_codec.hpp>

#include "metrics/metrics.hpp"
#include "net/connection.hpp"

namespace {

namespace asio = boost::asio;
namespace net = tern::server::net;
namespace v1 = tern::v1;
namespace wire = tern::wire;

constexpr std::size_t max_frame = 4096;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

// The client's bytes in, the server's frames out (checked), no socket.
class fuzz_transport {
public:
    static constexpr wire::framing framing = wire::framing::stream;

    fuzz_transport(std::string input, std::size_t chunk, asio::any_io_executor executor)
        : input_(std::move(input)),
          chunk_(chunk),
          reader_(max_frame),
          written_(max_frame),
          executor_(std::move(executor)) {}

    wire::split_status next(v1::Frame& out, boost::system::error_code& ec) {
        return reader_.next(out, ec);
    }

    // The next chunk of the input, or the end of the stream; completes later, as a socket would.
    template <class Handler>
    void async_fill(Handler&& done) {
        boost::system::error_code ec;
        if (at_ >= input_.size()) {
            ec = asio::error::eof;
        } else {
            auto space = reader_.prepare(chunk_);
            const auto n = std::min({space.size(), chunk_, input_.size() - at_});
            std::memcpy(space.data(), input_.data() + at_, n);
            reader_.commit(n);
            at_ += n;
        }
        asio::post(executor_, [done = std::forward<Handler>(done), ec]() mutable { done(ec); });
    }

    // Checks every frame at once, then completes later, as a socket would.
    template <class Handler>
    void async_write_frames(const std::vector<wire::out_frame>& frames, Handler&& done) {
        std::size_t bytes = 0;
        for (const auto& f : frames) bytes += check_written(f);
        asio::post(executor_, [done = std::forward<Handler>(done), bytes]() mutable {
            done(boost::system::error_code{}, bytes);
        });
    }

    int native_handle() { return -1; }
    void close() { closed_ = true; }

private:
    // Appends one outgoing frame to what the client received and requires it to decode.
    std::size_t check_written(const wire::out_frame& f) {
        std::string bytes = f.head;
        if (f.shared) bytes += *f.shared;
        auto space = written_.prepare(bytes.size());
        if (space.size() < bytes.size()) fail("an outgoing frame is over the frame limit");
        std::memcpy(space.data(), bytes.data(), bytes.size());
        written_.commit(bytes.size());
        v1::Frame frame;
        boost::system::error_code ec;
        for (;;) {
            const auto status = written_.next(frame, ec);
            if (status == wire::split_status::need_more) break;
            if (status == wire::split_status::error) fail("an outgoing frame does not decode");
        }
        return bytes.size();
    }

    std::string input_;
    std::size_t at_ = 0;
    std::size_t chunk_;
    wire::stream_reader reader_;
    wire::stream_reader written_;
    asio::any_io_executor executor_;
    bool closed_ = false;
};

// Admits every other device, answers every request with an Error, and checks the session's
// life: on_open at most once, on_close once and only after an admission.
class fake_core final : public tern::core::frame_handler {
public:
    void on_open(const std::shared_ptr<tern::core::device_port>& s, const v1::Hello& hello,
                 v1::Frame welcome) override {
        if (opened_++) fail("on_open twice");
        if (hello.attempt() % 2 == 1) {
            s->close(v1::DISCONNECT_TOO_MANY_DEVICES, v1::TOO_MANY_DEVICES, "refused");
            return;
        }
        admitted_ = s->admit(welcome);
    }
    void on_request(const std::shared_ptr<tern::core::device_port>& s, v1::Frame& frame) override {
        if (!admitted_) fail("a request before admission");
        v1::Frame reply;
        reply.set_req_id(frame.req_id());
        reply.mutable_error()->set_code(v1::NOT_FOUND);
        s->send(reply);
    }
    void on_close(const std::shared_ptr<tern::core::device_port>&) override {
        if (!admitted_) fail("on_close without admission");
        if (closed_++) fail("on_close twice");
    }

private:
    int opened_ = 0;
    int closed_ = 0;
    bool admitted_ = false;
};

struct fixture {
    tern::auth::jwt_verifier verifier{{"tern-dev", "tern", true, std::chrono::seconds(60), 8192, 0},
                                      {*tern::auth::jwt_key::hmac("fz", std::string(32, 'k'))}};
    tern::auth::signing_key key = *tern::auth::signing_key::hmac("fz", std::string(32, 'k'));
    tern::server::metrics metrics{{"fuzz", "fuzz"}};

    std::string hello_bytes(std::uint64_t attempt) const {
        const auto token = tern::tooling::device_token(key, 1, 42, 7, std::chrono::hours(1));
        v1::Frame f;
        f.set_req_id(1);
        auto* h = f.mutable_hello();
        h->set_protocol_version(1);
        h->set_token(*token);
        h->set_attempt(attempt);
        std::string out;
        if (wire::append_stream_frame(f, out, max_frame)) fail("the Hello does not encode");
        return out;
    }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in a frame is logged, not news
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fixture fx;
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const std::size_t chunk = 1 + data[1];
    std::string input;
    if (flags & 1) input = fx.hello_bytes((flags >> 1) & 1);
    input.append(reinterpret_cast<const char*>(data + 2), size - 2);

    tern::core::limits limits;
    limits.max_frame_bytes = max_frame;
    limits.inbound =
        (flags & 4) ? tern::wire::rate_limit{5, 3} : tern::wire::rate_limit{1000, 1000};
    limits.outbound_queue_frames = (flags & 8) ? 4 : 1000;
    net::connection_settings settings;
    settings.limits = &limits;
    settings.verifier = &fx.verifier;
    fake_core core;
    settings.handler = &core;
    settings.metrics = &fx.metrics;

    asio::io_context io;
    auto conn = std::make_shared<net::connection<fuzz_transport>>(
        fuzz_transport(std::move(input), chunk, io.get_executor()),
        tern::server::transport_kind::tcp, io.get_executor(), 0, settings);
    conn->start();
    conn.reset();
    // The input ends in EOF: the connection finishes and nothing is left to run. A bound all
    // the same, so that a connection that never ends is reported instead of hanging.
    io.run_for(std::chrono::seconds(5));
    if (!io.stopped()) fail("the connection outlived its input");
    return 0;
}
