// The core's administration, through its facade: list the devices, kick a user, drain.
#include <catch2/catch.hpp>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;
using namespace std::chrono_literals;

TEST_CASE("devices are listed by connection id from every shard, a page at a time",
          "[unit][core]") {
    service_harness h;
    std::vector<std::shared_ptr<fake_device>> devices;
    for (st::user_id u = 1; u <= 5; ++u) devices.push_back(h.open({acme, u, u * 10}, u % 2));
    std::optional<std::vector<core::device_info>> page;
    h.core.list_devices(devices[1]->id(), 2,
                        [&](std::vector<core::device_info> list) { page = std::move(list); });
    CHECK_FALSE(page);  // answered once every shard has
    h.settle();
    REQUIRE(page);
    REQUIRE(page->size() == 2);
    CHECK((*page)[0].id == devices[2]->id());
    CHECK((*page)[1].id == devices[3]->id());
    CHECK((*page)[0].who.user == 3);
}

TEST_CASE("a kick closes one user's devices, or one device, and counts them", "[unit][core]") {
    service_harness h;
    auto phone = h.open({acme, 9, 90}, 0);
    auto desk = h.open({acme, 9, 91}, 1);
    auto other = h.open({acme, 10, 100}, 1);
    auto stranger = h.open({2, 9, 90}, 0);  // the same ids in another tenant
    std::optional<std::size_t> kicked;
    h.core.kick(acme, 9, 91, [&](std::size_t n) { kicked = n; });
    h.settle();
    CHECK(kicked == 1u);
    CHECK(desk->closed_with() == v1::DISCONNECT_KICKED);
    CHECK_FALSE(phone->closed_with());
    h.core.kick(acme, 9, std::nullopt, [&](std::size_t n) { kicked = n; });
    h.settle();
    CHECK(kicked == 1u);  // the desk was closing already
    CHECK(phone->closed_with() == v1::DISCONNECT_KICKED);
    CHECK_FALSE(other->closed_with());
    CHECK_FALSE(stranger->closed_with());
}

TEST_CASE("a drain closes the devices in batches over its window and refuses new ones",
          "[unit][core]") {
    service_harness h;
    std::vector<std::shared_ptr<fake_device>> devices;
    for (st::user_id u = 1; u <= 20; ++u) devices.push_back(h.open({acme, u, u}, 0));
    h.core.drain(1s);
    CHECK(h.core.draining());
    h.settle();
    const auto closed = [&] {
        return std::count_if(devices.begin(), devices.end(),
                             [](const auto& d) { return d->closed_with().has_value(); });
    };
    const auto first = closed();
    CHECK(first > 0);
    CHECK(first < 20);  // not all at once
    h.router.advance(1s);
    CHECK(closed() == 20);
    for (const auto& d : devices) CHECK(d->closed_with() == v1::DISCONNECT_SERVER_DRAINING);
    auto late = h.open({acme, 99, 99}, 1);
    CHECK_FALSE(late->welcome());
    CHECK(late->closed_with() == v1::DISCONNECT_SERVER_DRAINING);
}
