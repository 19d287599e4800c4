#include "admin/admin_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <map>
#include <stdexcept>
#include <thread>

#include <openssl/crypto.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "net/endpoint.hpp"

namespace tern::server::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::chrono::seconds request_timeout{10};
constexpr std::size_t max_admin_connections = 64;
constexpr std::size_t max_connz_page = 1000;
constexpr std::size_t max_body_bytes = 64 * 1024;

response json(unsigned status, const nlohmann::json& body) {
    return {status, "application/json", body.dump() + "\n"};
}

response error(unsigned status, const std::string& message) {
    return json(status, {{"error", message}});
}

// "a=1&b=2" -> {a: 1, b: 2}; nullopt on a malformed or percent-encoded pair (none of our
// parameters needs encoding, so an encoded one is refused rather than half-understood).
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0 || pair.find('%') != std::string_view::npos) {
            return std::nullopt;
        }
        out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

std::optional<std::uint64_t> number(const std::map<std::string, std::string>& q,
                                    const std::string& name) {
    const auto it = q.find(name);
    if (it == q.end()) return std::nullopt;
    std::uint64_t v = 0;
    const auto* end = it->second.data() + it->second.size();
    const auto [ptr, ec] = std::from_chars(it->second.data(), end, v);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return v;
}

// Constant time in the token's length: a guess learns nothing from how long the answer took.
bool authorized(const std::string& token, const std::string& header) {
    constexpr std::string_view scheme = "Bearer ";
    if (header.size() != scheme.size() + token.size() || header.rfind(scheme, 0) != 0) {
        return false;
    }
    return CRYPTO_memcmp(header.data() + scheme.size(), token.data(), token.size()) == 0;
}

// The policy and audit routes: the operator's admin token reaches every tenant, a tenant
// admin's JWT its own. Nullopt: authorized; else the refusal.
std::optional<response> refuse_tenant_caller(const routes& r, const std::string& token,
                                             const std::string& header, std::uint64_t tenant) {
    if (!token.empty() && authorized(token, header)) return std::nullopt;
    constexpr std::string_view scheme = "Bearer ";
    if (r.tenant_admin && header.rfind(scheme, 0) == 0) {
        const auto admin_of = r.tenant_admin(std::string_view(header).substr(scheme.size()));
        if (admin_of && *admin_of == tenant) return std::nullopt;
        if (admin_of) return error(403, "a tenant admin's token reaches its own tenant only");
    }
    if (token.empty() && !r.tenant_admin) {
        return error(403, "admin.token is not set and no token keys: the policy routes are off");
    }
    return error(401, "bearer token required: the admin token or a tenant admin's JWT");
}

// The routes of one tenant's notification policy and audit trail: an operator's or that
// tenant's admin's.
response handle_tenant_route(const routes& r, const std::string& token, const request& req,
                             std::string_view path, const std::map<std::string, std::string>& q) {
    const bool set = req.method == "POST";
    if (path == "/admin/v1/audit" ? req.method != "GET" : !set && req.method != "GET") {
        return error(405, path == "/admin/v1/audit" ? "use GET" : "use GET or POST");
    }
    const auto tenant = number(q, "tenant");
    if (!tenant || *tenant == 0) return error(400, "tenant: a positive integer");
    if (auto refused = refuse_tenant_caller(r, token, req.authorization, *tenant)) {
        return *refused;
    }
    if (path == "/admin/v1/audit") {
        const auto from =
            q.contains("from_ms") ? number(q, "from_ms") : std::optional<std::uint64_t>(0);
        const auto limit =
            q.contains("limit") ? number(q, "limit") : std::optional<std::uint64_t>(100);
        if (!from || *from > static_cast<std::uint64_t>(INT64_MAX) || !limit || *limit == 0 ||
            *limit > 1000) {
            return error(400, "from_ms: a Unix time in ms; limit: 1 to 1000");
        }
        if (!r.audit) return error(404, "no audit trail here");
        return json(200, r.audit(*tenant, static_cast<std::int64_t>(*from),
                                 static_cast<std::size_t>(*limit)));
    }
    if (!r.policy || !r.set_policy) return error(404, "no policies here");
    if (!set) return json(200, r.policy(*tenant));
    auto stored = r.set_policy(*tenant, req.body);
    spdlog::warn("admin: the notification policy of tenant {} replaced", *tenant);
    return json(200, stored);
}

response handle_get(const routes& r, std::string_view path,
                    const std::map<std::string, std::string>& q) {
    if (path == "/metrics") {
        return {200, "text/plain; version=0.0.4; charset=utf-8", r.metrics()};
    }
    if (path == "/livez") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
        if (auto why = r.not_ready()) return {503, "text/plain; charset=utf-8", *why + "\n"};
        return {200, "text/plain; charset=utf-8", "ready\n"};
    }
    if (path == "/admin/v1/varz") return json(200, r.varz());
    if (path == "/admin/v1/partitions") {
        if (!r.partitions) return json(404, {{"error", "not a cluster node"}});
        return json(200, r.partitions());
    }
    if (path == "/admin/v1/connz") {
        const auto after =
            q.contains("after") ? number(q, "after") : std::optional<std::uint64_t>(0);
        const auto limit =
            q.contains("limit") ? number(q, "limit") : std::optional<std::uint64_t>(100);
        if (!after || !limit || *limit == 0 || *limit > max_connz_page) {
            return error(400, "after: a connection id; limit: 1 to 1000");
        }
        return json(200, r.connz(*after, static_cast<std::size_t>(*limit)));
    }
    return error(404, "no such route");
}

response handle_post(const routes& r, std::string_view path,
                     const std::map<std::string, std::string>& q) {
    if (path == "/admin/v1/drain") {
        std::optional<std::uint32_t> seconds;
        if (q.contains("seconds")) {
            const auto s = number(q, "seconds");
            if (!s || *s > 3600) return error(400, "seconds: 0 to 3600");
            seconds = static_cast<std::uint32_t>(*s);
        }
        return json(202, r.drain(seconds));
    }
    if (path == "/admin/v1/kick") {
        const auto tenant = number(q, "tenant");
        const auto user = number(q, "user");
        const auto device = q.contains("device") ? number(q, "device") : std::nullopt;
        if (!tenant || !user || *tenant == 0 || *user == 0 || (q.contains("device") && !device)) {
            return error(400, "tenant and user (and optionally device): positive integers");
        }
        return json(200, {{"kicked", r.kick(*tenant, *user, device)}});
    }
    if (path == "/admin/v1/checkpoint") {
        const auto name = q.find("name");
        const auto valid = [](const std::string& n) {
            return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
            });
        };
        if (name == q.end() || !valid(name->second)) {
            return error(400, "name: 1 to 64 of A-Z a-z 0-9 - _");
        }
        if (!r.checkpoint) return error(404, "this store makes no checkpoints (memory)");
        return json(201, r.checkpoint(name->second));
    }
    if (path == "/admin/v1/partitions/remove-peer") {
        const auto partition = number(q, "partition");
        const auto peer = q.find("peer");
        if (!partition || *partition > 0xffff || peer == q.end() || peer->second.empty()) {
            return error(400, "partition: a partition number; peer: a node name");
        }
        if (!r.remove_peer) return error(404, "not a cluster node");
        return json(202, r.remove_peer(static_cast<std::uint32_t>(*partition), peer->second));
    }
    if (path == "/admin/v1/loglevel") {
        const auto level = q.find("level");
        if (level == q.end() || !r.set_log_level(level->second)) {
            return error(400, "level: trace, debug, info, warn, error or off");
        }
        spdlog::warn("log level set to {} through the admin API", level->second);
        return json(200, {{"level", level->second}});
    }
    return error(404, "no such route");
}

bool is_post_route(std::string_view path) {
    return path == "/admin/v1/drain" || path == "/admin/v1/kick" || path == "/admin/v1/loglevel" ||
           path == "/admin/v1/checkpoint" || path == "/admin/v1/partitions/remove-peer";
}

}  // namespace

namespace {

response route(const routes& r, const std::string& token, const request& req, std::string_view path,
               const std::map<std::string, std::string>& query) {
    if (path == "/admin/v1/policy" || path == "/admin/v1/audit") {
        return handle_tenant_route(r, token, req, path, query);
    }
    if (!req.body.empty()) return error(400, "this route takes no body");
    if (is_post_route(path)) {
        if (req.method != "POST") return error(405, "use POST");
        if (token.empty()) return error(403, "admin.token is not set: changing routes are off");
        if (!authorized(token, req.authorization)) return error(401, "bearer token required");
        return handle_post(r, path, query);
    }
    if (req.method != "GET" && req.method != "HEAD") return error(405, "use GET");
    return handle_get(r, path, query);
}

}  // namespace

response handle(const routes& r, const std::string& token, const request& req) {
    const std::string_view target = req.target;
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query =
        parse_query(question == std::string_view::npos ? "" : target.substr(question + 1));
    if (!query) return error(400, "malformed query string");
    try {
        return route(r, token, req, path, *query);
    } catch (const unavailable& e) {
        return error(503, e.what());
    } catch (const conflict& e) {
        return error(409, e.what());
    } catch (const bad_request& e) {
        return error(400, e.what());
    } catch (const std::exception& e) {
        spdlog::error("admin {} {}: {}", req.method, path, e.what());
        return error(500, "internal error (logged)");
    }
}

struct admin_server::impl {
    impl(const std::string& address, std::string t, routes r)
        : token(std::move(t)), routes_(std::move(r)), acceptor(io) {
        const auto endpoint = net::parse_endpoint("admin.listen", address);
        acceptor.open(endpoint.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        boost::system::error_code ec;
        acceptor.bind(endpoint, ec);
        if (ec) throw std::runtime_error("admin.listen " + address + ": " + ec.message());
        acceptor.listen();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {
                spdlog::warn("admin accept failed: {}", ec.message());
                continue;
            }
            if (open_connections >= max_admin_connections) continue;  // closes the socket
            asio::co_spawn(io, serve(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }

    // One connection: requests until the peer closes, keep-alive ends or one is bad.
    asio::awaitable<void> serve(beast::tcp_stream stream) {
        ++open_connections;
        beast::flat_buffer buffer;
        for (;;) {
            stream.expires_after(request_timeout);
            http::request_parser<http::string_body> parser;
            parser.header_limit(max_header_bytes);
            parser.body_limit(max_body_bytes);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser,
                                                     asio::as_tuple(asio::use_awaitable));
            if (ec) {
                // Closed between requests, or a request too large, too slow or not HTTP.
                if (ec != http::error::end_of_stream && routes_.answered) routes_.answered(0);
                break;
            }
            const auto& req = parser.get();
            const auto answer = handle(routes_, token,
                                       {std::string(req.method_string()), std::string(req.target()),
                                        std::string(req[http::field::authorization]), req.body()});
            if (routes_.answered) routes_.answered(answer.status);
            http::response<http::string_body> res{static_cast<http::status>(answer.status),
                                                  req.version()};
            res.set(http::field::server, "ternd");
            res.set(http::field::content_type, answer.content_type);
            res.set(http::field::cache_control, "no-store");
            if (answer.status == 401) res.set(http::field::www_authenticate, "Bearer");
            res.body() = req.method() == http::verb::head ? std::string() : answer.body;
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [write_ec, written] =
                co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
            if (write_ec || !res.keep_alive()) break;
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        --open_connections;
    }

    asio::io_context io{1};
    std::string token;
    routes routes_;
    tcp::acceptor acceptor;
    std::size_t open_connections = 0;  // the admin thread's
    std::thread thread;
};

admin_server::admin_server(const std::string& address, std::string token, routes r)
    : impl_(std::make_unique<impl>(address, std::move(token), std::move(r))) {}

admin_server::~admin_server() { stop(); }

void admin_server::start() {
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "tern-admin");
        impl_->io.run();
    });
}

void admin_server::stop() {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->io.stop();  // abandons the connections' coroutines with the context
    impl_->thread.join();
}

std::uint16_t admin_server::port() const noexcept {
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace tern::server::admin
