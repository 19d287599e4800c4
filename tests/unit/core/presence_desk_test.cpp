// Admission and presence, through the core's facade: the device limit, a device connecting
// again, presence told to watchers, all decided on each user's home shard.
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "session_handover.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

v1::Frame subscribe(std::uint64_t req_id, std::vector<st::user_id> users, bool stop = false) {
    v1::Frame f;
    f.set_req_id(req_id);
    for (auto u : users) f.mutable_presence_subscribe()->add_user_ids(u);
    f.mutable_presence_subscribe()->set_unsubscribe(stop);
    return f;
}

v1::Frame status(std::uint64_t req_id, v1::PresenceStatus s, std::string text = {}) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_presence_update()->set_status(s);
    f.mutable_presence_update()->set_status_text(std::move(text));
    return f;
}

// The status of `user` in the last PresenceNotify `d` received that names the user.
std::optional<v1::PresenceStatus> last_status(const fake_device& d, st::user_id user) {
    std::optional<v1::PresenceStatus> out;
    for (const auto& f : d.of(v1::Frame::kPresenceNotify)) {
        for (const auto& u : f.presence_notify().users()) {
            if (u.user_id() == user) out = u.status();
        }
    }
    return out;
}

}  // namespace

TEST_CASE("admission is decided on the user's home shard, then the device opens on its own",
          "[unit][core]") {
    service_harness h;
    auto bob = fake_device::make({acme, 9, 90}, 0);  // bob's home: 9 % 2 = 1
    const auto hello = hello_frame();
    h.router.take_posts();
    h.core.on_open(bob, hello.hello(), welcome_frame());
    CHECK(h.router.take_posts() == std::vector<std::size_t>{1});
    h.router.run();
    CHECK(h.router.take_posts() == std::vector<std::size_t>{0});
    REQUIRE(bob->welcome());
}

TEST_CASE("a device beyond the limit is refused, and a device connecting again replaces itself",
          "[unit][core]") {
    service_harness h;
    h.limits.max_devices_per_user = 2;
    auto phone = h.open({acme, 9, 90}, 0);
    auto desk = h.open({acme, 9, 91}, 1);
    auto third = h.open({acme, 9, 92}, 0);
    CHECK_FALSE(third->welcome());
    CHECK(third->closed_with() == v1::DISCONNECT_TOO_MANY_DEVICES);
    CHECK(third->reply_to(1)->error().code() == v1::TOO_MANY_DEVICES);

    auto phone_again = h.open({acme, 9, 90}, 1);
    // Admitted, but opened only once the earlier connection ended: after the grace it is closed.
    CHECK_FALSE(phone_again->welcome());
    CHECK_FALSE(phone->closed_with());
    h.router.advance(core::session_handover::replace_grace);
    CHECK(phone->closed_with() == v1::DISCONNECT_REPLACED);
    CHECK(phone_again->welcome());
    CHECK_FALSE(desk->closed_with());
    auto fourth = h.open({acme, 9, 93}, 0);
    CHECK(fourth->closed_with() == v1::DISCONNECT_TOO_MANY_DEVICES);
}

TEST_CASE("watchers learn a user's presence as it changes, until they stop watching",
          "[unit][core]") {
    service_harness h;
    auto carol = h.open({acme, 10, 100}, 0);
    h.request(carol, subscribe(1, {9}));
    CHECK(carol->reply_to(1)->has_ok());
    CHECK(last_status(*carol, 9) == v1::PRESENCE_OFFLINE);

    auto bob = h.open({acme, 9, 90}, 1);
    CHECK(last_status(*carol, 9) == v1::PRESENCE_ONLINE);
    h.request(bob, status(2, v1::PRESENCE_AWAY, "lunch"));
    CHECK(bob->reply_to(2)->has_ok());
    CHECK(last_status(*carol, 9) == v1::PRESENCE_AWAY);
    h.close(bob);
    CHECK(last_status(*carol, 9) == v1::PRESENCE_OFFLINE);

    h.request(carol, subscribe(3, {9}, true));
    const auto seen = carol->of(v1::Frame::kPresenceNotify).size();
    h.open({acme, 9, 90}, 1);
    CHECK(carol->of(v1::Frame::kPresenceNotify).size() == seen);
}

TEST_CASE("a bad presence request is refused and changes nothing", "[unit][core]") {
    service_harness h;
    h.limits.max_presence_subscriptions = 2;
    auto bob = h.open({acme, 9, 90}, 1);
    h.request(bob, status(1, v1::PRESENCE_OFFLINE));
    CHECK(bob->reply_to(1)->error().code() == v1::INVALID_ARGUMENT);
    h.request(bob, status(2, v1::PRESENCE_AWAY, std::string(129, 'x')));
    CHECK(bob->reply_to(2)->error().code() == v1::CONTENT_TOO_LARGE);
    h.request(bob, subscribe(3, {1, 2, 3}));
    CHECK(bob->reply_to(3)->error().code() == v1::INVALID_ARGUMENT);
    h.request(bob, subscribe(4, {1, 2}));
    CHECK(bob->reply_to(4)->has_ok());
}

TEST_CASE("every refused handshake is answered with an Error carrying the Hello's req_id",
          "[unit][core]") {
    service_harness h;
    const auto open_attempt = [&](std::uint64_t attempt, std::uint64_t req_id) {
        auto d = fake_device::make({acme, 9, 90}, 1);
        auto hello = hello_frame(req_id);
        hello.mutable_hello()->set_client_instance("phone-app");
        hello.mutable_hello()->set_attempt(attempt);
        h.core.on_open(d, hello.hello(), welcome_frame(req_id));
        h.settle();
        return d;
    };
    auto newer = open_attempt(2, 7);
    REQUIRE(newer->welcome());
    auto stale = open_attempt(1, 8);  // an abandoned attempt whose Hello arrived late
    REQUIRE(stale->reply_to(8));
    CHECK(stale->reply_to(8)->error().code() == v1::REPLACED);
    CHECK_FALSE(stale->reply_to(8)->error().retryable());
    CHECK(stale->closed_with() == v1::DISCONNECT_REPLACED);
    CHECK_FALSE(newer->closed_with());

    h.core.drain(std::chrono::milliseconds{0});
    h.settle();
    auto late = open_attempt(3, 9);
    REQUIRE(late->reply_to(9));
    CHECK(late->reply_to(9)->error().code() == v1::DRAINING);
    CHECK(late->closed_with() == v1::DISCONNECT_SERVER_DRAINING);
}
