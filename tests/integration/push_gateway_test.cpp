// ternd with a push relay (docs/notifications.md, "Push relays"), end to end: SDK devices on a
// real gateway, a real HTTP relay on loopback. A phone in the background is pushed, signed, with
// the badge counted from the store; a dead token is forgotten durably; a desktop in front of its
// user holds the phone's push, and a read there cancels it. No test asserts a duration.
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <tern/push/relay_format.hpp>

#include "http_client.hpp"
#include "sdk_fixture.hpp"
#include "test_relay.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr std::uint64_t acme = 1;
constexpr const char* relay_secret = "relay-secret-0123456789";

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A gateway that pushes to `relay`, holding phones `grace` while a desktop is in front.
gateway_fixture pushing_gateway(const test_relay& relay, std::chrono::milliseconds grace = 60s) {
    return gateway_fixture([&](server::config& c) {
        c.push.url = relay.url();
        c.push.secret = relay_secret;
        c.push.grace_ms = static_cast<std::uint32_t>(grace.count());
    });
}

void ok(sdk_device& /*device*/, const std::function<void(tc::callback<tc::ok>)>& call) {
    awaited<tc::ok> done;
    call(done.callback());
    const auto r = done.get();
    if (!r) FAIL(tc::to_string(r.err().code) << " " << r.err().message);
}

// A phone of `user` that registered `token` and went to the background.
void phone_in_background(sdk_device& phone, const std::string& token) {
    phone.wait_connected();
    ok(phone, [&](auto done) {
        phone.client->register_push_token("apns", token, "com.example.chat", std::move(done));
    });
    ok(phone, [&](auto done) { phone.client->set_app_state(false, std::move(done)); });
}

bool has_metric(const gateway_fixture& f, const std::string& series, double at_least) {
    for (int i = 0; i < 400; ++i) {
        if (metric(f.gw->admin_port(), series) >= at_least) return true;
        std::this_thread::sleep_for(25ms);
    }
    return false;
}

}  // namespace

TEST_CASE(
    "ternd pushes a phone in the background through the relay, signed, and forgets a dead "
    "token",
    "[integration][push]") {
    // The first two posts are taken; the third says the token is dead.
    test_relay relay([](std::size_t n) { return n < 2 ? 200u : 410u; });
    auto f = pushing_gateway(relay);
    sdk_device alice(f, acme, 8, 80, tcp_endpoint(*f.gw));
    sdk_device bob_phone(f, acme, 9, 90, tcp_endpoint(*f.gw), {},
                         [](tc::options& o) { o.platform = tc::platform::ios; });
    alice.wait_connected();
    phone_in_background(bob_phone, "bob-apns-token");
    const auto conv = tc::conv_id::direct(8, 9);

    alice.send(conv, "are you coming?");
    REQUIRE(relay.wait_requests(1));
    auto post = relay.requests()[0];
    CHECK(post.target == "/push");
    CHECK(push::webhook_signature_valid(post.signature, post.body, relay_secret, now_s(), 300));
    CHECK_FALSE(
        push::webhook_signature_valid(post.signature, post.body, "another-secret", now_s(), 300));
    auto body = json::parse(post.body);
    CHECK(body["tenant"] == acme);
    CHECK(body["user"] == 9);
    CHECK(body["device"] == 90);
    CHECK(body["platform"] == "apns");
    CHECK(body["token"] == "bob-apns-token");
    CHECK(body["app_id"] == "com.example.chat");
    CHECK(body["conversation"]["type"] == "direct");
    CHECK(body["seq"] == 1);
    CHECK(body["sender"] == 8);
    CHECK(body["preview"] == "are you coming?");
    CHECK(body["notice"] == "alert");
    CHECK(body["badge"] == 1);  // Bob's unread, counted from the store as the push went
    CHECK(body["channel"] == "push");

    alice.send(conv, "hello?");
    REQUIRE(relay.wait_requests(2));
    CHECK(json::parse(relay.requests()[1].body)["badge"] == 2);
    CHECK(has_metric(f, "tern_push_total{outcome=\"sent\"}", 2));

    // The relay says the token is dead: ternd forgets it, durably.
    alice.send(conv, "still there?");
    REQUIRE(relay.wait_requests(3));
    REQUIRE(has_metric(f, "tern_push_total{outcome=\"token_invalid\"}", 1));
    const auto data_dir = f.cfg.server.data_dir;
    f.gw.reset();  // stops: what was submitted to the log is committed
    CHECK(open_rocks(data_dir)->push_tokens(acme, 9).value().empty());
}

TEST_CASE("a desktop in front of its user holds the phone's push, and a read there cancels it",
          "[integration][push]") {
    test_relay relay([](std::size_t) { return 200u; });
    constexpr auto grace = 1500ms;
    auto f = pushing_gateway(relay, grace);
    sdk_device alice(f, acme, 8, 80, tcp_endpoint(*f.gw));
    sdk_device bob_phone(f, acme, 9, 90, tcp_endpoint(*f.gw));
    sdk_device bob_desktop(f, acme, 9, 91, tcp_endpoint(*f.gw), {},
                           [](tc::options& o) { o.platform = tc::platform::macos; });
    alice.wait_connected();
    bob_desktop.wait_connected();
    phone_in_background(bob_phone, "bob-apns-token");
    const auto conv = tc::conv_id::direct(8, 9);

    const auto first = alice.send(conv, "quick question");
    const auto sent_at = std::chrono::steady_clock::now();
    REQUIRE(bob_desktop.events->wait(
        [&](const recording_listener& l) { return l.messages_of(conv).size() == 1; }));
    ok(bob_desktop, [&](auto done) { bob_desktop.client->mark_read(conv, first.seq, done); });
    REQUIRE(has_metric(f, "tern_push_total{outcome=\"cancelled\"}", 1));
    // The phone gets a silent push that moves its badge (to 0), never the message.
    REQUIRE(relay.wait_requests(1));
    auto badge = json::parse(relay.requests()[0].body);
    CHECK(badge["count"] == 0);
    CHECK(badge["notice"] == "silent");
    CHECK(badge["badge"] == 0);
    CHECK_FALSE(badge.contains("preview"));

    // The desktop goes to the background: the next message reaches the phone at once. By the
    // time it has, the first message's grace is over too, and it never went.
    ok(bob_desktop, [&](auto done) { bob_desktop.client->set_app_state(false, done); });
    std::this_thread::sleep_until(sent_at + grace + 200ms);
    alice.send(conv, "never mind");
    REQUIRE(relay.wait_requests(2));
    std::this_thread::sleep_for(200ms);
    const auto posts = relay.requests();
    REQUIRE(posts.size() == 2);
    auto message = json::parse(posts[1].body);
    CHECK(message["seq"] == 2);
    CHECK(message["count"] == 1);
    CHECK(message["preview"] == "never mind");
    for (const auto& p : posts) {
        const auto b = json::parse(p.body);
        CHECK_FALSE((b["seq"] == 1 && b["count"] == 1));  // the first message was never pushed
    }
}
