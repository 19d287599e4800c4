// The device directory: a user's shards are never missing one that holds a device of the user.
#include "device_directory.hpp"

#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

using namespace tern::core;

TEST_CASE("a user's shards are the shards holding a device of the user", "[unit][core]") {
    device_directory dir(4, 1024);
    CHECK(dir.shards_of(1, 7).empty());
    dir.add(2, 1, 7);
    dir.add(2, 1, 7);  // a second device on the same shard
    dir.add(3, 1, 7);
    auto shards = dir.shards_of(1, 7);
    CHECK(shards.contains(2));
    CHECK(shards.contains(3));
    dir.remove(2, 1, 7);
    CHECK(dir.shards_of(1, 7).contains(2));  // one device left there
    dir.remove(2, 1, 7);
    dir.remove(3, 1, 7);
    CHECK(dir.shards_of(1, 7).empty());
    dir.remove(3, 1, 7);  // a remove too many changes nothing
    CHECK(dir.shards_of(1, 7).empty());
}

TEST_CASE("shards beyond 64 and collisions never lose a device", "[unit][core]") {
    // 130 shards over three words of bits, and only 16 slots: users share slots.
    device_directory dir(130, 16);
    std::mt19937_64 rng(7);
    std::map<std::pair<std::uint64_t, std::size_t>, int> devices;  // (user, shard) -> count
    for (int step = 0; step < 20'000; ++step) {
        const std::uint64_t user = rng() % 200;
        const std::size_t shard = rng() % 130;
        auto& n = devices[{user, shard}];
        if (n > 0 && rng() % 2 == 0) {
            dir.remove(shard, 5, user);
            --n;
        } else {
            dir.add(shard, 5, user);
            ++n;
        }
        // Every shard holding a device of the user is among the user's shards.
        const auto shards = dir.shards_of(5, user);
        for (std::size_t s = 0; s < 130; ++s) {
            if (devices[{user, s}] > 0) REQUIRE(shards.contains(s));
        }
    }
    // With every device gone, every slot is empty again.
    for (auto& [key, n] : devices) {
        while (n-- > 0) dir.remove(key.second, 5, key.first);
    }
    for (std::uint64_t user = 0; user < 200; ++user) CHECK(dir.shards_of(5, user).empty());
}

TEST_CASE("tenants are told apart, and a fan-out collects the shards of all its users",
          "[unit][core]") {
    device_directory dir(2);
    dir.add(0, 1, 42);
    dir.add(1, 2, 42);
    CHECK(dir.shards_of(1, 42).contains(0));
    CHECK(dir.shards_of(2, 42).contains(1));
    shard_set both;
    dir.collect(1, 42, both);
    dir.collect(2, 42, both);
    CHECK(both.contains(0));
    CHECK(both.contains(1));
    CHECK_THROWS(device_directory(0));
    CHECK_THROWS(device_directory(257));
}
