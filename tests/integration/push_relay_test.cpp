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

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "test_relay.hpp"

namespace tp = tern::push;
using namespace std::chrono_literals;
using nlohmann::json;
using tern::test::test_relay;

namespace {

constexpr const char* secret = "relay-secret";

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
                [this](const tp::device_key& d, const std::string&) {
                    std::lock_guard lock(mutex);
                    dead.push_back(d);
                    changed.notify_all();
                },
                {}};
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

TEST_CASE("connections the relay keeps alive serve the next posts, ones it closes are not reused",
          "[integration][push]") {
    test_relay relay([](std::size_t) { return 200u; });
    relay.keep_alive(true);
    counts c;
    auto s = settings_for(relay.url());
    s.concurrency = 2;
    tp::relay_sender sender(s, c.observer());
    for (std::uint64_t i = 0; i < 50; ++i) {
        sender.submit(message(100 + i, 9, i + 1));
        if (i % 10 == 9) REQUIRE(c.wait(tp::outcome::sent, i + 1));  // some posts find one idle
    }
    REQUIRE(c.wait(tp::outcome::sent, 50));
    CHECK(relay.connections() <= 2);
    CHECK(relay.requests().size() == 50);

    // The relay stops keeping connections: each kept one serves one more post and closes, and
    // the next posts go on new ones; nothing is lost or counted as a failure.
    relay.keep_alive(false);
    for (std::uint64_t i = 0; i < 10; ++i) {
        sender.submit(message(200 + i, 9, i + 1));
        REQUIRE(c.wait(tp::outcome::sent, 51 + i));
    }
    CHECK(c.of(tp::outcome::failed) == 0);
    CHECK(c.of(tp::outcome::retried) == 0);
    CHECK(relay.requests().size() == 60);
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
