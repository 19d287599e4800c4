// A push relay on 127.0.0.1 for tests (docs/notifications.md, "Push relays"): a real HTTP
// server that records every post (target, signature, body) and answers as the test says.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tern::test {

namespace relay_detail {
namespace asio = boost::asio;
namespace http = boost::beast::http;
}  // namespace relay_detail

// A relay on 127.0.0.1: answers the n-th request with answer(n), a status; 0 holds the request
// unanswered until release() (or the end of the test).
class test_relay {
public:
    struct request {
        std::string target;
        std::string signature;
        std::string body;
    };

    explicit test_relay(std::function<unsigned(std::size_t)> answer, std::string reply = "{}")
        : answer_(std::move(answer)), reply_(std::move(reply)) {
        acceptor_.open(relay_detail::asio::ip::tcp::v4());
        acceptor_.set_option(relay_detail::asio::socket_base::reuse_address(true));
        acceptor_.bind({relay_detail::asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        accepting_ = std::thread([this] { accept(); });
    }
    ~test_relay() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            released_ = true;
        }
        changed_.notify_all();
        // A blocking accept() does not return when another thread closes the socket: a last
        // connection wakes it, and it sees that it is stopping.
        boost::system::error_code ignored;
        relay_detail::asio::ip::tcp::socket wake(io_);
        wake.connect(acceptor_.local_endpoint(), ignored);
        accepting_.join();
        acceptor_.close(ignored);
        for (auto& t : connections_) t.join();
    }

    [[nodiscard]] std::string url(const std::string& path = "/push") const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    bool wait_requests(std::size_t n, std::chrono::seconds timeout = std::chrono::seconds(20)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }
    std::vector<request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    // Keeps connections alive for the next request when the client asks (before any traffic).
    void keep_alive(bool on) {
        std::lock_guard lock(mutex_);
        keep_alive_ = on;
    }
    [[nodiscard]] std::size_t connections() {
        std::lock_guard lock(mutex_);
        return connections_.size();
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            released_ = true;
        }
        changed_.notify_all();
    }

private:
    void accept() {
        for (;;) {
            relay_detail::asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec) return;
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            connections_.emplace_back(
                [this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }
    // Serves the connection's requests: one, or while the client keeps it alive when the relay
    // does (keep_alive()); every connection is counted.
    void serve(relay_detail::asio::ip::tcp::socket socket) {
        namespace http = relay_detail::http;
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            boost::system::error_code ec;
            http::read(socket, buffer, req, ec);
            if (ec) return;
            unsigned status = 0;
            bool again = false;
            {
                std::unique_lock lock(mutex_);
                requests_.push_back(
                    {std::string(req.target()), std::string(req["X-Tern-Signature"]), req.body()});
                status = answer_(requests_.size() - 1);
                changed_.notify_all();
                if (status == 0) {
                    changed_.wait(lock, [&] { return released_; });
                    status = 200;
                }
                again = keep_alive_ && req.keep_alive() && !stopping_;
            }
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            res.body() = reply_;
            res.keep_alive(again);
            res.prepare_payload();
            http::write(socket, res, ec);
            if (ec || !again) return;
        }
    }

    std::function<unsigned(std::size_t)> answer_;
    std::string reply_;
    relay_detail::asio::io_context io_;
    relay_detail::asio::ip::tcp::acceptor acceptor_{io_};
    std::thread accepting_;
    std::vector<std::thread> connections_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<request> requests_;
    bool released_ = false;
    bool stopping_ = false;
    bool keep_alive_ = false;
};

}  // namespace tern::test
