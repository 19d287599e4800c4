// A TCP proxy between clients and ternd, for fault tests: it forwards bytes both ways, can cut
// every connection through it at once (a flaky network), and can point at a new upstream port
// (ternd restarted). Runs on a thread of its own.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace tern::test {

class tcp_proxy {
public:
    explicit tcp_proxy(std::uint16_t upstream)
        : upstream_(upstream), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        boost::asio::co_spawn(io_, accept_loop(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~tcp_proxy() {
        io_.stop();
        thread_.join();
    }
    tcp_proxy(const tcp_proxy&) = delete;
    tcp_proxy& operator=(const tcp_proxy&) = delete;

    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void set_upstream(std::uint16_t port) { upstream_.store(port); }

    // Closes every connection through the proxy (both sides), as a network failure would.
    void cut_all() {
        boost::asio::post(io_, [this] {
            for (auto& weak : pairs_) {
                if (auto p = weak.lock()) p->close();
            }
            pairs_.clear();
        });
    }

private:
    using tcp = boost::asio::ip::tcp;
    static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

    struct pair {
        tcp::socket client;
        tcp::socket server;
        void close() {
            boost::system::error_code ignored;
            client.close(ignored);
            server.close(ignored);
        }
    };

    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (ec) co_return;
            boost::asio::co_spawn(io_, serve(std::move(socket)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(tcp::socket client) {
        tcp::socket server(io_);
        auto [ec] = co_await server.async_connect(
            {boost::asio::ip::make_address("127.0.0.1"), upstream_.load()}, use_tuple);
        if (ec) co_return;  // upstream down: the client sees its connection close
        auto p = std::make_shared<pair>(pair{std::move(client), std::move(server)});
        std::erase_if(pairs_, [](const auto& w) { return w.expired(); });
        pairs_.push_back(p);
        boost::asio::co_spawn(io_, pump(p, true), boost::asio::detached);
        boost::asio::co_spawn(io_, pump(p, false), boost::asio::detached);
    }

    static boost::asio::awaitable<void> pump(std::shared_ptr<pair> p, bool upward) {
        auto& from = upward ? p->client : p->server;
        auto& to = upward ? p->server : p->client;
        std::array<char, 16384> buffer;
        for (;;) {
            auto [ec, n] = co_await from.async_read_some(boost::asio::buffer(buffer), use_tuple);
            if (ec) break;
            auto [wec, written] = co_await boost::asio::async_write(
                to, boost::asio::buffer(buffer.data(), n), use_tuple);
            if (wec) break;
        }
        p->close();
    }

    std::atomic<std::uint16_t> upstream_;
    boost::asio::io_context io_;
    tcp::acceptor acceptor_;
    std::vector<std::weak_ptr<pair>> pairs_;  // on the proxy's thread only
    std::thread thread_;
};

}  // namespace tern::test
