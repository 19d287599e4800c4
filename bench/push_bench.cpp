// tern-push-bench: the push relay path's throughput (docs/benchmarks.md, "The push relay path").
// A relay on loopback (an HTTP server in this process, on its own thread, answering 200 at once,
// keeping connections alive when asked) and ternd's relay sender (tern::push) posting to it:
// `--pushes` pushes to as many devices (nothing coalesces), signed (webhook) or not (matrix), at
// most `--concurrency` posts open at once. Prints pushes/s from the first submit to the last
// push the relay took, and what the sender counted.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <tern/push/relay_sender.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

// The relay: every request answered 200 with "{}", on as many requests per connection as the
// client sends.
class loopback_relay {
public:
    loopback_relay() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        asio::co_spawn(io_, accept(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~loopback_relay() {
        io_.stop();
        thread_.join();
    }
    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    [[nodiscard]] std::uint64_t connections() const { return connections_; }

private:
    awaitable<void> accept() {
        for (;;) {
            auto socket = co_await acceptor_.async_accept(use_awaitable);
            ++connections_;
            asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
        }
    }
    static awaitable<void> serve(tcp::socket socket) {
        beast::flat_buffer buffer;
        try {
            for (;;) {
                http::request<http::string_body> req;
                co_await http::async_read(socket, buffer, req, use_awaitable);
                http::response<http::string_body> res{http::status::ok, req.version()};
                res.body() = "{}";
                res.keep_alive(req.keep_alive());
                res.prepare_payload();
                co_await http::async_write(socket, res, use_awaitable);
                if (!req.keep_alive()) break;
            }
        } catch (const std::exception&) {
            // the sender closed the connection
        }
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::atomic<std::uint64_t> connections_{0};
    std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tern-push-bench: pushes/s through the relay sender to a relay on loopback"};
    std::size_t pushes = 20'000;
    std::size_t concurrency = 4;
    std::string contract = "webhook";
    app.add_option("--pushes", pushes, "pushes, each to its own device")
        ->check(CLI::PositiveNumber);
    app.add_option("--concurrency", concurrency, "posts open at once")->check(CLI::Range(1, 256));
    app.add_option("--contract", contract, "webhook or matrix")
        ->check(CLI::IsMember({"webhook", "matrix"}));
    CLI11_PARSE(app, argc, argv);

    loopback_relay relay;
    std::mutex mutex;
    std::condition_variable done;
    std::map<tern::push::outcome, std::size_t> counted;
    tern::push::relay_settings s;
    s.kind = contract == "matrix" ? tern::push::contract::matrix : tern::push::contract::webhook;
    s.url = "http://127.0.0.1:" + std::to_string(relay.port()) +
            (contract == "matrix" ? "/_matrix/push/v1/notify" : "/push");
    s.secret = "bench-secret-0123456789";
    s.concurrency = concurrency;
    s.queue.capacity = pushes;
    tern::push::relay_observer observer;
    observer.counted = [&](tern::push::outcome o, std::size_t n) {
        std::lock_guard lock(mutex);
        counted[o] += n;
        done.notify_all();
    };
    tern::push::relay_sender sender(s, observer);

    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < pushes; ++i) {
        tern::push::push_message m;
        m.to = {1, 1'000'000 + i, 1};
        m.platform = "apns";
        m.token = "token-" + std::to_string(i);
        m.app_id = "com.example.chat";
        m.conv_type = "group";
        m.conv_id = 77;
        m.seq = i + 1;
        m.sender = 5;
        m.preview = "standup moved to 10:30, same room";
        m.badge = 3;
        sender.submit(std::move(m));
    }
    {
        std::unique_lock lock(mutex);
        done.wait(lock, [&] {
            return counted[tern::push::outcome::sent] + counted[tern::push::outcome::failed] +
                       counted[tern::push::outcome::dropped] >=
                   pushes;
        });
    }
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    std::printf(
        "contract=%s pushes=%zu concurrency=%zu seconds=%.3f pushes_per_s=%.0f sent=%zu "
        "failed=%zu dropped=%zu retried=%zu relay_connections=%llu\n",
        contract.c_str(), pushes, concurrency, took.count(),
        static_cast<double>(pushes) / took.count(), counted[tern::push::outcome::sent],
        counted[tern::push::outcome::failed], counted[tern::push::outcome::dropped],
        counted[tern::push::outcome::retried],
        static_cast<unsigned long long>(relay.connections()));
    return counted[tern::push::outcome::sent] == pushes ? 0 : 1;
}
