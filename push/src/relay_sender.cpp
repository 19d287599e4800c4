#include <tern/push/relay_sender.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace tern::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

constexpr std::size_t max_reply_bytes = 64 * 1024;
// A connection idle longer than this is not used again: relays and proxies close idle ones
// (nginx after 75 s, Node after 5 s by default), and a post on a closed one costs a round trip.
constexpr auto max_idle = std::chrono::seconds(4);

struct parsed_url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;
};

parsed_url parse_url(const std::string& url) {
    parsed_url out;
    std::string_view rest(url);
    if (rest.starts_with("https://")) {
        out.tls = true;
        rest.remove_prefix(8);
    } else if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else {
        throw std::invalid_argument("the push relay's URL must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    const auto authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
        out.host = authority.substr(0, colon);
        out.port = authority.substr(colon + 1);
    } else {
        out.host = authority;
        out.port = out.tls ? "443" : "80";
    }
    if (out.host.empty() || out.port.empty()) {
        throw std::invalid_argument("the push relay's URL has no host: " + url);
    }
    return out;
}

std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

const char* to_string(outcome o) noexcept {
    switch (o) {
        case outcome::sent:
            return "sent";
        case outcome::coalesced:
            return "coalesced";
        case outcome::cancelled:
            return "cancelled";
        case outcome::failed:
            return "failed";
        case outcome::dropped:
            return "dropped";
        case outcome::retried:
            return "retried";
        case outcome::token_invalid:
            return "token_invalid";
    }
    return "unknown";
}

struct relay_sender::impl {
    impl(relay_settings s, relay_observer o)
        : settings(std::move(s)),
          observer(std::move(o)),
          url(parse_url(settings.url)),
          queue(settings.queue),
          tls(asio::ssl::context::tls_client),
          timer(io) {
        if (url.tls) {
            tls.set_default_verify_paths();
            tls.set_verify_mode(asio::ssl::verify_peer);
        }
    }

    void count(outcome o, std::size_t n = 1) {
        if (observer.counted && n != 0) observer.counted(o, n);
    }

    // Logs a failure at most once a second, saying how many were held back.
    void warn(const std::string& what) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_warned < std::chrono::seconds(1)) {
            ++held_back;
            return;
        }
        spdlog::warn("push relay: {}{}", what,
                     held_back ? " (" + std::to_string(held_back) + " more held back)" : "");
        held_back = 0;
        last_warned = now;
    }

    // Starts what is due, up to the concurrency, and wakes up for the next due push. The
    // sender's thread.
    void pump() {
        const auto now = push_queue::clock::now();
        std::optional<push_queue::clock::time_point> next;
        {
            std::lock_guard lock(mutex);
            while (active < settings.concurrency) {
                auto t = queue.take(now);
                if (!t) break;
                ++active;
                asio::co_spawn(io, post(std::move(*t)), asio::detached);
            }
            next = queue.next_due();
        }
        if (next && *next > now) {
            timer.expires_at(*next);
            // The io_context lives in this object and stops before it goes: `this` outlives every
            // handler that runs.
            timer.async_wait([this](boost::system::error_code ec) {
                if (!ec) pump();
            });
        }
    }

    awaitable<void> post(push_queue::taken t) {
        if (observer.badge) {
            if (const auto badge = observer.badge(t.message.to)) t.message.badge = *badge;
        }
        const auto request = settings.kind == contract::webhook
                                 ? webhook_post(t.message, settings.secret, unix_seconds())
                                 : matrix_post(t.message);
        unsigned status = 0;
        std::string reply;
        std::string problem;
        try {
            std::tie(status, reply) = co_await exchange(request);
        } catch (const boost::system::system_error& e) {
            problem = e.code().message();  // what() names Beast's source lines too
        } catch (const std::exception& e) {
            problem = e.what();
        }
        auto v = verdict::retry;
        if (problem.empty()) {
            v = settings.kind == contract::webhook ? webhook_verdict(status)
                                                   : matrix_verdict(status, reply, t.message.token);
        }
        settle(t, v, problem.empty() ? "answered " + std::to_string(status) : problem);
        pump();
    }

    // One connection to the relay, kept for the next post while the relay keeps it alive.
    struct connection {
        std::optional<beast::tcp_stream> plain;
        std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
        beast::flat_buffer buffer;
        std::chrono::steady_clock::time_point idle_since{};

        beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    };

    // An idle connection that is recent enough to trust, else none. The sender's thread.
    std::unique_ptr<connection> take_idle() {
        const auto now = std::chrono::steady_clock::now();
        while (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            if (now - c->idle_since < max_idle) return c;
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<connection> c) {
        if (idle.size() >= settings.concurrency) return;  // closes it
        c->idle_since = std::chrono::steady_clock::now();
        idle.push_back(std::move(c));
    }

    awaitable<std::unique_ptr<connection>> open() {
        auto ex = co_await asio::this_coro::executor;
        tcp::resolver resolver(ex);
        const auto where = co_await resolver.async_resolve(url.host, url.port, use_awaitable);
        auto c = std::make_unique<connection>();
        c->plain.emplace(ex);
        c->plain->expires_after(settings.timeout);
        co_await c->plain->async_connect(where, use_awaitable);
        if (!url.tls) co_return c;
        c->secure.emplace(std::move(*c->plain), tls);
        c->plain.reset();
        // SSL_set_tlsext_host_name is a macro with a C cast; this is the call it makes.
        if (SSL_ctrl(c->secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                     TLSEXT_NAMETYPE_host_name, const_cast<char*>(url.host.c_str())) != 1) {
            throw std::runtime_error("TLS: cannot set the server name");
        }
        c->secure->set_verify_callback(asio::ssl::host_name_verification(url.host));
        co_await c->secure->async_handshake(asio::ssl::stream_base::client, use_awaitable);
        co_return c;
    }

    struct answer {
        unsigned status = 0;
        std::string body;
        bool keep_alive = false;
    };

    awaitable<answer> round_trip(connection& c, const http::request<http::string_body>& req) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_reply_bytes);
        c.lowest().expires_after(settings.timeout);
        if (c.secure) {
            co_await http::async_write(*c.secure, req, use_awaitable);
            co_await http::async_read(*c.secure, c.buffer, parser, use_awaitable);
        } else {
            co_await http::async_write(*c.plain, req, use_awaitable);
            co_await http::async_read(*c.plain, c.buffer, parser, use_awaitable);
        }
        co_return answer{parser.get().result_int(), parser.get().body(), parser.get().keep_alive()};
    }

    // Posts on a kept connection when there is one (a relay may have closed it meanwhile: then
    // once more on a new one), else on a new one; the connection is kept for the next post when
    // the relay keeps it alive. Each step is bounded by the timeout.
    awaitable<std::pair<unsigned, std::string>> exchange(const http_post& p) {
        http::request<http::string_body> req{http::verb::post, url.target, 11};
        req.set(http::field::host, url.host);
        req.set(http::field::user_agent, "ternd");
        for (const auto& [name, value] : p.headers) req.set(name, value);
        req.body() = p.body;
        req.keep_alive(true);
        req.prepare_payload();
        if (auto kept = take_idle()) {
            std::optional<answer> a;
            try {
                a = co_await round_trip(*kept, req);
            } catch (const std::exception&) {
                // a connection the relay closed while it was idle: a new one below
            }
            if (a) {
                if (a->keep_alive) give_back(std::move(kept));
                co_return std::pair{a->status, std::move(a->body)};
            }
        }
        auto fresh = co_await open();
        auto a = co_await round_trip(*fresh, req);
        if (a.keep_alive) give_back(std::move(fresh));
        co_return std::pair{a.status, std::move(a.body)};
    }

    // Updates the queue under the lock; counts, logs and reports a dead token after it, so that
    // no observer (metrics, the core) ever runs under the queue's lock. The sender's thread.
    void settle(const push_queue::taken& t, verdict v, const std::string& why) {
        outcome result = outcome::sent;
        {
            std::lock_guard lock(mutex);
            --active;
            switch (v) {
                case verdict::delivered:
                    queue.done(t.id);
                    break;
                case verdict::token_invalid:
                    queue.done(t.id);
                    queue.forget(t.message.to);
                    result = outcome::token_invalid;
                    break;
                case verdict::refused:
                    queue.done(t.id);
                    result = outcome::failed;
                    break;
                case verdict::retry:
                    result = queue.retry_later(t.id, push_queue::clock::now()) ? outcome::retried
                                                                               : outcome::failed;
                    break;
            }
        }
        // A dead token is reported before it is counted: once the count shows it, its
        // registration is on its way out.
        if (result == outcome::token_invalid && observer.token_invalid) {
            observer.token_invalid(t.message.to, t.message.token);
        }
        count(result);
        const auto where = "a push to tenant " + std::to_string(t.message.to.tenant) + " user " +
                           std::to_string(t.message.to.user) + " device " +
                           std::to_string(t.message.to.device);
        if (result == outcome::retried) {
            warn(where + " not taken (" + why + "): asked again later");
        } else if (result == outcome::failed) {
            warn(where + (v == verdict::refused ? " refused: " + why
                                                : " given up after " + std::to_string(t.attempt) +
                                                      " attempts: " + why));
        }
    }

    relay_settings settings;
    relay_observer observer;
    parsed_url url;
    mutable std::mutex mutex;  // the queue and `active`
    push_queue queue;
    std::size_t active = 0;
    asio::io_context io;
    asio::ssl::context tls;
    asio::steady_timer timer;
    // Connections the relay kept alive, at most `concurrency`; the sender's thread only.
    std::vector<std::unique_ptr<connection>> idle;
    std::chrono::steady_clock::time_point last_warned{};  // warn(): the sender's thread only
    std::size_t held_back = 0;
    std::thread thread;
};

relay_sender::relay_sender(relay_settings settings, relay_observer observer)
    : impl_(std::make_shared<impl>(std::move(settings), std::move(observer))) {
    impl_->thread = std::thread([i = impl_.get()] {
        auto work = asio::make_work_guard(i->io);
        i->io.run();
    });
}

relay_sender::~relay_sender() {
    impl_->io.stop();
    impl_->thread.join();
}

void relay_sender::submit(push_message m, std::chrono::milliseconds delay) {
    push_queue::offered o;
    {
        std::lock_guard lock(impl_->mutex);
        o = impl_->queue.offer(std::move(m), push_queue::clock::now(), delay);
    }
    switch (o) {
        case push_queue::offered::queued:
            asio::post(impl_->io, [i = impl_.get()] { i->pump(); });
            return;
        case push_queue::offered::coalesced:
            // It may have moved the device's push earlier (a push that does not wait).
            asio::post(impl_->io, [i = impl_.get()] { i->pump(); });
            return impl_->count(outcome::coalesced);
        case push_queue::offered::full:
            return impl_->count(outcome::dropped);
    }
}

void relay_sender::read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
                        std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) {
    std::size_t dropped = 0;
    {
        std::lock_guard lock(impl_->mutex);
        dropped = impl_->queue.read(tenant, user, conv_type, conv_id, conv_peer, up_to);
    }
    impl_->count(outcome::cancelled, dropped);
}

std::size_t relay_sender::depth() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->queue.depth();
}

}  // namespace tern::push
