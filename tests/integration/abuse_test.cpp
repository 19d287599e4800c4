// What an attacker or a broken client can do to a gateway, and what it must not achieve: idle
// unauthenticated connections and a slowloris on the WebSocket upgrade are cut off at the auth
// deadline and leave nothing behind; a frame flood is rate-limited while other clients are served;
// a client that never reads is closed before its queue grows past its bound, and the queue is
// freed; thousands of attempts at another tenant's conversations are all refused and counted.
// Each asserts on behaviour and on the gateway's own metrics, never on durations.
#include <thread>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;
constexpr std::uint64_t globex = 2;

// Polls the gateway's metric until `done` holds (bounded; the last value is returned).
template <class Pred>
double wait_for_metric(std::uint16_t admin, const std::string& series, Pred done) {
    double value = metric(admin, series);
    for (int i = 0; i < 200 && !done(value); ++i) {
        std::this_thread::sleep_for(50ms);
        value = metric(admin, series);
    }
    return value;
}

}  // namespace

TEST_CASE("unauthenticated connections are closed at the auth deadline and leave nothing behind",
          "[integration][abuse]") {
    gateway_fixture f([](server::config& c) { c.limits.auth_deadline_ms = 1000; });
    const auto admin = f.gw->admin_port();
    constexpr int count = 300;
    std::vector<std::unique_ptr<raw_client>> idle;
    for (int i = 0; i < count; ++i) idle.push_back(std::make_unique<raw_client>(f.gw->tcp_port()));
    // Some say a few bytes of a frame and stop.
    for (int i = 0; i < count; i += 3) idle[i]->send_raw(std::string("\0\0\1", 3));

    for (auto& c : idle) {
        const auto error = c->receive_until(v1::Frame::kError, 15s);
        REQUIRE(error);
        CHECK(error->error().code() == v1::AUTH_TIMEOUT);
        CHECK(c->closed_within(5s));
    }
    CHECK(wait_for_metric(admin, R"(tern_connections{transport="tcp"})",
                          [](double v) { return v == 0; }) == 0);
    CHECK(metric(admin, R"(tern_connections_rejected_total{reason="auth_timeout"})") == count);
    CHECK(metric(admin, "tern_outbound_queue_bytes") == 0);
    // The gateway still serves.
    auto ok = f.login(acme, 7, 70);
    CHECK(metric(admin, R"(tern_connections{transport="tcp"})") == 1);
}

TEST_CASE("a slowloris on the WebSocket upgrade is cut off at the auth deadline",
          "[integration][abuse][websocket]") {
    gateway_fixture f([](server::config& c) {
        c.listen.ws = "127.0.0.1:0";
        c.limits.auth_deadline_ms = 1000;
    });
    const auto admin = f.gw->admin_port();
    constexpr int count = 20;
    std::vector<std::unique_ptr<raw_client>> slow;
    for (int i = 0; i < count; ++i) {
        slow.push_back(std::make_unique<raw_client>(f.gw->ws_port()));
        slow.back()->send_raw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    // One header line every 100 ms, past the deadline: never a complete request.
    for (int tick = 0; tick < 20; ++tick) {
        for (auto& c : slow) c->send_raw("X-Slow-" + std::to_string(tick) + ": 1\r\n");
        // A well-behaved WebSocket client is served meanwhile.
        if (tick == 5) {
            ws_client good(f.gw->ws_port());
            good.send(hello(f.token_for(acme, 8, 80)));
            const auto welcome = good.receive();
            REQUIRE(welcome);
            CHECK(welcome->has_welcome());
        }
        std::this_thread::sleep_for(100ms);
    }
    for (auto& c : slow) CHECK(c->closed_within(10s));
    CHECK(metric(admin, R"(tern_connections_rejected_total{reason="websocket_upgrade"})") == count);
    CHECK(wait_for_metric(admin, R"(tern_connections{transport="ws"})",
                          [](double v) { return v == 0; }) == 0);
}

TEST_CASE("a frame flood is rate-limited and cut off while other clients are served",
          "[integration][abuse]") {
    gateway_fixture f;  // the default limits: 50 frames/s, bursts of 200
    const auto admin = f.gw->admin_port();
    auto flooder = f.login(acme, 66, 1);
    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);

    std::thread flood([&] {
        try {
            for (int i = 0; i < 5000; ++i) flooder->send(ping(100 + i));
        } catch (const std::exception&) {
            // the gateway closed the connection mid-flood
        }
    });
    // Alice and Bob talk throughout: every message is acknowledged and arrives, in order.
    for (int i = 0; i < 40; ++i) {
        send_ok(*alice, 1000 + i, direct(7, 9), "m" + std::to_string(i), "c" + std::to_string(i));
    }
    const auto got = pushes(*bob, 40, 20s);
    REQUIRE(got.size() == 40);
    for (int i = 0; i < 40; ++i) CHECK(got[i].event().seq() == static_cast<std::uint64_t>(i + 1));
    flood.join();

    bool cut_off = false;
    std::optional<v1::Frame> frame;
    while ((frame = flooder->receive(10s))) {
        if (frame->has_disconnect()) {
            CHECK(frame->disconnect().reason() == v1::DISCONNECT_RATE_LIMITED);
            cut_off = true;
        }
    }
    CHECK(cut_off);
    CHECK(metric(admin, "tern_rate_limited_frames_total") > 0);
    CHECK(metric(admin, R"(tern_disconnects_total{reason="rate_limited"})") == 1);
}

TEST_CASE("a client that never reads is closed as a slow consumer and its queue is freed",
          "[integration][abuse]") {
    gateway_fixture f([](server::config& c) {
        c.limits.outbound_queue_frames = 50;
        c.limits.outbound_queue_bytes = 64 * 1024;
        c.limits.inbound_frames_per_second = 100000;
        c.limits.inbound_burst = 100000;
    });
    f.expect_dropped_frames = true;  // the deaf client's queue, when it overflows
    const auto admin = f.gw->admin_port();
    raw_client deaf(f.gw->tcp_port(), {}, 0, 1 << 20, 4096);
    deaf.send(hello(f.token_for(acme, 9, 90)));
    REQUIRE(deaf.receive_until(v1::Frame::kWelcome));
    auto alice = f.login(acme, 7, 70);
    const std::string body(8000, 'z');
    double largest_queue = 0;
    for (int i = 0;
         i < 400 && metric(admin, R"(tern_disconnects_total{reason="slow_consumer"})") == 0; ++i) {
        send_ok(*alice, 10 + i, direct(7, 9), body, "s" + std::to_string(i));
        while (alice->receive(0ms)) {
        }
        largest_queue = std::max(largest_queue, metric(admin, "tern_outbound_queue_bytes"));
    }
    CHECK(metric(admin, R"(tern_disconnects_total{reason="slow_consumer"})") == 1);
    // Never more queued than the deaf client's bound plus what Alice's own queue holds.
    CHECK(largest_queue <= 2 * 64 * 1024);
    CHECK(wait_for_metric(admin, "tern_outbound_queue_bytes", [](double v) { return v == 0; }) ==
          0);
    CHECK(deaf.closed_within(10s));
}

TEST_CASE("ten thousand attempts at another tenant's conversations are refused and counted",
          "[integration][abuse][tenancy]") {
    gateway_fixture f([](server::config& c) {
        c.limits.inbound_frames_per_second = 100000;
        c.limits.inbound_burst = 100000;
    });
    const auto admin = f.gw->admin_port();
    // Acme's real conversations: a group and a direct chat with history.
    auto owner = f.login(acme, 1, 10);
    auto member = f.login(acme, 2, 20);
    v1::Frame create;
    create.set_req_id(2);
    create.mutable_group_create()->set_name("acme-private");
    create.mutable_group_create()->add_member_ids(2);
    create.mutable_group_create()->set_client_msg_id("g");
    owner->send(create);
    const auto created = owner->receive_reply(2);
    REQUIRE(created);
    REQUIRE(created->has_send_ack());
    const auto group_id = created->send_ack().conv().id();
    send_ok(*owner, 3, direct(1, 2), "secret", "d-1");
    send_ok(*owner, 4, group(group_id), "secret too", "g-1");
    for (auto* acme_device : {owner.get(), member.get()}) {
        while (acme_device->receive(300ms)) {
        }
    }
    const double errors_before = metric(admin, R"(tern_request_errors_total{code="not_found"})") +
                                 metric(admin, R"(tern_request_errors_total{code="not_member"})");

    // Globex's user 5 names Acme's ids in every request that takes a conversation.
    auto intruder = f.login(globex, 5, 50);
    constexpr int attempts = 10'000;
    constexpr int window = 200;  // in flight at once: the replies stay under the outbound bound
    const auto attempt = [&](int i) {
        const auto req = static_cast<std::uint64_t>(100 + i);
        const auto conv = i % 2 ? group(group_id) : direct(1, 2);
        v1::Frame frame;
        switch (i % 5) {
            case 0:
                frame = send_text(req, conv, "hi", "x" + std::to_string(i));
                break;
            case 1:
                frame.set_req_id(req);
                *frame.mutable_history()->mutable_conv() = conv;
                frame.mutable_history()->set_limit(10);
                break;
            case 2:
                frame = mark_read(req, conv, 1);
                break;
            case 3:
                frame.set_req_id(req);
                *frame.mutable_who_read()->mutable_conv() = conv;
                frame.mutable_who_read()->set_seq(1);
                break;
            default:
                frame.set_req_id(req);
                *frame.mutable_group_info_request()->mutable_conv() = group(group_id);
                break;
        }
        return frame;
    };
    int refused = 0;
    for (int start = 0; start < attempts; start += window) {
        for (int i = start; i < start + window; ++i) intruder->send(attempt(i));
        for (int i = start; i < start + window; ++i) {
            const auto reply = intruder->receive_reply(static_cast<std::uint64_t>(100 + i), 30s);
            REQUIRE(reply);
            INFO("attempt " << i << ": " << reply->ShortDebugString());
            REQUIRE(reply->has_error());
            const auto code = reply->error().code();
            CHECK((code == v1::NOT_FOUND || code == v1::NOT_MEMBER));
            ++refused;
        }
    }
    CHECK(refused == attempts);
    const double errors_after = metric(admin, R"(tern_request_errors_total{code="not_found"})") +
                                metric(admin, R"(tern_request_errors_total{code="not_member"})");
    CHECK(errors_after - errors_before == attempts);
    // Nothing reached Acme's devices, and Acme's conversations are as they were.
    for (auto* acme_device : {owner.get(), member.get()}) {
        const auto leaked = acme_device->receive(300ms);
        INFO((leaked ? leaked->ShortDebugString() : std::string("nothing")));
        CHECK_FALSE(leaked.has_value());
    }
    const auto more = send_ok(*owner, 5, direct(1, 2), "still private", "d-2");
    CHECK(more.seq() == 2);
}
