#include <tern/server/gateway.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <tern/storage/commit_writer.hpp>
#include <tern/storage/rocks_store.hpp>
#include <tern/transport/stream_transport.hpp>
#include <tern/wire/ws_codec.hpp>

#include "admin/admin_server.hpp"
#include "connection.hpp"
#include "core/service.hpp"
#include "endpoint.hpp"
#include "heap_keeper.hpp"
#include "log_throttle.hpp"
#include "logging.hpp"
#include "shard_pool.hpp"
#include "tls_context.hpp"
#include "tls_socket.hpp"
#include "ws_upgrade.hpp"

namespace tern::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::vector<auth::jwt_key> load_keys(const config& cfg) {
    std::vector<auth::jwt_key> keys;
    for (const auto& k : cfg.auth.keys) {
        const std::optional<std::uint64_t> tenant =
            k.tenant == 0 ? std::nullopt : std::optional<std::uint64_t>(k.tenant);
        auto key = k.hmac_secret.empty()
                       ? auth::jwt_key::from_public_pem_file(k.kid, k.public_key_file, tenant)
                       : auth::jwt_key::hmac(k.kid, k.hmac_secret, tenant);
        if (!key && key.error() == boost::system::errc::no_such_file_or_directory) {
            throw std::runtime_error("auth.keys." + k.kid + ": cannot read " + k.public_key_file);
        }
        if (!key) {
            throw std::runtime_error("auth.keys." + k.kid +
                                     ": not a P-256 or Ed25519 public key (or a short secret)");
        }
        keys.push_back(std::move(*key));
    }
    return keys;
}

net::connection_limits limits_of(const config& cfg) {
    const auto& l = cfg.limits;
    net::connection_limits out;
    out.max_frame_bytes = l.max_frame_bytes;
    out.auth_deadline = std::chrono::milliseconds(l.auth_deadline_ms);
    out.max_tls_handshakes = l.max_tls_handshakes;
    out.heartbeat_interval = std::chrono::milliseconds(l.heartbeat_interval_ms);
    out.idle_timeout = std::chrono::milliseconds(l.idle_timeout_ms);
    out.outbound_queue_bytes = l.outbound_queue_bytes;
    out.outbound_queue_frames = l.outbound_queue_frames;
    out.inbound_frames_per_second = l.inbound_frames_per_second;
    out.inbound_burst = l.inbound_burst;
    out.max_group_members = l.max_group_members;
    out.max_content_bytes = l.max_content_bytes;
    out.sync_page_max = l.sync_page_max;
    out.recall_window_seconds = l.recall_window_seconds;
    out.max_devices_per_user = l.max_devices_per_user;
    out.max_presence_subscriptions = l.max_presence_subscriptions;
    out.read_count_interval = std::chrono::milliseconds(l.read_count_interval_ms);
    return out;
}

storage::durability durability_of(const config& cfg) {
    if (cfg.server.durability == "os") return storage::durability::os;
    if (cfg.server.durability == "memory") return storage::durability::memory;
    return storage::durability::fsync;
}

storage::background_priority background_priority_of(const config& cfg) {
    const auto& p = cfg.server.store_background_priority;
    if (p == "normal") return storage::background_priority::normal;
    if (p == "idle") return storage::background_priority::idle;
    return storage::background_priority::low;
}

std::unique_ptr<storage::store> open_store(const config& cfg) {
    storage::rocks_options options;
    options.path = cfg.server.data_dir;
    options.background = background_priority_of(cfg);
    auto store = storage::open_rocks_store(options);
    if (!store) {
        throw std::runtime_error("server.data_dir " + cfg.server.data_dir + ": " +
                                 store.error().message());
    }
    return std::move(*store);
}

storage::commit_observer commit_observer_of(server::metrics& m) {
    return {[&m](std::size_t entries, std::chrono::nanoseconds took, bool failed) {
                m.committed(entries, took, failed);
            },
            [&m](std::chrono::nanoseconds took, bool failed) { m.synced(took, failed); }};
}

core::decide_limits decide_limits_of(const config& cfg) {
    core::decide_limits d;
    d.max_content_bytes = cfg.limits.max_content_bytes;
    d.max_group_members = cfg.limits.max_group_members;
    d.recall_window = std::chrono::seconds(cfg.limits.recall_window_seconds);
    return d;
}

}  // namespace

struct gateway::impl {
    impl(const config& cfg, std::unique_ptr<storage::store> given)
        : metrics({TERN_VERSION, TERN_BUILD_TYPE}),
          shards(cfg.server.shards),
          verifier({cfg.auth.issuer, cfg.auth.audience, cfg.auth.allow_hs256,
                    std::chrono::seconds(cfg.auth.max_skew_seconds), 8192},
                   load_keys(cfg)),
          store(given ? std::move(given) : open_store(cfg)),
          writer(*store, {durability_of(cfg), 4096, commit_observer_of(metrics)}),
          core(shards, *store, writer, decide_limits_of(cfg), limits_of(cfg), metrics),
          tcp_address(cfg.listen.tcp),
          ws_address(cfg.listen.ws),
          tls_address(cfg.listen.tls),
          wss_address(cfg.listen.wss),
          allowed_origins(cfg.websocket.allowed_origins),
          admin_address(cfg.admin.listen),
          admin_token(cfg.admin.token),
          drain_window(std::chrono::seconds(cfg.admin.drain_seconds)),
          durability(cfg.server.durability),
          heap(std::chrono::milliseconds(cfg.server.heap_release_interval_ms),
               std::uint64_t{cfg.server.heap_free_reserve_mib} << 20,
               [this](std::uint64_t bytes) { metrics.heap_released(bytes); }) {
        settings.limits = limits_of(cfg);
        settings.verifier = &verifier;
        settings.handler = &core;
        settings.metrics = &metrics;
        if (!tls_address.empty() || !wss_address.empty()) {
            reload_tls(cfg.tls.cert_file, cfg.tls.key_file);
        }
    }

    // New handshakes take the newest context. Every context loaded stays alive: a TLS stream
    // must not outlive its context, and reloads are rare (SIGHUP).
    void reload_tls(const std::string& cert_file, const std::string& key_file) {
        auto context =
            std::make_shared<asio::ssl::context>(net::make_server_tls_context(cert_file, key_file));
        std::lock_guard lock(tls_mutex);
        tls_contexts.push_back(std::move(context));
    }

    std::shared_ptr<asio::ssl::context> current_tls() {
        std::lock_guard lock(tls_mutex);
        return tls_contexts.empty() ? nullptr : tls_contexts.back();
    }

    // TLS handshakes in progress over both TLS listeners. Each holds about 60 KB of OpenSSL
    // state and costs crypto work, so clients that never finish, or fail and retry, would
    // otherwise grow ternd's memory without bound (1.1 GB seen with 19,000 clients failing
    // verification). At limits.max_tls_handshakes each TLS listener holds the socket it
    // accepted last, with no TLS state yet, and the kernel's backlog holds the rest.
    std::atomic<std::size_t> tls_handshakes{0};
    log_throttle accept_warnings{std::chrono::seconds(1)};

    // Counts one TLS handshake from its accept to the end of its handshake (and wss upgrade).
    // A default-constructed slot counts nothing (the plain listeners' sockets).
    class handshake_slot {
    public:
        handshake_slot() = default;
        explicit handshake_slot(impl& gw) : gw_(&gw) {
            ++gw.tls_handshakes;
            gw.metrics.tls_handshakes_in_progress(1);
        }
        handshake_slot(handshake_slot&& other) noexcept : gw_(std::exchange(other.gw_, nullptr)) {}
        handshake_slot(const handshake_slot&) = delete;
        handshake_slot& operator=(const handshake_slot&) = delete;
        handshake_slot& operator=(handshake_slot&&) = delete;
        ~handshake_slot() { release(); }
        void release() {
            if (!gw_) return;
            --gw_->tls_handshakes;
            gw_->metrics.tls_handshakes_in_progress(-1);
            gw_ = nullptr;
        }

    private:
        impl* gw_ = nullptr;
    };

    // On shard 0, after a TLS listener accepted: waits while the bound is reached. It checks
    // again every few milliseconds rather than being woken by the shards that finish
    // handshakes: only an overloaded listener waits, and a poll cannot miss a wake-up.
    asio::awaitable<void> room_for_handshake() {
        if (tls_handshakes.load() < settings.limits.max_tls_handshakes) co_return;
        asio::steady_timer poll(co_await asio::this_coro::executor);
        while (tls_handshakes.load() >= settings.limits.max_tls_handshakes) {
            poll.expires_after(std::chrono::milliseconds(2));
            auto [ec] = co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
        }
    }

    // Accepts on shard 0 and hands each socket to the next shard, for life. A TLS listener
    // hands a socket over only when there is room among the handshakes in progress.
    template <class OnSocket>
    asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, transport_kind kind,
                                      OnSocket on_socket) {
        const bool tls = kind == transport_kind::tls || kind == transport_kind::wss;
        for (;;) {
            const auto shard = shards.next();
            auto [ec, socket] = co_await acceptor.async_accept(shards.context(shard),
                                                               asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {
                // Out of file descriptors and the like: the same error comes back at once, so
                // pause rather than spin, and log once a second.
                if (std::uint64_t held = 0; accept_warnings.allow(held)) {
                    spdlog::warn("accept failed: {} ({} more since the last of these warnings)",
                                 ec.message(), held);
                }
                asio::steady_timer pause(co_await asio::this_coro::executor,
                                         std::chrono::milliseconds(50));
                co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            // A TLS socket waits here, with no TLS state yet, until the bound has room; the
            // check and the count are both on shard 0, so the bound holds exactly.
            if (tls) co_await room_for_handshake();
            auto slot = tls ? handshake_slot(*this) : handshake_slot();
            metrics.accepted(kind);
            socket.set_option(tcp::no_delay(true), ec);
            auto executor = socket.get_executor();
            asio::post(executor,
                       [on_socket, shard, s = std::move(socket), slot = std::move(slot)]() mutable {
                           on_socket(std::move(s), shard, std::move(slot));
                       });
        }
    }

    void start_tcp(net::shard_socket socket, std::size_t shard) {
        start_connection(transport::stream_transport<net::shard_socket>(
                             std::move(socket), settings.limits.max_frame_bytes),
                         transport_kind::tcp, shard);
    }

    // Cancels what a socket waits for once the auth deadline passes, unless the handshake or
    // upgrade it guards ended first (it is disarmed when it goes, so a timer that fired as they
    // ended leaves the socket, by then the connection's, alone).
    class deadline_guard {
    public:
        deadline_guard(net::shard_socket& socket, std::chrono::milliseconds deadline)
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

    // A TLS connection (tls) or WebSocket over TLS (wss): the handshake on our own stream
    // (net/tls_socket.hpp: no buffers held while idle), then for wss the upgrade, both within
    // the auth deadline.
    asio::awaitable<void> accept_tls(net::shard_socket socket, std::size_t shard, bool websocket,
                                     handshake_slot slot) {
        net::tls_socket tls(std::move(socket), current_tls()->native_handle());
        std::optional<std::string> early;
        {
            const deadline_guard deadline(tls.next_layer(), settings.limits.auth_deadline);
            auto [ec] = co_await tls.async_handshake(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                metrics.rejected(reject_reason::tls_handshake);  // not TLS, too old, too slow
                co_return;
            }
            metrics.tls_handshake(tls.session_reused());
            if (websocket) {
                early = co_await net::accept_upgrade(tls, {&allowed_origins}, metrics);
                if (!early) co_return;
            }
        }
        slot.release();
        if (websocket) {
            start_websocket(std::move(tls), *early, transport_kind::wss, shard);
        } else {
            start_connection(transport::stream_transport<net::tls_socket>(
                                 std::move(tls), settings.limits.max_frame_bytes),
                             transport_kind::tls, shard);
        }
    }

    // A WebSocket connection: the upgrade (net/ws_upgrade.hpp) within the auth deadline.
    asio::awaitable<void> accept_ws(net::shard_socket socket, std::size_t shard) {
        std::optional<std::string> early;
        {
            const deadline_guard deadline(socket, settings.limits.auth_deadline);
            early = co_await net::accept_upgrade(socket, {&allowed_origins}, metrics);
        }
        if (early) start_websocket(std::move(socket), *early, transport_kind::ws, shard);
    }

    // WebSocket frames over the stream: read by wire::ws_reader, written with the server's frame
    // header before each Frame (framing::websocket).
    template <class Stream>
    void start_websocket(Stream stream, const std::string& early, transport_kind kind,
                         std::size_t shard) {
        transport::stream_transport<Stream, wire::ws_reader> t(std::move(stream),
                                                               settings.limits.max_frame_bytes);
        t.preload(early);
        start_connection(std::move(t), kind, shard);
    }

    template <class Transport>
    void start_connection(Transport transport, transport_kind kind, std::size_t shard) {
        auto conn = std::make_shared<net::connection<Transport>>(
            std::move(transport), kind, shards.context(shard).get_executor(), shard, settings);
        conn->start();
    }

    std::unique_ptr<tcp::acceptor> listen(const std::string& key, const std::string& address) {
        const auto endpoint = net::parse_endpoint(key, address);
        auto acceptor = std::make_unique<tcp::acceptor>(shards.context(0));
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

    // Destroyed in reverse: connections (with the shards' contexts) go last, after the core, the
    // writer and the store; stop() has already stopped the shards and drained the writer. The
    // metrics outlive them all (connections count themselves out as they go).
    server::metrics metrics;
    net::shard_pool shards;
    auth::jwt_verifier verifier;
    std::unique_ptr<storage::store> store;
    storage::commit_writer writer;
    core::service core;
    net::connection_settings settings;
    std::string tcp_address;
    std::string ws_address;
    std::string tls_address;
    std::string wss_address;
    std::vector<std::string> allowed_origins;
    std::mutex tls_mutex;
    std::vector<std::shared_ptr<asio::ssl::context>> tls_contexts;  // the last is current
    std::unique_ptr<tcp::acceptor> tcp_acceptor;
    std::unique_ptr<tcp::acceptor> ws_acceptor;
    std::unique_ptr<tcp::acceptor> tls_acceptor;
    std::unique_ptr<tcp::acceptor> wss_acceptor;
    std::string admin_address;
    std::string admin_token;
    std::chrono::seconds drain_window;
    std::string durability;
    std::unique_ptr<admin::admin_server> admin;
    heap_keeper heap;
    std::atomic<bool> started{false};
    std::atomic<bool> draining{false};
    std::int64_t started_at_ms = 0;

    // Closes the listeners, on shard 0 where they accept.
    void close_listeners() {
        std::promise<void> closed;
        asio::post(shards.context(0), [this, &closed] {
            boost::system::error_code ignored;
            for (auto* a : {&tcp_acceptor, &ws_acceptor, &tls_acceptor, &wss_acceptor}) {
                if (*a) (*a)->close(ignored);
            }
            closed.set_value();
        });
        closed.get_future().wait();
    }

    void drain(std::chrono::seconds window) {
        if (draining.exchange(true)) return;
        spdlog::warn("draining: listeners closed, {} connection(s) told to reconnect over {} s",
                     metrics.connections(), window.count());
        metrics.set_draining(true);
        close_listeners();
        core.drain(window);
    }

    nlohmann::json varz() {
        const auto stats = writer.stats();
        const auto now = net::unix_ms();
        return {
            {"version", TERN_VERSION},
            {"build_type", TERN_BUILD_TYPE},
            {"pid", ::getpid()},
            {"started_at_ms", started_at_ms},
            {"uptime_seconds", (now - started_at_ms) / 1000},
            {"ready", started && !draining},
            {"draining", draining.load()},
            {"shards", shards.size()},
            {"durability", durability},
            {"connections", metrics.connections()},
            {"listeners",
             {{"tcp", port_of(tcp_acceptor)},
              {"tls", port_of(tls_acceptor)},
              {"ws", port_of(ws_acceptor)},
              {"wss", port_of(wss_acceptor)},
              {"admin", admin ? admin->port() : 0}}},
            {"store",
             {{"commits", stats.commits},
              {"entries", stats.entries},
              {"failed_commits", stats.failed_commits},
              {"max_batch", stats.max_batch},
              {"syncs", stats.syncs}}},
            {"limits",
             {{"max_frame_bytes", settings.limits.max_frame_bytes},
              {"outbound_queue_bytes", settings.limits.outbound_queue_bytes},
              {"inbound_frames_per_second", settings.limits.inbound_frames_per_second},
              {"max_devices_per_user", settings.limits.max_devices_per_user},
              {"max_group_members", settings.limits.max_group_members}}},
        };
    }

    nlohmann::json connz(std::uint64_t after, std::size_t limit) {
        auto answer = core.sessions(after, limit + 1);
        if (!answer) throw admin::unavailable(shard_late());
        auto& list = *answer;
        const bool more = list.size() > limit;
        if (more) list.resize(limit);
        nlohmann::json items = nlohmann::json::array();
        for (const auto& c : list) {
            items.push_back({{"id", c.id},
                             {"tenant", c.who.tenant},
                             {"user", c.who.user},
                             {"device", c.who.device},
                             {"transport", transport_name(c.transport)},
                             {"remote", c.remote},
                             {"shard", c.shard},
                             {"connected_at_ms", c.connected_at_ms},
                             {"queued_bytes", c.queued_bytes}});
        }
        nlohmann::json page = {{"connections", items}, {"total", metrics.connections()}};
        page["next_after"] = more ? nlohmann::json(list.back().id) : nlohmann::json(nullptr);
        return page;
    }

    static std::string shard_late() {
        return "a shard did not answer within " +
               std::to_string(core::service::admin_wait.count() / 1000) +
               " s (busy or stuck): try again; a kick still closes the connections when the "
               "shard gets to it";
    }

    admin::routes admin_routes() {
        admin::routes r;
        r.metrics = [this] { return metrics.scrape(); };
        r.not_ready = [this]() -> std::optional<std::string> {
            if (!started) return "starting";
            if (draining) return "draining";
            return std::nullopt;
        };
        r.varz = [this] { return varz(); };
        r.connz = [this](std::uint64_t after, std::size_t limit) { return connz(after, limit); };
        r.drain = [this](std::optional<std::uint32_t> seconds) {
            const auto window = seconds ? std::chrono::seconds(*seconds) : drain_window;
            const bool already = draining.load();
            drain(window);
            return nlohmann::json{{"draining", true},
                                  {"already", already},
                                  {"window_seconds", window.count()},
                                  {"connections", metrics.connections()}};
        };
        r.kick = [this](std::uint64_t tenant, std::uint64_t user,
                        std::optional<std::uint64_t> device) {
            const auto kicked = core.kick(tenant, user, device);
            if (!kicked) throw admin::unavailable(shard_late());
            return *kicked;
        };
        r.set_log_level = [](const std::string& level) { return set_log_level(level); };
        r.answered = [this](unsigned status) { metrics.admin_request(status); };
        return r;
    }

    static std::uint16_t port_of(const std::unique_ptr<tcp::acceptor>& a) {
        boost::system::error_code ec;
        return a ? a->local_endpoint(ec).port() : 0;
    }

    static const char* transport_name(transport_kind t) {
        switch (t) {
            case transport_kind::tcp:
                return "tcp";
            case transport_kind::tls:
                return "tls";
            case transport_kind::ws:
                return "ws";
            case transport_kind::wss:
                return "wss";
        }
        return "?";
    }
};

gateway::gateway(const config& cfg) : impl_(std::make_unique<impl>(cfg, nullptr)) {}

gateway::gateway(const config& cfg, std::unique_ptr<storage::store> store)
    : impl_(std::make_unique<impl>(cfg, std::move(store))) {}

gateway::~gateway() { stop(); }

void gateway::start() {
    auto& i = *impl_;
    if (!i.tcp_address.empty()) {
        i.tcp_acceptor = i.listen("listen.tcp", i.tcp_address);
        asio::co_spawn(i.shards.context(0),
                       i.accept_loop(*i.tcp_acceptor, transport_kind::tcp,
                                     [&i](net::shard_socket s, std::size_t shard, auto) {
                                         i.start_tcp(std::move(s), shard);
                                     }),
                       asio::detached);
    }
    if (!i.ws_address.empty()) {
        i.ws_acceptor = i.listen("listen.ws", i.ws_address);
        asio::co_spawn(i.shards.context(0),
                       i.accept_loop(*i.ws_acceptor, transport_kind::ws,
                                     [&i](net::shard_socket s, std::size_t shard, auto) {
                                         auto executor = s.get_executor();
                                         asio::co_spawn(executor, i.accept_ws(std::move(s), shard),
                                                        asio::detached);
                                     }),
                       asio::detached);
    }
    for (auto [address, acceptor, key, websocket] :
         {std::tuple{&i.tls_address, &i.tls_acceptor, "listen.tls", false},
          std::tuple{&i.wss_address, &i.wss_acceptor, "listen.wss", true}}) {
        if (address->empty()) continue;
        *acceptor = i.listen(key, *address);
        asio::co_spawn(
            i.shards.context(0),
            i.accept_loop(**acceptor, websocket ? transport_kind::wss : transport_kind::tls,
                          [&i, websocket = websocket](net::shard_socket s, std::size_t shard,
                                                      impl::handshake_slot slot) {
                              auto executor = s.get_executor();
                              asio::co_spawn(
                                  executor,
                                  i.accept_tls(std::move(s), shard, websocket, std::move(slot)),
                                  asio::detached);
                          }),
            asio::detached);
    }
    i.shards.start();
    // Before the admin thread starts: varz reads it there.
    i.started_at_ms = net::unix_ms();
    if (!i.admin_address.empty()) {
        i.admin =
            std::make_unique<admin::admin_server>(i.admin_address, i.admin_token, i.admin_routes());
        i.admin->start();
    }
    i.started = true;
}

void gateway::stop() {
    if (!impl_) return;
    if (impl_->admin) impl_->admin->stop();  // its routes wait on the shards: before them
    impl_->shards.stop();
    impl_->writer.stop();  // commits what is pending; its completions only post
    // In `os` mode acked data may still be in the OS's cache only: a clean stop syncs it.
    if (const auto synced = impl_->store->sync(); !synced) {
        spdlog::error("syncing the store at stop failed: {}", synced.error().message());
    }
    impl_->tcp_acceptor.reset();
    impl_->ws_acceptor.reset();
    impl_->tls_acceptor.reset();
    impl_->wss_acceptor.reset();
}

std::uint16_t gateway::tcp_port() const noexcept { return impl::port_of(impl_->tcp_acceptor); }
std::uint16_t gateway::ws_port() const noexcept { return impl::port_of(impl_->ws_acceptor); }
std::uint16_t gateway::tls_port() const noexcept { return impl::port_of(impl_->tls_acceptor); }
std::uint16_t gateway::wss_port() const noexcept { return impl::port_of(impl_->wss_acceptor); }
std::uint16_t gateway::admin_port() const noexcept {
    return impl_->admin ? impl_->admin->port() : 0;
}

void gateway::drain(std::optional<std::chrono::seconds> window) {
    impl_->drain(window.value_or(impl_->drain_window));
}

bool gateway::draining() const noexcept { return impl_->draining; }

std::int64_t gateway::connections() const { return impl_->metrics.connections(); }

void gateway::reload_tls(const std::string& cert_file, const std::string& key_file) {
    if (impl_->tls_address.empty() && impl_->wss_address.empty()) return;
    impl_->reload_tls(cert_file, key_file);
}

}  // namespace tern::server
