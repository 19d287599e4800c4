// The push relay sender against a real HTTP server on loopback (docs/notifications.md, "Push
// relays"): signed posts, retries after a 500, a dead token forgotten, coalescing while a post
// is in flight, a read that cancels, the Matrix contract, and a relay that hangs, which neither
// blocks the caller nor grows the queue past its bound. No test asserts a duration.
#include <tern/push/relay_sender.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace tp = tern::push;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* secret = "relay-secret";

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
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
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
        asio::ip::tcp::socket wake(io_);
        wake.connect(acceptor_.local_endpoint(), ignored);
        accepting_.join();
        acceptor_.close(ignored);
        for (auto& t : connections_) t.join();
    }

    [[nodiscard]] std::string url(const std::string& path = "/push") const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    bool wait_requests(std::size_t n, std::chrono::seconds timeout = 20s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }
    std::vector<request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
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
            asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec) return;
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            connections_.emplace_back(
                [this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }
    void serve(asio::ip::tcp::socket socket) {
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> req;
        boost::system::error_code ec;
        http::read(socket, buffer, req, ec);
        if (ec) return;
        unsigned status = 0;
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
        }
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.body() = reply_;
        res.prepare_payload();
        http::write(socket, res, ec);
    }

    std::function<unsigned(std::size_t)> answer_;
    std::string reply_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_};
    std::thread accepting_;
    std::vector<std::thread> connections_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<request> requests_;
    bool released_ = false;
    bool stopping_ = false;
};

// What the sender counted, and the tokens it reported dead.
struct counts {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<tp::outcome, std::size_t> seen;
    std::vector<tp::device_key> dead;

    tp::relay_observer observer() {
        return {[this](tp::outcome o, std::size_t n) {
                    std::lock_guard lock(mutex);
                    seen[o] += n;
                    changed.notify_all();
                },
                [this](const tp::device_key& d) {
                    std::lock_guard lock(mutex);
                    dead.push_back(d);
                    changed.notify_all();
                }};
    }
    std::size_t of(tp::outcome o) {
        std::lock_guard lock(mutex);
        return seen[o];
    }
    bool wait(tp::outcome o, std::size_t n, std::chrono::seconds timeout = 20s) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return seen[o] >= n; });
    }
};

tp::push_message message(std::uint64_t device, std::uint64_t conv, std::uint64_t seq) {
    tp::push_message m;
    m.to = {7, 42, device};
    m.platform = "fcm";
    m.token = "tok-" + std::to_string(device);
    m.app_id = "com.example.chat";
    m.conv_type = "group";
    m.conv_id = conv;
    m.seq = seq;
    m.sender = 5;
    m.preview = "message " + std::to_string(seq);
    m.badge = 1;
    return m;
}

tp::relay_settings settings_for(const std::string& url) {
    tp::relay_settings s;
    s.url = url;
    s.secret = secret;
    s.timeout = 2s;
    s.queue.first_retry = 20ms;
    return s;
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE("the relay gets signed posts, a 500 is asked again, a 410 forgets the token",
          "[integration][push]") {
    // The first answer is a 500, the second 200, the third 410.
    test_relay relay([](std::size_t n) { return n == 0 ? 500u : n == 1 ? 200u : 410u; });
    counts c;
    tp::relay_sender sender(settings_for(relay.url()), c.observer());
    sender.submit(message(1, 9, 10));
    REQUIRE(c.wait(tp::outcome::sent, 1));
    CHECK(c.of(tp::outcome::retried) == 1);
    const auto posts = relay.requests();
    REQUIRE(posts.size() == 2);
    for (const auto& p : posts) {
        CHECK(p.target == "/push");
        CHECK(tp::webhook_signature_valid(p.signature, p.body, secret, now_s(), 300));
        CHECK(json::parse(p.body)["seq"] == 10);
    }
    CHECK_FALSE(
        tp::webhook_signature_valid(posts[0].signature, posts[0].body, "wrong", now_s(), 300));

    sender.submit(message(2, 9, 11));
    REQUIRE(c.wait(tp::outcome::token_invalid, 1));
    std::lock_guard lock(c.mutex);
    REQUIRE(c.dead.size() == 1);
    CHECK(c.dead[0] == tp::device_key{7, 42, 2});
}

TEST_CASE("while a post is in flight, a device's pushes coalesce, and a read cancels one",
          "[integration][push]") {
    test_relay relay([](std::size_t n) { return n == 0 ? 0u : 200u; });  // the first one hangs
    counts c;
    auto s = settings_for(relay.url());
    s.concurrency = 1;
    tp::relay_sender sender(s, c.observer());
    sender.submit(message(1, 9, 10));
    REQUIRE(relay.wait_requests(1));
    sender.submit(message(2, 9, 11));
    sender.submit(message(2, 9, 12));
    sender.submit(message(2, 8, 13));
    sender.submit(message(3, 9, 14));
    CHECK(c.of(tp::outcome::coalesced) == 2);
    // The user read group 9 up to 14 elsewhere: device 3's push goes; device 2's keeps what
    // group 8 announced.
    sender.read(7, 42, "group", 9, 0, 14);
    CHECK(c.of(tp::outcome::cancelled) == 3);
    relay.release();
    REQUIRE(c.wait(tp::outcome::sent, 2));
    const auto posts = relay.requests();
    REQUIRE(posts.size() == 2);
    const auto left = json::parse(posts[1].body);
    CHECK(left["device"] == 2);
    CHECK(left["seq"] == 13);
    CHECK(left["count"] == 1);
    CHECK(sender.depth() == 0);
}

TEST_CASE("the Matrix contract: posted to the gateway's path, a rejected pushkey forgotten",
          "[integration][push]") {
    test_relay relay([](std::size_t) { return 200u; }, R"({"rejected": ["tok-4"]})");
    counts c;
    auto s = settings_for(relay.url("/_matrix/push/v1/notify"));
    s.kind = tp::contract::matrix;
    tp::relay_sender sender(s, c.observer());
    sender.submit(message(5, 9, 1));
    REQUIRE(c.wait(tp::outcome::sent, 1));
    sender.submit(message(4, 9, 2));
    REQUIRE(c.wait(tp::outcome::token_invalid, 1));
    const auto posts = relay.requests();
    REQUIRE(posts.size() == 2);
    CHECK(posts[0].target == "/_matrix/push/v1/notify");
    CHECK(json::parse(posts[0].body)["notification"]["devices"][0]["pushkey"] == "tok-5");
}

TEST_CASE("a relay that hangs blocks no caller, and the queue keeps its bound",
          "[integration][push]") {
    test_relay relay([](std::size_t) { return 0u; });  // never answers until the end
    counts c;
    auto s = settings_for(relay.url());
    s.timeout = 200ms;
    s.queue.capacity = 100;
    s.queue.max_attempts = 2;
    tp::relay_sender sender(s, c.observer());
    for (std::uint64_t device = 1; device <= 1'000; ++device) {
        sender.submit(message(device, 9, device));
        CHECK(sender.depth() <= 100);
    }
    CHECK(c.of(tp::outcome::dropped) == 900);
    // Each post times out, is asked again once, then given up: counted, never lost in silence.
    REQUIRE(c.wait(tp::outcome::failed, 1, 60s));
    CHECK(c.of(tp::outcome::retried) >= 1);
}

TEST_CASE("a relay URL the sender cannot use is refused at once", "[integration][push]") {
    counts c;
    for (const auto* url : {"ftp://relay/push", "relay:8080/push", "http:///push"}) {
        CAPTURE(url);
        tp::relay_settings s;
        s.url = url;
        CHECK_THROWS_AS(tp::relay_sender(s, c.observer()), std::invalid_argument);
    }
}
