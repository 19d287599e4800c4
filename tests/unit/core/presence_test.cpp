// The presence registry: device limit, replacement, aggregation across devices, watchers and
// last-seen times. Connections are stood in for by distinct control blocks.
#include "presence.hpp"

#include <catch2/catch.hpp>

using namespace tern::core;
namespace v1 = tern::v1;

namespace {

// An endpoint with a control block of its own and an id in creation order, as a real
// connection would have.
struct fake_connection {
    static inline std::uint64_t next_id = 1;
    std::shared_ptr<int> owner = std::make_shared<int>(0);
    std::shared_ptr<device_port> device{owner, nullptr};
    std::uint64_t id = next_id++;
    endpoint at(std::size_t shard = 0) const { return {shard, device, id}; }
};

constexpr presence_user alice{1, 7};
constexpr std::int64_t t0 = 1'000;

}  // namespace

TEST_CASE("a device comes online and goes offline, with a last-seen time",
          "[unit][core][presence]") {
    presence_registry r;
    fake_connection phone;
    CHECK(r.state(alice, t0).status() == v1::PRESENCE_OFFLINE);
    CHECK(r.state(alice, t0).last_seen_ms() == 0);  // never seen

    auto a = r.admit(alice, 70, phone.at(), {}, 10, t0);
    CHECK(a.admitted);
    CHECK(a.changed);
    CHECK_FALSE(a.replaced);
    CHECK(r.state(alice, t0 + 5).status() == v1::PRESENCE_ONLINE);
    CHECK(r.state(alice, t0 + 5).last_seen_ms() == t0 + 5);
    CHECK(r.online_devices(alice) == 1);

    CHECK(r.remove(alice, 70, phone.at(), t0 + 10));
    CHECK(r.state(alice, t0 + 99).status() == v1::PRESENCE_OFFLINE);
    CHECK(r.state(alice, t0 + 99).last_seen_ms() == t0 + 10);
    CHECK(r.online_devices(alice) == 0);
}

TEST_CASE("the devices-per-user limit refuses a new device, not a returning one",
          "[unit][core][presence]") {
    presence_registry r;
    fake_connection a1, a2, a3, again;
    CHECK(r.admit(alice, 1, a1.at(), {}, 2, t0).admitted);
    CHECK(r.admit(alice, 2, a2.at(), {}, 2, t0).admitted);
    const auto refused = r.admit(alice, 3, a3.at(), {}, 2, t0);
    CHECK_FALSE(refused.admitted);
    CHECK_FALSE(refused.changed);
    CHECK(r.online_devices(alice) == 2);

    // Device 2 connects again: its old connection is named for closing, the count stays.
    const auto replaced = r.admit(alice, 2, again.at(1), {}, 2, t0);
    CHECK(replaced.admitted);
    REQUIRE(replaced.replaced);
    CHECK(replaced.replaced->same(a2.at()));
    CHECK(r.online_devices(alice) == 2);

    // The replaced connection closing changes nothing; the new one closing does.
    CHECK_FALSE(r.remove(alice, 2, a2.at(), t0));
    CHECK(r.online_devices(alice) == 2);
    CHECK_FALSE(r.remove(alice, 2, again.at(1), t0));  // device 1 still online: no change
    CHECK(r.online_devices(alice) == 1);
    CHECK(r.admit(alice, 3, a3.at(), {}, 2, t0).admitted);  // room again
}

TEST_CASE("a stale connection of a device that finishes its handshake late changes nothing",
          "[unit][core][presence]") {
    presence_registry r;
    fake_connection stale;  // accepted first; its handshake is still on its way
    fake_connection fresh;  // the device reconnected
    CHECK(r.admit(alice, 70, fresh.at(), {}, 10, t0).admitted);
    const auto late = r.admit(alice, 70, stale.at(), {}, 10, t0);
    CHECK_FALSE(late.admitted);
    CHECK(late.superseded);
    CHECK_FALSE(late.replaced);
    CHECK(r.online_devices(alice) == 1);
    CHECK_FALSE(r.remove(alice, 70, stale.at(), t0));  // its close changes nothing either
    CHECK(r.online_devices(alice) == 1);
}

TEST_CASE("a client's numbered attempts decide, whatever order the gateway accepted them in",
          "[unit][core][presence]") {
    presence_registry r;
    // A proxy accepted attempt 2 first and delivered attempt 1 (abandoned by the client) later.
    fake_connection second_attempt;
    fake_connection first_attempt;
    CHECK(r.admit(alice, 70, second_attempt.at(), {"instance-a", 2}, 10, t0).admitted);
    const auto late = r.admit(alice, 70, first_attempt.at(), {"instance-a", 1}, 10, t0);
    CHECK_FALSE(late.admitted);
    CHECK(late.superseded);

    // Another instance of the same device (the app started again) replaces it, whatever its count.
    fake_connection restarted;
    const auto replaced = r.admit(alice, 70, restarted.at(), {"instance-b", 1}, 10, t0);
    CHECK(replaced.admitted);
    REQUIRE(replaced.replaced);
    CHECK(replaced.replaced->same(second_attempt.at()));
}

TEST_CASE("a user shows the most available device's status and its newest text",
          "[unit][core][presence]") {
    presence_registry r;
    fake_connection phone, desk;
    r.admit(alice, 1, phone.at(), {}, 10, t0);
    CHECK(r.update(alice, 1, phone.at(), v1::PRESENCE_DO_NOT_DISTURB, "in a meeting", t0));
    CHECK(r.state(alice, t0).status() == v1::PRESENCE_DO_NOT_DISTURB);
    CHECK(r.state(alice, t0).status_text() == "in a meeting");

    // A second device comes online: ONLINE beats DO_NOT_DISTURB.
    CHECK(r.admit(alice, 2, desk.at(), {}, 10, t0).changed);
    CHECK(r.state(alice, t0).status() == v1::PRESENCE_ONLINE);
    CHECK(r.state(alice, t0).status_text().empty());

    CHECK(r.update(alice, 2, desk.at(), v1::PRESENCE_AWAY, "lunch", t0));
    CHECK(r.state(alice, t0).status() == v1::PRESENCE_AWAY);
    CHECK(r.state(alice, t0).status_text() == "lunch");
    // The same status again is no change; an update from a connection not registered is ignored.
    CHECK_FALSE(r.update(alice, 2, desk.at(), v1::PRESENCE_AWAY, "lunch", t0));
    fake_connection stranger;
    CHECK_FALSE(r.update(alice, 2, stranger.at(), v1::PRESENCE_ONLINE, "", t0));

    // Both away: the newest text shows.
    CHECK(r.update(alice, 1, phone.at(), v1::PRESENCE_AWAY, "commuting", t0));
    CHECK(r.state(alice, t0).status_text() == "commuting");
    CHECK(r.remove(alice, 1, phone.at(), t0));
    CHECK(r.state(alice, t0).status_text() == "lunch");
}

TEST_CASE("watchers are kept once each, per user and tenant, and survive the user's absence",
          "[unit][core][presence]") {
    presence_registry r;
    fake_connection w1, w2;
    r.watch(alice, w1.at(0));
    r.watch(alice, w1.at(0));
    r.watch(alice, w2.at(1));
    CHECK(r.watchers(alice).size() == 2);
    CHECK(r.watchers({2, 7}).empty());  // the same user id in another tenant is another user

    fake_connection phone;
    r.admit(alice, 1, phone.at(), {}, 10, t0);
    r.remove(alice, 1, phone.at(), t0 + 1);
    CHECK(r.watchers(alice).size() == 2);

    r.unwatch(alice, w1.at(0));
    REQUIRE(r.watchers(alice).size() == 1);
    CHECK(r.watchers(alice).front().same(w2.at(1)));
    r.unwatch(alice, w2.at(1));
    CHECK(r.watchers(alice).empty());
    CHECK(r.state(alice, t0 + 50).last_seen_ms() == t0 + 1);
}

TEST_CASE("availability orders the statuses", "[unit][core][presence]") {
    CHECK(availability(v1::PRESENCE_ONLINE) > availability(v1::PRESENCE_AWAY));
    CHECK(availability(v1::PRESENCE_AWAY) > availability(v1::PRESENCE_DO_NOT_DISTURB));
    CHECK(availability(v1::PRESENCE_DO_NOT_DISTURB) > availability(v1::PRESENCE_OFFLINE));
}
