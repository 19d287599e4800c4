#include <tern/server/config.hpp>

#include <fstream>

#include <catch2/catch.hpp>

#include "store_fixtures.hpp"

using tern::server::config_error;
using tern::server::load_config;

namespace {

std::string write_file(const tern::test::temp_dir& dir, const std::string& text) {
    const auto path = (dir.path() / "ternd.toml").string();
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("the defaults are valid and match the brief's limits", "[unit][config]") {
    const auto loaded = load_config(std::nullopt, {}, {});
    const auto& c = loaded.values;
    CHECK(loaded.warnings.empty());
    CHECK(c.server.durability == "fsync");
    CHECK(c.server.store_background_priority == "low");
    CHECK(c.limits.max_frame_bytes == 64 * 1024);
    CHECK(c.limits.auth_deadline_ms == 10'000);
    CHECK(c.limits.heartbeat_interval_ms == 30'000);
    CHECK(c.limits.idle_timeout_ms == 75'000);
    CHECK(c.limits.outbound_queue_bytes == 1024 * 1024);
    CHECK(c.limits.outbound_queue_frames == 1000);
    CHECK(c.limits.inbound_frames_per_second == 50);
    CHECK(c.limits.inbound_burst == 200);
    CHECK(c.limits.max_group_members == 10'000);
    CHECK(c.limits.max_devices_per_user == 10);
}

TEST_CASE("the example configuration file is valid and complete", "[unit][config]") {
    const auto loaded =
        load_config(std::string(TERN_SOURCE_DIR) + "/config/ternd.example.toml", {}, {});
    CHECK(loaded.warnings.empty());
    CHECK(loaded.values.listen.tcp == "127.0.0.1:7400");
}

TEST_CASE("flags beat the environment, which beats the file", "[unit][config]") {
    tern::test::temp_dir dir;
    const auto path = write_file(dir, R"(
[server]
durability = "os"
shards = 3
[limits]
max_frame_bytes = 100000
inbound_burst = 10
[websocket]
allowed_origins = ["https://a.example"]
[[auth.keys]]
kid = "k1"
public_key_file = "keys/k1.pub"
tenant = 7
)");
    const std::map<std::string, std::string> env{
        {"TERN_LIMITS__MAX_FRAME_BYTES", "200000"},
        {"TERN_LIMITS__INBOUND_BURST", "20"},
        {"TERN_WEBSOCKET__ALLOWED_ORIGINS", "https://b, https://c"},
        {"HOME", "/root"}};
    const auto loaded = load_config(path, env, {"limits.max_frame_bytes=300000"});
    const auto& c = loaded.values;
    CHECK(loaded.warnings.empty());
    CHECK(c.server.durability == "os");
    CHECK(c.server.shards == 3);
    CHECK(c.limits.max_frame_bytes == 300000);  // flag
    CHECK(c.limits.inbound_burst == 20);        // environment
    CHECK(c.websocket.allowed_origins == std::vector<std::string>{"https://b", "https://c"});
    REQUIRE(c.auth.keys.size() == 1);
    CHECK(c.auth.keys[0].kid == "k1");
    CHECK(c.auth.keys[0].tenant == 7);
}

TEST_CASE("unknown keys are warned about, not fatal", "[unit][config]") {
    tern::test::temp_dir dir;
    const auto path = write_file(dir, "[server]\nshardz = 2\n[nonsense]\nx = 1\n");
    const auto loaded = load_config(path, {{"TERN_LIMITS__MAX_FRAMES", "1"}}, {});
    REQUIRE(loaded.warnings.size() == 3);
    const auto warned = [&](const std::string& what) {
        return std::any_of(loaded.warnings.begin(), loaded.warnings.end(),
                           [&](const std::string& w) { return w.find(what) != std::string::npos; });
    };
    CHECK(warned("server.shardz"));
    CHECK(warned("nonsense.x"));
    CHECK(warned("TERN_LIMITS__MAX_FRAMES"));
}

TEST_CASE("bad values are refused with the key's name", "[unit][config]") {
    tern::test::temp_dir dir;
    const auto fails_with = [&](const std::string& file, const std::string& key) {
        CAPTURE(file);
        try {
            (void)load_config(write_file(dir, file), {}, {});
            FAIL("accepted");
        } catch (const config_error& e) {
            CHECK(std::string(e.what()).find(key) != std::string::npos);
        }
    };
    fails_with("[server]\ndurability = \"sometimes\"\n", "server.durability");
    fails_with("[server]\nstore_background_priority = \"high\"\n",
               "server.store_background_priority");
    fails_with("[server]\nshards = \"two\"\n", "server.shards");
    fails_with("[server]\nshards = -1\n", "server.shards");
    fails_with("[listen]\ntcp = \"\"\n", "listen");
    fails_with("[listen]\ntls = \"127.0.0.1:0\"\n", "tls");
    fails_with("[limits]\nmax_frame_bytes = 10\n", "limits.max_frame_bytes");
    fails_with("[limits]\nidle_timeout_ms = 1000\n", "limits.idle_timeout_ms");
    fails_with("[log]\nlevel = \"loud\"\n", "log.level");
    fails_with("[[auth.keys]]\nkid = \"k\"\n", "auth.keys.k");
    fails_with("[[auth.keys]]\nkid = \"k\"\nhmac_secret = \"s\"\n", "allow_hs256");
    fails_with(
        "[[auth.keys]]\nkid = \"k\"\npublic_key_file = \"a\"\n[[auth.keys]]\nkid = \"k\"\n"
        "public_key_file = \"b\"\n",
        "duplicate kid");
    fails_with("[server\n", "line");
    CHECK_THROWS_AS(load_config(std::nullopt, {{"TERN_SERVER__SHARDS", "many"}}, {}), config_error);
    CHECK_THROWS_AS(load_config(std::nullopt, {}, {"server.nope=1"}), config_error);
    CHECK_THROWS_AS(load_config(std::nullopt, {}, {"server.shards"}), config_error);
}

TEST_CASE("the cluster section is off by default and checked when on", "[unit][config]") {
    CHECK_FALSE(load_config(std::nullopt, {}, {}).values.cluster.enabled);
    const std::vector<std::string> on{"cluster.enabled=true", "cluster.node=n1"};
    const auto ok = load_config(std::nullopt, {{"TERN_CLUSTER__NATS_PASSWORD", "secret"}},
                                {"cluster.enabled=true", "cluster.node=n1",
                                 "cluster.nats_servers=nats://127.0.0.1:14221,tls://b:4222",
                                 "cluster.placements=42:7,43:0"});
    CHECK(ok.values.cluster.node == "n1");
    CHECK(ok.values.cluster.nats_password == "secret");
    CHECK(ok.values.cluster.nats_servers.size() == 2);
    CHECK(ok.values.cluster.placements == std::vector<std::string>{"42:7", "43:0"});

    const auto refused = [&](const std::string& setting, const std::string& key) {
        auto settings = on;
        settings.push_back(setting);
        try {
            (void)load_config(std::nullopt, {}, settings);
            FAIL("accepted " << setting);
        } catch (const config_error& e) {
            CHECK_THAT(e.what(), Catch::Contains(key));
        }
    };
    refused("cluster.node=", "cluster.node");
    refused("cluster.node=n 1", "cluster.node");
    refused("cluster.nats_servers=http://a:4222", "cluster.nats_servers");
    refused("cluster.partitions=0", "cluster.partitions");
    refused("cluster.partitions=1001", "cluster.partitions");
    refused("cluster.replicas=6", "cluster.replicas");
    refused("cluster.retention_days=0", "cluster.retention_days");
    refused("cluster.append_timeout_ms=10", "cluster.append_timeout_ms");
    refused("cluster.placements=42", "cluster.placements");
    refused("cluster.placements=42:32", "cluster.placements");
    refused("cluster.placements=0:1", "cluster.placements");
    refused("cluster.placements=42:1,42:2", "cluster.placements");
    refused("server.durability=os", "server.durability");
}

TEST_CASE("the push section is off by default and checked when a relay is named",
          "[unit][config]") {
    CHECK(load_config(std::nullopt, {}, {}).values.push.url.empty());
    const auto ok = load_config(std::nullopt, {{"TERN_PUSH__SECRET", "0123456789abcdef"}},
                                {"push.url=https://relay.internal/push", "push.grace_ms=30000"});
    CHECK(ok.values.push.secret == "0123456789abcdef");
    CHECK(ok.values.push.contract == "webhook");
    CHECK(ok.values.push.grace_ms == 30000);
    // A Matrix push gateway needs no secret.
    CHECK(load_config(
              std::nullopt, {},
              {"push.url=http://127.0.0.1:5000/_matrix/push/v1/notify", "push.contract=matrix"})
              .values.push.contract == "matrix");

    const auto refused = [&](const std::vector<std::string>& settings, const std::string& key) {
        try {
            (void)load_config(std::nullopt, {}, settings);
            FAIL("accepted");
        } catch (const config_error& e) {
            CHECK_THAT(e.what(), Catch::Contains(key));
        }
    };
    refused({"push.url=relay.internal/push", "push.contract=matrix"}, "push.url");
    refused({"push.url=http://relay/push", "push.contract=apns"}, "push.contract");
    refused({"push.url=http://relay/push", "push.secret=short"}, "push.secret");
    refused({"push.url=http://relay/push", "push.contract=matrix", "push.concurrency=0"}, "push");
    refused({"push.url=http://relay/push", "push.contract=matrix", "push.grace_ms=4000000"},
            "push.grace_ms");
}
