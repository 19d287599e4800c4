#include "link.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <tern/transport/read_frame.hpp>
#include <tern/transport/stream_transport.hpp>
#include <tern/transport/ws_transport.hpp>
#include <tern/wire/frame_codec.hpp>

namespace tern::client::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = ssl::stream<beast::tcp_stream>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto paused_poll = std::chrono::milliseconds(200);

template <class Transport>
class link_impl final : public link, public std::enable_shared_from_this<link_impl<Transport>> {
public:
    link_impl(Transport transport, asio::any_io_executor executor,
              std::weak_ptr<link_handler> handler)
        : transport_(std::move(transport)),
          wake_(executor),
          resume_(executor),
          handler_(std::move(handler)) {}

    void start() {
        const auto self = this->shared_from_this();
        wake_.expires_at(asio::steady_timer::time_point::max());
        asio::co_spawn(
            wake_.get_executor(), [self] { return self->read_loop(); }, asio::detached);
        asio::co_spawn(
            wake_.get_executor(), [self] { return self->write_loop(); }, asio::detached);
    }

    void send(const v1::Frame& frame) override {
        if (closed_) return;
        wire::out_frame out;
        if (wire::encode_frame(frame, Transport::framing, max_frame_bytes, out)) return;
        queue_.push_back(std::move(out));
        wake_.cancel();
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        transport_.close();
        wake_.cancel();
        resume_.cancel();
    }

    void pause_reading(bool paused) override {
        paused_ = paused;
        if (!paused) resume_.cancel();
    }

private:
    asio::awaitable<void> read_loop() {
        const auto self = this->shared_from_this();
        v1::Frame frame;
        for (;;) {
            while (paused_ && !closed_) {
                // Not reading, yet noticing a peer that gives up on us (a slow consumer close).
                resume_.expires_after(paused_poll);
                auto [ec] = co_await resume_.async_wait(use_tuple);
                if (!ec && paused_ && peer_gone()) {
                    paused_ = false;
                    if (auto h = handler_.lock()) h->on_peer_gone_while_paused();
                }
            }
            const auto ec = co_await tern::transport::read_frame(transport_, frame);
            if (ec || closed_) {
                finish(ec ? ec : asio::error::operation_aborted);
                co_return;
            }
            if (auto h = handler_.lock()) h->on_frame(frame);
        }
    }

    asio::awaitable<void> write_loop() {
        const auto self = this->shared_from_this();
        std::vector<wire::out_frame> batch;
        while (!closed_) {
            if (queue_.empty()) {
                wake_.expires_at(asio::steady_timer::time_point::max());
                auto [ec] = co_await wake_.async_wait(use_tuple);
                (void)ec;  // cancelled: a frame was queued, or the link closed
                continue;
            }
            batch.assign(std::make_move_iterator(queue_.begin()),
                         std::make_move_iterator(queue_.end()));
            queue_.clear();
            const auto ec = co_await transport_.write(batch);
            batch.clear();
            if (ec) {
                close();
                finish(ec);
            }
        }
    }

    // Whether the peer shut down its side (POLLRDHUP is set even with unread data before it).
    bool peer_gone() {
        pollfd p{transport_.native_handle(), POLLRDHUP, 0};
        return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }

    void finish(const boost::system::error_code& ec) {
        if (finished_) return;
        finished_ = true;
        close();
        if (auto h = handler_.lock()) h->on_link_closed(ec);
    }

    Transport transport_;
    asio::steady_timer wake_;
    asio::steady_timer resume_;  // the reader waits on it while paused
    std::deque<wire::out_frame> queue_;
    std::weak_ptr<link_handler> handler_;
    bool closed_ = false;
    bool finished_ = false;
    bool paused_ = false;
};

template <class Transport>
std::shared_ptr<link> start_link(Transport transport, asio::any_io_executor executor,
                                 std::weak_ptr<link_handler> handler) {
    auto l =
        std::make_shared<link_impl<Transport>>(std::move(transport), executor, std::move(handler));
    l->start();
    return l;
}

struct dial_result {
    boost::system::error_code ec;
    std::string detail;
    std::shared_ptr<link> connection;
};

dial_result failed(const boost::system::error_code& ec, std::string step) {
    return {ec, step + ": " + ec.message(), nullptr};
}

// The WebSocket handshake: subprotocol tern.v1 asked for, and required in the answer.
template <class NextLayer>
asio::awaitable<dial_result> websocket_handshake(beast::websocket::stream<NextLayer>& ws,
                                                 const endpoint& where) {
    ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& req) {
        req.set(beast::http::field::sec_websocket_protocol, "tern.v1");
    }));
    beast::websocket::response_type response;
    auto [ec] = co_await ws.async_handshake(response, where.host + ":" + std::to_string(where.port),
                                            where.path, use_tuple);
    if (ec) co_return failed(ec, "websocket handshake");
    if (response[beast::http::field::sec_websocket_protocol] != "tern.v1") {
        co_return failed(asio::error::no_protocol_option, "websocket subprotocol");
    }
    // Liveness is the protocol's heartbeat; the handshake deadline is over.
    beast::websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    t.idle_timeout = beast::websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    co_return dial_result{};
}

// The connection's slot, in the SSL object's ex_data: a heap shared_ptr, freed with the SSL.
int slot_index() {
    static const int index = SSL_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<std::shared_ptr<tls_session_slot>*>(ptr);
        });
    return index;
}

// OpenSSL's new-session callback: 1 when the slot took the reference. TLS 1.3 lets a session
// be resumed however its connection ended (RFC 8446, 6.1), but OpenSSL marks the connection's
// current session not resumable when it ends without a close_notify, as TLS 1.2 requires: the
// slot keeps a copy of a TLS 1.3 session, and a TLS 1.2 session itself.
int keep_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* slot =
        static_cast<std::shared_ptr<tls_session_slot>*>(SSL_get_ex_data(ssl, slot_index()));
    if (slot == nullptr) return 0;
    if (SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION) {
        if (SSL_SESSION* copy = SSL_SESSION_dup(session)) (*slot)->keep(copy);
        return 0;
    }
    (*slot)->keep(session);
    return 1;
}

// Offers the slot's session to `ssl` and has the server's next ones kept there.
void offer_session(SSL* ssl, const std::shared_ptr<tls_session_slot>& slot) {
    if (!slot) return;
    auto ref = std::make_unique<std::shared_ptr<tls_session_slot>>(slot);
    if (SSL_set_ex_data(ssl, slot_index(), ref.get()) != 1) return;
    ref.release();  // freed with the SSL object
    if (SSL_SESSION* s = slot->session(); s != nullptr && SSL_SESSION_is_resumable(s) == 1) {
        SSL_set_session(ssl, s);  // a failed resumption is a full handshake, not an error
    }
}

asio::awaitable<dial_result> tls_handshake(tls_stream& stream, const endpoint& where,
                                           const tls_options& tls,
                                           const std::shared_ptr<tls_session_slot>& session) {
    const std::string name = tls.server_name.empty() ? where.host : tls.server_name;
    // SSL_set_tlsext_host_name is a macro with a C cast; this is the call it makes.
    if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str())) != 1) {
        co_return failed(asio::error::invalid_argument, "tls server name");
    }
    if (tls.verify_peer) {
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(name));
    } else {
        stream.set_verify_mode(ssl::verify_none);
    }
    offer_session(stream.native_handle(), session);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (ec) co_return failed(ec, "tls handshake");
    co_return dial_result{};
}

// Opens `socket` and binds it to `address` (any port).
dial_result bind_source(tcp::socket& socket, const std::string& address) {
    boost::system::error_code ec;
    const auto source = asio::ip::make_address(address, ec);
    if (ec) return failed(ec, "source address " + address);
    const tcp::endpoint local(source, 0);
    socket.open(local.protocol(), ec);
#ifdef IP_BIND_ADDRESS_NO_PORT
    // Let connect() pick the port for the whole 4-tuple: bind() alone would reserve a port per
    // source address whatever the destination, and run out under many connections.
    if (!ec && local.protocol() == tcp::v4()) {
        const int on = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    }
#endif
    if (!ec) socket.bind(local, ec);
    if (ec) return failed(ec, "bind " + address);
    return {};
}

asio::awaitable<dial_result> dial(asio::io_context& io, endpoint where, tls_options tls,
                                  std::shared_ptr<ssl::context> context,
                                  std::shared_ptr<tls_session_slot> session,
                                  socket_settings settings, std::weak_ptr<link_handler> handler) {
    // An address literal resolves at once on this thread; only a name goes to the resolver's
    // background thread, a hand-off per dial that was 13 % of the bench in a reconnect storm.
    tcp::resolver resolver(io);
    const auto service = std::to_string(where.port);
    boost::system::error_code rec;
    auto results = resolver.resolve(
        where.host, service, tcp::resolver::numeric_host | tcp::resolver::numeric_service, rec);
    if (rec)
        std::tie(rec, results) = co_await resolver.async_resolve(where.host, service, use_tuple);
    if (rec) co_return failed(rec, "resolve " + where.host);
    beast::tcp_stream stream(io);
    stream.expires_after(settings.timeout);
    if (settings.local_address.empty()) {
        auto [cec, ep] = co_await stream.async_connect(results, use_tuple);
        if (cec) co_return failed(cec, "connect");
    } else {
        // Connecting to a range reopens the socket per address, losing the binding: bind, then
        // connect to the first address of the source's family.
        if (auto r = bind_source(stream.socket(), settings.local_address); r.ec) co_return r;
        const auto family = stream.socket().local_endpoint().protocol();
        auto it = std::find_if(results.begin(), results.end(),
                               [&](const auto& e) { return e.endpoint().protocol() == family; });
        if (it == results.end()) {
            co_return failed(asio::error::address_family_not_supported,
                             "no address of " + where.host + " in the source's family");
        }
        auto [cec] = co_await stream.async_connect(it->endpoint(), use_tuple);
        if (cec) co_return failed(cec, "connect from " + settings.local_address);
    }
    boost::system::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    if (settings.receive_buffer > 0) {
        stream.socket().set_option(
            asio::socket_base::receive_buffer_size(static_cast<int>(settings.receive_buffer)),
            ignored);
    }
    const auto executor = stream.get_executor();

    switch (where.transport) {
        case transport::tcp: {
            stream.expires_never();
            co_return dial_result{{},
                                  {},
                                  start_link(tern::transport::stream_transport<tcp::socket>(
                                                 stream.release_socket(), max_frame_bytes),
                                             executor, handler)};
        }
        case transport::tls: {
            tls_stream secure(std::move(stream), *context);
            if (auto r = co_await tls_handshake(secure, where, tls, session); r.ec) co_return r;
            beast::get_lowest_layer(secure).expires_never();
            co_return dial_result{{},
                                  {},
                                  start_link(tern::transport::stream_transport<tls_stream>(
                                                 std::move(secure), max_frame_bytes),
                                             executor, handler)};
        }
        case transport::ws: {
            beast::websocket::stream<beast::tcp_stream> ws(std::move(stream));
            if (auto r = co_await websocket_handshake(ws, where); r.ec) co_return r;
            beast::get_lowest_layer(ws).expires_never();
            co_return dial_result{{},
                                  {},
                                  start_link(tern::transport::ws_transport<beast::tcp_stream>(
                                                 std::move(ws), max_frame_bytes),
                                             executor, handler)};
        }
        case transport::wss: {
            beast::websocket::stream<tls_stream> ws(std::move(stream), *context);
            if (auto r = co_await tls_handshake(ws.next_layer(), where, tls, session); r.ec)
                co_return r;
            if (auto r = co_await websocket_handshake(ws, where); r.ec) co_return r;
            beast::get_lowest_layer(ws).expires_never();
            co_return dial_result{{},
                                  {},
                                  start_link(tern::transport::ws_transport<tls_stream>(
                                                 std::move(ws), max_frame_bytes),
                                             executor, handler)};
        }
    }
    co_return failed(asio::error::invalid_argument, "transport");
}

}  // namespace

void async_dial(asio::io_context& io, const endpoint& where, const tls_options& tls,
                std::shared_ptr<ssl::context> tls_context,
                std::shared_ptr<tls_session_slot> session, socket_settings socket,
                std::weak_ptr<link_handler> handler, dial_handler done) {
    asio::co_spawn(io,
                   dial(io, where, tls, std::move(tls_context), std::move(session),
                        std::move(socket), std::move(handler)),
                   [done = std::move(done)](std::exception_ptr e, dial_result r) {
                       if (e) {
                           done(asio::error::fault, "dial failed unexpectedly", nullptr);
                           return;
                       }
                       done(r.ec, std::move(r.detail), std::move(r.connection));
                   });
}

namespace {

std::shared_ptr<ssl::context> new_tls_context(const tls_options& tls, std::string& problem) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::no_compression);
    boost::system::error_code ec;
    if (!tls.ca_file.empty()) {
        context->load_verify_file(tls.ca_file, ec);
    } else {
        context->set_default_verify_paths(ec);
    }
    if (ec) problem = "tls trust store: " + ec.message();
    // Sessions go to the dialing connection's slot (keep_new_session), not to a cache in the
    // context, which every client of the process shares.
    SSL_CTX* native = context->native_handle();
    SSL_CTX_set_session_cache_mode(native,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, keep_new_session);
    return context;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_options& tls, std::string& problem) {
    // One context per trust store for the whole process: loading the system's store takes
    // milliseconds and about a megabyte, which thousands of clients must not pay each. A context
    // is safe to share between connections on any thread once set up.
    struct cached {
        std::weak_ptr<ssl::context> context;
        std::string problem;
    };
    static std::mutex mutex;
    static std::map<std::string, cached> contexts;
    const auto name = tls.ca_file;
    std::lock_guard lock(mutex);
    auto& slot = contexts[name];
    if (auto shared = slot.context.lock()) {
        problem = slot.problem;
        return shared;
    }
    auto context = new_tls_context(tls, problem);
    slot = {context, problem};
    return context;
}

}  // namespace tern::client::detail
