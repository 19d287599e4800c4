// Devices and presence through a real gateway: the devices-per-user limit, a device that
// connects again replacing its old connection, presence aggregated across a user's devices and
// pushed to subscribers of the same tenant only.
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;
constexpr std::uint64_t globex = 2;

v1::Frame subscribe(std::uint64_t req_id, const std::vector<std::uint64_t>& users,
                    bool unsubscribe = false) {
    v1::Frame f;
    f.set_req_id(req_id);
    for (auto u : users) f.mutable_presence_subscribe()->add_user_ids(u);
    f.mutable_presence_subscribe()->set_unsubscribe(unsubscribe);
    return f;
}

v1::Frame set_status(std::uint64_t req_id, v1::PresenceStatus status, const std::string& text) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_presence_update()->set_status(status);
    f.mutable_presence_update()->set_status_text(text);
    return f;
}

// The next presence pushed to `c` of each of `users` (a subscription's answer may come in one
// PresenceNotify per home shard).
std::map<std::uint64_t, v1::UserPresence> next_presences(raw_client& c,
                                                         const std::set<std::uint64_t>& users) {
    std::map<std::uint64_t, v1::UserPresence> out;
    while (out.size() < users.size()) {
        const auto f = c.receive_until(v1::Frame::kPresenceNotify);
        REQUIRE(f);
        for (const auto& p : f->presence_notify().users()) {
            if (users.contains(p.user_id()) && !out.contains(p.user_id())) out[p.user_id()] = p;
        }
    }
    return out;
}

v1::UserPresence next_presence(raw_client& c, std::uint64_t user) {
    return next_presences(c, {user}).at(user);
}

void expect_ok(raw_client& c, std::uint64_t req_id) {
    const auto r = c.receive_reply(req_id);
    REQUIRE(r);
    if (r->has_error()) FAIL("error " << r->error().code() << ": " << r->error().message());
    CHECK(r->has_ok());
}

v1::ErrorCode error_of(raw_client& c, std::uint64_t req_id) {
    const auto r = c.receive_reply(req_id);
    REQUIRE(r);
    REQUIRE(r->has_error());
    return r->error().code();
}

}  // namespace

TEST_CASE("a device beyond the per-user limit is refused and the others stay connected",
          "[integration][devices]") {
    gateway_fixture f([](server::config& c) { c.limits.max_devices_per_user = 2; });
    auto phone = f.login(acme, 7, 1);
    auto desk = f.login(acme, 7, 2);
    auto tablet = f.connect();
    tablet.send(hello(f.token_for(acme, 7, 3)));
    const auto refused = tablet.receive();
    REQUIRE(refused);
    REQUIRE(refused->has_error());
    CHECK(refused->error().code() == v1::TOO_MANY_DEVICES);
    CHECK(refused->error().retryable());
    const auto bye = tablet.receive_until(v1::Frame::kDisconnect);
    REQUIRE(bye);
    CHECK(bye->disconnect().reason() == v1::DISCONNECT_TOO_MANY_DEVICES);
    CHECK(bye->disconnect().reconnect());
    CHECK(tablet.closed_within(5s));

    // The admitted devices work; another user is not limited by this one.
    phone->send(ping(5));
    REQUIRE(phone->receive_reply(5));
    auto other = f.login(acme, 8, 3);
    send_ok(*other, 2, direct(7, 8), "hello", "dl-1");
    CHECK(pushes(*phone, 1).size() == 1);
    CHECK(pushes(*desk, 1).size() == 1);

    // Once a device leaves there is room again (its departure is processed asynchronously).
    desk.reset();
    bool admitted = false;
    for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
        auto retry = f.connect();
        retry.send(hello(f.token_for(acme, 7, 3)));
        const auto answer = retry.receive();
        REQUIRE(answer);
        admitted = answer->has_welcome();
        if (!admitted) std::this_thread::sleep_for(20ms);
    }
    CHECK(admitted);
}

TEST_CASE("a device that connects again replaces its old connection", "[integration][devices]") {
    gateway_fixture f;
    auto old_connection = f.login(acme, 7, 70);
    auto new_connection = f.login(acme, 7, 70);
    const auto bye = old_connection->receive_until(v1::Frame::kDisconnect);
    REQUIRE(bye);
    CHECK(bye->disconnect().reason() == v1::DISCONNECT_REPLACED);
    CHECK_FALSE(bye->disconnect().reconnect());
    CHECK(old_connection->closed_within(5s));

    // The new connection is the device now: it receives, and stays online after the old one
    // closed.
    auto bob = f.login(acme, 9, 90);
    send_ok(*bob, 2, direct(7, 9), "still there?", "rp-1");
    CHECK(pushes(*new_connection, 1).size() == 1);
}

TEST_CASE("presence follows a user's devices, aggregated, and reaches subscribers only",
          "[integration][presence]") {
    gateway_fixture f;
    auto watcher = f.login(acme, 1, 10);
    watcher->send(subscribe(2, {7}));
    expect_ok(*watcher, 2);
    auto p = next_presence(*watcher, 7);
    CHECK(p.status() == v1::PRESENCE_OFFLINE);
    CHECK(p.last_seen_ms() == 0);  // never seen

    auto phone = f.login(acme, 7, 70);
    CHECK(next_presence(*watcher, 7).status() == v1::PRESENCE_ONLINE);

    phone->send(set_status(3, v1::PRESENCE_AWAY, "lunch"));
    expect_ok(*phone, 3);
    p = next_presence(*watcher, 7);
    CHECK(p.status() == v1::PRESENCE_AWAY);
    CHECK(p.status_text() == "lunch");

    // A second device online: the user is as available as the most available device.
    auto desk = f.login(acme, 7, 71);
    CHECK(next_presence(*watcher, 7).status() == v1::PRESENCE_ONLINE);
    desk.reset();
    p = next_presence(*watcher, 7);
    CHECK(p.status() == v1::PRESENCE_AWAY);
    CHECK(p.status_text() == "lunch");

    phone.reset();
    p = next_presence(*watcher, 7);
    CHECK(p.status() == v1::PRESENCE_OFFLINE);
    CHECK(p.last_seen_ms() > 0);

    // The same user id in another tenant is another user: nothing of it reaches this watcher.
    auto stranger = f.login(globex, 7, 70);
    CHECK_FALSE(watcher->receive_until(v1::Frame::kPresenceNotify, 300ms));

    // A late subscriber learns the current state at once, including when the user was last seen.
    auto late = f.login(acme, 2, 20);
    late->send(subscribe(2, {7, 1}));
    expect_ok(*late, 2);
    const auto now = next_presences(*late, {7, 1});
    CHECK(now.at(7).status() == v1::PRESENCE_OFFLINE);
    CHECK(now.at(7).last_seen_ms() == p.last_seen_ms());
    CHECK(now.at(1).status() == v1::PRESENCE_ONLINE);

    // After unsubscribing, changes are no longer pushed.
    watcher->send(subscribe(4, {7}, true));
    expect_ok(*watcher, 4);
    auto back = f.login(acme, 7, 70);
    CHECK(next_presence(*late, 7).status() == v1::PRESENCE_ONLINE);
    CHECK_FALSE(watcher->receive_until(v1::Frame::kPresenceNotify, 300ms));
}

TEST_CASE("bad presence requests are refused with their codes", "[integration][presence]") {
    gateway_fixture f([](server::config& c) { c.limits.max_presence_subscriptions = 3; });
    auto c = f.login(acme, 1, 10);
    c->send(set_status(2, v1::PRESENCE_STATUS_UNSPECIFIED, ""));
    CHECK(error_of(*c, 2) == v1::INVALID_ARGUMENT);
    c->send(set_status(3, v1::PRESENCE_OFFLINE, ""));
    CHECK(error_of(*c, 3) == v1::INVALID_ARGUMENT);
    c->send(set_status(4, v1::PRESENCE_AWAY, std::string(129, 'x')));
    CHECK(error_of(*c, 4) == v1::CONTENT_TOO_LARGE);

    c->send(subscribe(5, {2, 3}));
    expect_ok(*c, 5);
    c->send(subscribe(6, {3, 4}));  // 3 again: still three in all
    expect_ok(*c, 6);
    c->send(subscribe(7, {5}));
    CHECK(error_of(*c, 7) == v1::INVALID_ARGUMENT);
    c->send(subscribe(8, {2}, true));
    expect_ok(*c, 8);
    c->send(subscribe(9, {5}));
    expect_ok(*c, 9);

    // The connection is still in good order.
    c->send(ping(10));
    const auto pong = c->receive_reply(10);
    REQUIRE(pong);
    CHECK(pong->has_pong());
}
