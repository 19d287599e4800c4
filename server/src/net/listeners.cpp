#include "listeners.hpp"

#include <future>
#include <optional>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <tern/transport/stream_transport.hpp>
#include <tern/wire/ws_codec.hpp>

#include "connection.hpp"
#include "endpoint.hpp"
#include "tls_socket.hpp"
#include "ws_upgrade.hpp"

namespace tern::server::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Cancels what a socket waits for once the auth deadline passes, unless the handshake or upgrade
// it guards ended first (it is disarmed when it goes, so a timer that fired as they ended leaves
// the socket, by then the connection's, alone).
class deadline_guard {
public:
    deadline_guard(shard_socket& socket, std::chrono::milliseconds deadline)
        : armed_(std::make_shared<bool>(true)), timer_(socket.get_executor(), deadline) {
        timer_.async_wait([armed = armed_, &socket](const boost::system::error_code& ec) {
            if (!ec && *armed) socket.cancel();
        });
    }
    deadline_guard(const deadline_guard&) = delete;
    deadline_guard& operator=(const deadline_guard&) = delete;
    ~deadline_guard() { *armed_ = false; }

private:
    std::shared_ptr<bool> armed_;
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>,
                               asio::io_context::executor_type>
        timer_;
};

}  // namespace

// The accept loops and the paths from a socket to a connection.
class listeners::accept_paths {
public:
    accept_paths(shard_pool& shards, const connection_settings& settings, const tls_contexts& tls,
                 std::vector<std::string> allowed_origins, server::metrics& metrics)
        : shards_(shards),
          settings_(settings),
          tls_(tls),
          allowed_origins_(std::move(allowed_origins)),
          metrics_(metrics) {}

    // Counts one TLS handshake from its accept to the end of its handshake (and wss upgrade). A
    // default-constructed slot counts nothing (the plain listeners' sockets).
    class handshake_slot {
    public:
        handshake_slot() = default;
        explicit handshake_slot(accept_paths& paths) : paths_(&paths) {
            ++paths.tls_handshakes_;
            paths.metrics_.tls_handshakes_in_progress(1);
        }
        handshake_slot(handshake_slot&& other) noexcept
            : paths_(std::exchange(other.paths_, nullptr)) {}
        handshake_slot(const handshake_slot&) = delete;
        handshake_slot& operator=(const handshake_slot&) = delete;
        handshake_slot& operator=(handshake_slot&&) = delete;
        ~handshake_slot() { release(); }
        void release() {
            if (!paths_) return;
            --paths_->tls_handshakes_;
            paths_->metrics_.tls_handshakes_in_progress(-1);
            paths_ = nullptr;
        }

    private:
        accept_paths* paths_ = nullptr;
    };

    // Accepts on shard 0 and hands each socket to the next shard, for life. A TLS listener hands
    // a socket over only when there is room among the handshakes in progress.
    asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, transport_kind kind) {
        const bool tls = kind == transport_kind::tls || kind == transport_kind::wss;
        for (;;) {
            const auto shard = shards_.next();
            auto [ec, socket] = co_await acceptor.async_accept(shards_.context(shard),
                                                               asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {
                co_await pause_after_failure(ec);
                continue;
            }
            // A TLS socket waits here, with no TLS state yet, until the bound has room; the
            // check and the count are both on shard 0, so the bound holds exactly.
            if (tls) co_await room_for_handshake();
            auto slot = tls ? handshake_slot(*this) : handshake_slot();
            metrics_.accepted(kind);
            socket.set_option(tcp::no_delay(true), ec);
            auto executor = socket.get_executor();
            asio::post(executor, [this, kind, shard, s = std::move(socket),
                                  slot = std::move(slot)]() mutable {
                on_socket(kind, std::move(s), shard, std::move(slot));
            });
        }
    }

private:
    // Out of file descriptors and the like: the same error comes back at once, so pause rather
    // than spin, and log once a second.
    asio::awaitable<void> pause_after_failure(const boost::system::error_code& ec) {
        if (std::uint64_t held = 0; accept_warnings_.allow(held)) {
            spdlog::warn("accept failed: {} ({} more since the last of these warnings)",
                         ec.message(), held);
        }
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }

    // On shard 0: waits while the bound is reached. It checks again every few milliseconds
    // rather than being woken by the shards that finish handshakes: only an overloaded listener
    // waits, and a poll cannot miss a wake-up.
    asio::awaitable<void> room_for_handshake() {
        const auto bound = settings_.limits->max_tls_handshakes;
        if (tls_handshakes_.load() < bound) co_return;
        asio::steady_timer poll(co_await asio::this_coro::executor);
        while (tls_handshakes_.load() >= bound) {
            poll.expires_after(std::chrono::milliseconds(2));
            auto [ec] = co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
        }
    }

    // On the socket's shard.
    void on_socket(transport_kind kind, shard_socket socket, std::size_t shard,
                   handshake_slot slot) {
        switch (kind) {
            case transport_kind::tcp:
                return start_connection(
                    transport::stream_transport<shard_socket>(std::move(socket), max_frame()), kind,
                    shard);
            case transport_kind::ws:
                return asio::co_spawn(socket.get_executor(), accept_ws(std::move(socket), shard),
                                      asio::detached);
            case transport_kind::tls:
            case transport_kind::wss: {
                auto executor = socket.get_executor();
                return asio::co_spawn(executor,
                                      accept_tls(std::move(socket), shard,
                                                 kind == transport_kind::wss, std::move(slot)),
                                      asio::detached);
            }
        }
    }

    // A TLS connection (tls) or WebSocket over TLS (wss): the handshake on our own stream
    // (tls_socket.hpp: no buffers held while idle), then for wss the upgrade, both within the
    // auth deadline.
    asio::awaitable<void> accept_tls(shard_socket socket, std::size_t shard, bool websocket,
                                     handshake_slot slot) {
        tls_socket tls(std::move(socket), tls_.current()->native_handle());
        std::optional<std::string> early;
        {
            const deadline_guard deadline(tls.next_layer(), settings_.limits->auth_deadline);
            auto [ec] = co_await tls.async_handshake(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                metrics_.rejected(reject_reason::tls_handshake);  // not TLS, too old, too slow
                co_return;
            }
            metrics_.tls_handshake(tls.session_reused());
            if (websocket) {
                early = co_await accept_upgrade(tls, {&allowed_origins_}, metrics_);
                if (!early) co_return;
            }
        }
        slot.release();
        if (websocket) {
            start_websocket(std::move(tls), *early, transport_kind::wss, shard);
        } else {
            start_connection(transport::stream_transport<tls_socket>(std::move(tls), max_frame()),
                             transport_kind::tls, shard);
        }
    }

    // A WebSocket connection: the upgrade (ws_upgrade.hpp) within the auth deadline.
    asio::awaitable<void> accept_ws(shard_socket socket, std::size_t shard) {
        std::optional<std::string> early;
        {
            const deadline_guard deadline(socket, settings_.limits->auth_deadline);
            early = co_await accept_upgrade(socket, {&allowed_origins_}, metrics_);
        }
        if (early) start_websocket(std::move(socket), *early, transport_kind::ws, shard);
    }

    // WebSocket frames over the stream: read by wire::ws_reader, written with the server's
    // frame header before each Frame (framing::websocket).
    template <class Stream>
    void start_websocket(Stream stream, const std::string& early, transport_kind kind,
                         std::size_t shard) {
        transport::stream_transport<Stream, wire::ws_reader> t(std::move(stream), max_frame());
        t.preload(early);
        start_connection(std::move(t), kind, shard);
    }

    template <class Transport>
    void start_connection(Transport transport, transport_kind kind, std::size_t shard) {
        auto conn = std::make_shared<connection<Transport>>(
            std::move(transport), kind, shards_.context(shard).get_executor(), shard, settings_);
        conn->start();
    }

    [[nodiscard]] std::size_t max_frame() const noexcept {
        return settings_.limits->max_frame_bytes;
    }

    shard_pool& shards_;
    const connection_settings& settings_;
    const tls_contexts& tls_;
    std::vector<std::string> allowed_origins_;
    server::metrics& metrics_;
    std::atomic<std::size_t> tls_handshakes_{0};
    log_throttle accept_warnings_{std::chrono::seconds(1)};
};

listeners::listeners(shard_pool& shards, const connection_settings& settings,
                     const tls_contexts& tls, std::vector<std::string> allowed_origins,
                     server::metrics& metrics)
    : paths_(std::make_unique<accept_paths>(shards, settings, tls, std::move(allowed_origins),
                                            metrics)),
      shards_(shards) {}

listeners::~listeners() = default;

namespace {

std::unique_ptr<tcp::acceptor> bind_acceptor(asio::io_context& context, const std::string& key,
                                             const std::string& address) {
    const auto endpoint = parse_endpoint(key, address);
    auto acceptor = std::make_unique<tcp::acceptor>(context);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    boost::system::error_code ec;
    acceptor->bind(endpoint, ec);
    if (ec) throw std::runtime_error(key + " " + address + ": " + ec.message());
    // Asio's max_listen_connections is SOMAXCONN (4,096); the kernel caps what we ask at
    // net.core.somaxconn, so an operator who raises it gets a deeper queue for storms.
    acceptor->listen(65535);
    return acceptor;
}

}  // namespace

void listeners::start(const listen_addresses& addresses) {
    const std::array<std::pair<const std::string*, const char*>, 4> configured{{
        {&addresses.tcp, "listen.tcp"},
        {&addresses.tls, "listen.tls"},
        {&addresses.ws, "listen.ws"},
        {&addresses.wss, "listen.wss"},
    }};
    for (std::size_t i = 0; i < configured.size(); ++i) {
        const auto& [address, key] = configured[i];
        if (address->empty()) continue;
        acceptors_[i] = bind_acceptor(shards_.context(0), key, *address);
    }
    for (std::size_t i = 0; i < acceptors_.size(); ++i) {
        if (!acceptors_[i]) continue;
        asio::co_spawn(shards_.context(0),
                       paths_->accept_loop(*acceptors_[i], static_cast<transport_kind>(i)),
                       asio::detached);
    }
}

void listeners::close() {
    std::promise<void> closed;
    asio::post(shards_.context(0), [this, &closed] {
        boost::system::error_code ignored;
        for (auto& a : acceptors_) {
            if (a) a->close(ignored);
        }
        closed.set_value();
    });
    closed.get_future().wait();
}

void listeners::reset() {
    for (auto& a : acceptors_) a.reset();
}

std::uint16_t listeners::port(transport_kind kind) const noexcept {
    const auto& a = acceptors_[static_cast<std::size_t>(kind)];
    boost::system::error_code ec;
    return a ? a->local_endpoint(ec).port() : 0;
}

}  // namespace tern::server::net
