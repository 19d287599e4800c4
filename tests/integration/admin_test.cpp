// The admin HTTP listener against a real gateway: Prometheus metrics that promtool accepts and
// that count real traffic, health checks, the connection list, kick, drain and the log level,
// and the bearer token that guards the routes that change something.
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;

// promtool's verdict on an exposition (the Debian package `prometheus`, installed by
// scripts/install-deps.sh): its exit status and what it said.
std::pair<int, std::string> promtool_check(const temp_dir& dir, const std::string& text) {
    const auto input = (dir.path() / "metrics.txt").string();
    const auto output = (dir.path() / "promtool.txt").string();
    std::ofstream(input) << text;
    const int status =
        std::system(("promtool check metrics < " + input + " > " + output + " 2>&1").c_str());
    std::ifstream in(output);
    return {WEXITSTATUS(status), std::string(std::istreambuf_iterator<char>(in), {})};
}

nlohmann::json json_of(const tooling_reply& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("/metrics counts real traffic and passes promtool check metrics",
          "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    REQUIRE(admin != 0);

    auto alice = f.login(acme, 7, 70);
    auto bob = f.login(acme, 9, 90);
    send_ok(*alice, 2, direct(7, 9), "hello", "m-1");
    REQUIRE(bob->receive_until(v1::Frame::kPush));
    auto stranger = f.connect();
    stranger.send(hello("not a token"));
    REQUIRE(stranger.closed_within(5s));

    const auto reply = http_get(admin, "/metrics");
    CHECK(reply.status == 200);
    CHECK(reply.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
    const auto& text = reply.body;
    CHECK(metric_sample(text, "tern_messages_received_total") == 1.0);
    // Bob's device and Alice's own device both get the message.
    CHECK(metric_sample(text, "tern_messages_delivered_total") == 2.0);
    CHECK(metric_sample(text, "tern_delivery_latency_seconds_count") == 2.0);
    CHECK(metric_sample(text, "tern_fanout_recipients_count") == 1.0);
    CHECK(metric_sample(text, R"(tern_connections_accepted_total{transport="tcp"})") == 3.0);
    CHECK(metric_sample(text, R"(tern_connections{transport="tcp"})") == 2.0);
    CHECK(metric_sample(text, R"(tern_connections_rejected_total{reason="auth"})") == 1.0);
    CHECK(metric_sample(text, R"(tern_disconnects_total{reason="auth_failed"})") == 1.0);
    CHECK(metric_sample(text, "tern_auth_duration_seconds_count") == 3.0);
    CHECK(metric_sample(text, "tern_storage_commit_batch_entries_count").value_or(0) >= 1.0);
    CHECK(metric_sample(text, "tern_draining") == 0.0);
    CHECK(metric_sample(text, "process_open_fds").value_or(0) > 0);
    CHECK(metric_sample(text, "process_resident_memory_bytes").value_or(0) > 0);
    CHECK(text.find("tern_build_info{") != std::string::npos);

    const auto [status, said] = promtool_check(f.dir, text);
    INFO(said);
    CHECK(status == 0);
}

TEST_CASE("health checks, varz and the connection list", "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    CHECK(http_get(admin, "/livez").status == 200);
    const auto ready = http_get(admin, "/readyz");
    CHECK(ready.status == 200);
    CHECK(ready.body == "ready\n");

    std::vector<std::unique_ptr<raw_client>> clients;
    for (std::uint64_t user = 1; user <= 3; ++user) clients.push_back(f.login(acme, user, 10));

    const auto varz = json_of(http_get(admin, "/admin/v1/varz"));
    CHECK(varz["connections"] == 3);
    CHECK(varz["ready"] == true);
    CHECK(varz["shards"] == 2);
    CHECK(varz["listeners"]["tcp"] == f.gw->tcp_port());

    // Two pages of two: ascending ids, each with its identity and address.
    auto page = json_of(http_get(admin, "/admin/v1/connz?limit=2"));
    REQUIRE(page["connections"].size() == 2);
    CHECK(page["total"] == 3);
    REQUIRE(page["next_after"].is_number());
    const auto first = page["connections"][0];
    CHECK(first["tenant"] == acme);
    CHECK(first["transport"] == "tcp");
    CHECK(first["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
    CHECK(page["connections"][0]["id"] < page["connections"][1]["id"]);
    const auto after = page["next_after"].get<std::uint64_t>();
    page = json_of(http_get(admin, "/admin/v1/connz?limit=2&after=" + std::to_string(after)));
    REQUIRE(page["connections"].size() == 1);
    CHECK(page["next_after"].is_null());
    std::set<std::uint64_t> users;
    const auto everyone = json_of(http_get(admin, "/admin/v1/connz"));
    for (const auto& c : everyone["connections"]) {
        users.insert(c["user"].get<std::uint64_t>());
    }
    CHECK(users == std::set<std::uint64_t>{1, 2, 3});

    CHECK(http_get(admin, "/admin/v1/connz?limit=0").status == 400);
    CHECK(http_get(admin, "/admin/v1/connz?limit=x").status == 400);
    CHECK(http_get(admin, "/admin/v1/connz?after=%31").status == 400);
    CHECK(http_get(admin, "/nothing-here").status == 404);
}

TEST_CASE("changing routes need the bearer token, and none work without one configured",
          "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    CHECK(http_post(admin, "/admin/v1/loglevel?level=debug").status == 401);
    CHECK(http_post(admin, "/admin/v1/loglevel?level=debug", "wrong-token-of-some-length").status ==
          401);
    CHECK(http_get(admin, "/admin/v1/loglevel?level=debug").status == 405);
    CHECK(http_post(admin, "/admin/v1/loglevel?level=loud", f.admin_token).status == 400);
    const auto set = http_post(admin, "/admin/v1/loglevel?level=warn", f.admin_token);
    CHECK(set.status == 200);
    CHECK(json_of(set)["level"] == "warn");
    CHECK(http_post(admin, "/admin/v1/loglevel?level=info", f.admin_token).status == 200);
    // A cluster's route on a single node: checked, then refused as not a cluster node.
    CHECK(http_post(admin, "/admin/v1/partitions/remove-peer?partition=0&peer=n1").status == 401);
    CHECK(http_post(admin, "/admin/v1/partitions/remove-peer?partition=0", f.admin_token).status ==
          400);
    CHECK(http_post(admin, "/admin/v1/partitions/remove-peer?partition=x&peer=n1", f.admin_token)
              .status == 400);
    CHECK(http_post(admin, "/admin/v1/partitions/remove-peer?partition=0&peer=n1", f.admin_token)
              .status == 404);

    gateway_fixture open([](server::config& c) { c.admin.token.clear(); });
    CHECK(http_post(open.gw->admin_port(), "/admin/v1/drain", "anything-at-all-here").status ==
          403);
    CHECK(metric(admin, R"(tern_admin_requests_total{code="401"})") == 3);
    CHECK(metric(admin, R"(tern_admin_requests_total{code="405"})") == 1);
    // Not HTTP at all: dropped unanswered, and counted.
    {
        raw_client garbage(admin);
        garbage.send_raw(std::string("\x16\x03\x01 not http\r\n\r\n"));
        CHECK(garbage.closed_within(5s));
    }
    CHECK(metric(admin, R"(tern_admin_requests_total{code="malformed"})") == 1);
    CHECK_FALSE(open.gw->draining());
}

TEST_CASE("kick closes a user's or one device's connections with DISCONNECT_KICKED",
          "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    auto phone = f.login(acme, 7, 1);
    auto laptop = f.login(acme, 7, 2);
    auto other = f.login(acme, 8, 1);

    CHECK(http_post(admin, "/admin/v1/kick?tenant=1&user=7&device=2").status == 401);
    CHECK(http_post(admin, "/admin/v1/kick?tenant=1", f.admin_token).status == 400);
    auto one = http_post(admin, "/admin/v1/kick?tenant=1&user=7&device=2", f.admin_token);
    CHECK(one.status == 200);
    CHECK(json_of(one)["kicked"] == 1);
    auto bye = laptop->receive_until(v1::Frame::kDisconnect);
    REQUIRE(bye);
    CHECK(bye->disconnect().reason() == v1::DISCONNECT_KICKED);
    CHECK_FALSE(bye->disconnect().reconnect());
    CHECK(laptop->closed_within(5s));

    auto all = http_post(admin, "/admin/v1/kick?tenant=1&user=7", f.admin_token);
    CHECK(json_of(all)["kicked"] == 1);
    REQUIRE(phone->receive_until(v1::Frame::kDisconnect));
    // Another tenant's user 8 is not ours to kick; our user 8 still works.
    CHECK(json_of(http_post(admin, "/admin/v1/kick?tenant=2&user=8", f.admin_token))["kicked"] ==
          0);
    other->send(ping(5));
    const auto pong = other->receive_reply(5);
    REQUIRE(pong);
    CHECK(pong->has_pong());
}

TEST_CASE("a drain fails readiness, closes the listeners and moves every client away",
          "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    std::vector<std::unique_ptr<raw_client>> clients;
    for (std::uint64_t user = 1; user <= 20; ++user) clients.push_back(f.login(acme, user, 1));

    const auto started = http_post(admin, "/admin/v1/drain?seconds=1", f.admin_token);
    CHECK(started.status == 202);
    CHECK(json_of(started)["window_seconds"] == 1);
    CHECK(f.gw->draining());
    const auto ready = http_get(admin, "/readyz");
    CHECK(ready.status == 503);
    CHECK(ready.body == "draining\n");
    CHECK(http_get(admin, "/livez").status == 200);
    CHECK(metric_sample(http_get(admin, "/metrics").body, "tern_draining") == 1.0);

    for (auto& c : clients) {
        const auto bye = c->receive_until(v1::Frame::kDisconnect, 10s);
        REQUIRE(bye);
        CHECK(bye->disconnect().reason() == v1::DISCONNECT_SERVER_DRAINING);
        CHECK(bye->disconnect().code() == v1::DRAINING);
        CHECK(bye->disconnect().reconnect());
        CHECK(c->closed_within(5s));
    }
    CHECK_THROWS(raw_client(f.gw->tcp_port()));  // the listener is closed
    // A second drain is a no-op.
    CHECK(json_of(http_post(admin, "/admin/v1/drain", f.admin_token))["already"] == true);
}

TEST_CASE("a tenant's policy through the admin API: the admin token or that tenant's admins",
          "[integration][admin]") {
    gateway_fixture f;
    const auto admin = f.gw->admin_port();
    const std::string policy =
        R"({"hours": {"time_zone": "Asia/Shanghai", "work_days": 31, "start": "09:00",)"
        R"( "end": "18:00", "holidays": ["2027-02-11"]}, "freedom": "HOURS_FREEDOM_TIME_ZONE"})";
    const auto admin_of = [&](std::uint64_t tenant, std::vector<std::string> roles) {
        return f.token("k1", f.k1.private_pem, [&](auth::token_claims& c) {
            c.tenant = tenant;
            c.roles = roles;
        });
    };
    using tern::tooling::http_method;

    // The operator's admin token: any tenant.
    auto set = http_post(admin, "/admin/v1/policy?tenant=1", f.admin_token, policy);
    REQUIRE(set.status == 200);
    CHECK(json_of(set)["policy"]["hours"]["time_zone"] == "Asia/Shanghai");
    auto got = http_request(admin, http_method::get, "/admin/v1/policy?tenant=1", f.admin_token);
    REQUIRE(got.status == 200);
    CHECK(json_of(got)["freedom"] == "HOURS_FREEDOM_TIME_ZONE");
    CHECK(json_of(got)["hours"]["holidays"][0] == "2027-02-11");

    // Tenant 1's admin reads and replaces tenant 1's; never tenant 2's, even to read it.
    const auto admin1 = admin_of(1, {"admin"});
    CHECK(http_request(admin, http_method::get, "/admin/v1/policy?tenant=1", admin1).status == 200);
    const auto other = http_request(admin, http_method::get, "/admin/v1/policy?tenant=2", admin1);
    CHECK(other.status == 403);
    CHECK(other.body.find("Asia") == std::string::npos);
    CHECK(http_post(admin, "/admin/v1/policy?tenant=2", admin1, "{}").status == 403);
    CHECK(http_post(admin, "/admin/v1/policy?tenant=1", admin1, "{}").status == 200);
    CHECK(json_of(http_request(admin, http_method::get, "/admin/v1/policy?tenant=1", admin1)) ==
          nlohmann::json::object());

    // A member's token, no token, a bad one: refused.
    const auto member = admin_of(1, {"member"});
    CHECK(http_request(admin, http_method::get, "/admin/v1/policy?tenant=1", member).status == 401);
    CHECK(http_request(admin, http_method::get, "/admin/v1/policy?tenant=1").status == 401);
    CHECK(http_post(admin, "/admin/v1/policy?tenant=1", "not-a-token-at-all", policy).status ==
          401);

    // Bad requests: a misspelt field, a bad time zone, no body, no tenant.
    const auto bad = [&](const std::string& body) {
        const auto r = http_post(admin, "/admin/v1/policy?tenant=1", f.admin_token, body);
        CHECK(r.status == 400);
        return json_of(r)["error"].get<std::string>();
    };
    CHECK_THAT(bad(R"({"hours": {"timezone": "UTC"}})"), Catch::Contains("timezone"));
    CHECK_THAT(bad(R"({"hours": {"time_zone": "Mars/Olympus", "start": "09:00", "end": "17:00"}})"),
               Catch::Contains("time zone"));
    CHECK_THAT(bad(""), Catch::Contains("body"));
    CHECK(http_post(admin, "/admin/v1/policy", f.admin_token, policy).status == 400);
    CHECK(http_post(admin, "/admin/v1/kick?tenant=1&user=1", f.admin_token, "{}").status == 400);
    CHECK(metric(admin, R"(tern_admin_requests_total{code="403"})") == 2);
}
