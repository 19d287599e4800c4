// ternctl as an operator runs it: keygen and token (the token it prints verifies with the public
// key it wrote, and carries the claims asked for), inspect on a stopped store, and status, kick
// and drain against a running gateway.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <tern/auth/jwt.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"
#include "store_fixtures.hpp"

namespace {

// Runs a command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("ternctl mints tokens that ternd's verifier accepts", "[integration][ternctl]") {
    const std::string alg = GENERATE("es256", "eddsa");
    tern::test::temp_dir dir("ternctl");
    const std::string ctl = TERN_CTL;
    auto [rc, out] = run(ctl + " keygen --kid k9 --alg " + alg + " --out " + dir.str());
    REQUIRE(rc == 0);
    CHECK(out.find("k9") != std::string::npos);
    const auto private_perms = std::filesystem::status(dir.path() / "k9.key").permissions();
    CHECK((private_perms & std::filesystem::perms::others_read) == std::filesystem::perms::none);

    std::tie(rc, out) = run(ctl + " token --key " + (dir.path() / "k9.key").string() +
                            " --kid k9 --tenant 3 --user 44 --device 5 --ttl 15m");
    REQUIRE(rc == 0);
    const std::string token = out.substr(0, out.find('\n'));

    tern::auth::jwt_verifier::options options;
    options.issuer = "tern-dev";
    options.audience = "tern";
    const tern::auth::jwt_verifier verifier(
        options,
        {tern::auth::jwt_key::from_public_pem("k9", slurp(dir.path() / "k9.pub")).value()});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto claims = verifier.verify(token, now).value();
    CHECK(claims.tenant == 3);
    CHECK(claims.user == 44);
    CHECK(claims.device == 5);
    CHECK(claims.expires_at - claims.issued_at == 15 * 60);
    CHECK_FALSE(claims.jwt_id.empty());
}

TEST_CASE("ternctl refuses bad arguments clearly", "[integration][ternctl]") {
    tern::test::temp_dir dir("ternctl");
    const std::string ctl = TERN_CTL;
    REQUIRE(run(ctl + " keygen --kid k1 --out " + dir.str()).first == 0);
    const auto key = (dir.path() / "k1.key").string();
    CHECK(run(ctl + " token --key " + key +
              " --kid k1 --tenant 1 --user 2 --device 3 --ttl soon 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " token --key " + key + " --kid k1 --tenant 0 --user 2 --device 3 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " token --key " + (dir.path() / "k1.pub").string() +
              " --kid k1 --tenant 1 --user 2 --device 3 2>/dev/null")
              .first != 0);
    CHECK(run(ctl + " keygen --kid k2 --alg rsa 2>/dev/null").first != 0);
}

#include "gateway_fixture.hpp"

TEST_CASE("ternctl inspect reads a stopped store: conversation, user, device, verify",
          "[integration][ternctl]") {
    using namespace tern::test;
    gateway_fixture f;
    const std::string store_dir = f.cfg.server.data_dir;
    {
        auto alice = f.login(1, 7, 70);
        auto bob = f.login(1, 9, 90);
        send_ok(*alice, 2, direct(7, 9), "secret lunch plans", "in-1");
        send_ok(*alice, 3, direct(7, 9), "second", "in-2");
        REQUIRE(pushes(*bob, 2).size() == 2);
        bob->send(mark_read(4, direct(7, 9), 1));
        REQUIRE(bob->receive_reply(4));
    }
    const std::string ctl = std::string(TERN_CTL) + " inspect --data " + store_dir;

    // While ternd runs, the store is locked: inspect says so instead of reading a moving target.
    auto [busy, busy_out] = run(ctl + " verify 2>&1");
    CHECK(busy != 0);
    CHECK(busy_out.find("still running") != std::string::npos);

    f.gw.reset();
    auto [conv_rc, conv] = run(ctl + " conv --direct 9,7");
    CHECK(conv_rc == 0);
    CHECK(conv.find("conversation d:7-9 tenant 1") != std::string::npos);
    CHECK(conv.find("9 member #1 delivered #1 read #1") != std::string::npos);  // no Ack yet
    CHECK(conv.find("#2 ") != std::string::npos);
    CHECK(conv.find("secret lunch plans") == std::string::npos);  // bodies only when asked
    auto [bodies_rc, bodies] = run(ctl + " --bodies conv --direct 7,9");
    CHECK(bodies_rc == 0);
    CHECK(bodies.find("\"secret lunch plans\"") != std::string::npos);

    auto [user_rc, user] = run(ctl + " user --user 9");
    CHECK(user_rc == 0);
    CHECK(user.find("inbox head 2") != std::string::npos);
    CHECK(user.find("d:7-9 member head #2 unread 1") != std::string::npos);

    auto [device_rc, device] = run(ctl + " device --user 9 --device 90");
    CHECK(device_rc == 0);
    CHECK(device.find("device 90 of user 9 tenant 1") != std::string::npos);

    auto [verify_rc, verify] = run(ctl + " verify");
    CHECK(verify_rc == 0);
    CHECK(verify.find("verify: every derived record agrees") != std::string::npos);

    auto [missing_rc, missing] = run(ctl + " conv --group 12345");
    CHECK(missing_rc == 1);
    CHECK(missing.find("no conversation g:12345") != std::string::npos);
}

TEST_CASE("ternctl status, kick and drain work through a running gateway's admin listener",
          "[integration][ternctl][admin]") {
    using namespace std::chrono_literals;
    tern::test::gateway_fixture f;
    const std::string ctl = std::string(TERN_CTL) + " ";
    const std::string where = " --admin http://127.0.0.1:" + std::to_string(f.gw->admin_port());
    const std::string token = std::string(" --token ") + f.admin_token;
    auto alice = f.login(1, 7, 70);
    auto bob = f.login(1, 8, 80);

    auto [rc, out] = run(ctl + "status" + where);
    CHECK(rc == 0);
    CHECK(out.find("ready") != std::string::npos);
    CHECK(out.find("connections  2") != std::string::npos);
    std::tie(rc, out) = run(ctl + "status --json" + where);
    CHECK(rc == 0);
    CHECK(out.find("\"connections\": 2") != std::string::npos);

    // Without the token the server refuses, and ternctl says why.
    std::tie(rc, out) = run(ctl + "kick --tenant 1 --user 7" + where + " 2>&1");
    CHECK(rc == 1);
    CHECK(out.find("401") != std::string::npos);
    std::tie(rc, out) = run(ctl + "kick --tenant 1 --user 7" + where + token);
    CHECK(rc == 0);
    CHECK(out == "kicked 1 connection(s)\n");
    const auto bye = alice->receive_until(tern::v1::Frame::kDisconnect);
    REQUIRE(bye);
    CHECK(bye->disconnect().reason() == tern::v1::DISCONNECT_KICKED);

    std::tie(rc, out) = run(ctl + "drain --seconds 0 --wait" + where + token);
    CHECK(rc == 0);
    CHECK(out.find("draining") != std::string::npos);
    CHECK(out.find("drained: no connection left") != std::string::npos);
    CHECK(bob->closed_within(5s));
    std::tie(rc, out) = run(ctl + "status" + where);
    CHECK(rc == 3);  // not ready while draining
    CHECK(out.find("DRAINING") != std::string::npos);

    std::tie(rc, out) = run(ctl + "status --admin http://127.0.0.1:1 2>&1");
    CHECK(rc == 1);
    CHECK(out.find("cannot reach") != std::string::npos);
}

TEST_CASE("ternctl policy sets a tenant's working hours, and a device follows them",
          "[integration][ternctl][admin]") {
    using namespace tern::test;
    gateway_fixture f;
    const std::string ctl = std::string(TERN_CTL) + " ";
    const std::string where = " --admin http://127.0.0.1:" + std::to_string(f.gw->admin_port());
    auto alice = f.login(1, 7, 70);
    auto bob = f.login(1, 8, 80);
    const auto file = f.dir.path() / "policy.json";
    // No work day at all: every user of tenant 1 is off hours.
    std::ofstream(file) << R"({"hours": {"time_zone": "Europe/Berlin", "work_days": 0,)"
                        << R"( "start": "09:00", "end": "17:00"}})";

    // A tenant admin's token minted by ternctl itself.
    const auto keys = f.dir.path() / "ctl-keys";
    auto [rc, out] = run(ctl + "keygen --kid k1 --out " + keys.string());
    REQUIRE(rc == 0);
    const auto token_of = [&](std::uint64_t tenant) {
        auto [code, text] =
            run(ctl + "token --key " + (keys / "k1.key").string() + " --kid k1 --tenant " +
                std::to_string(tenant) + " --user 1 --device 1 --role admin");
        REQUIRE(code == 0);
        return text.substr(0, text.find('\n'));
    };
    // The gateway trusts the fixture's k1, not this one: first the fixture's admin token.
    std::tie(rc, out) = run(ctl + "policy set --tenant 1 --file " + file.string() + where +
                            " --token " + f.admin_token);
    REQUIRE(rc == 0);
    CHECK(out.find("policy stored") != std::string::npos);
    std::tie(rc, out) = run(ctl + "policy get --tenant 1" + where + " --token " + f.admin_token);
    CHECK(rc == 0);
    CHECK(out.find("Europe/Berlin") != std::string::npos);
    // A token of an unknown key is no admin's: 401, and ternctl says so.
    std::tie(rc, out) =
        run(ctl + "policy get --tenant 1" + where + " --token " + token_of(1) + " 2>&1");
    CHECK(rc == 1);
    CHECK(out.find("401") != std::string::npos);

    alice->send(send_text(5, direct(7, 8), "after hours", "p-1"));
    const auto got = pushes(*bob, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].notice() == tern::v1::NOTICE_SILENT);

    std::ofstream(file, std::ios::trunc) << "{}";
    std::tie(rc, out) = run(ctl + "policy set --tenant 1 --file " + file.string() + where +
                            " --token " + f.admin_token);
    REQUIRE(rc == 0);
    alice->send(send_text(6, direct(7, 8), "any time", "p-2"));
    const auto again = pushes(*bob, 1);
    REQUIRE(again.size() == 1);
    CHECK(again[0].notice() == tern::v1::NOTICE_ALERT);
}

TEST_CASE("ternctl audit lists a tenant's urgent messages to its admins only",
          "[integration][ternctl][admin]") {
    using namespace tern::test;
    gateway_fixture f;
    const std::string ctl = std::string(TERN_CTL) + " ";
    const std::string where = " --admin http://127.0.0.1:" + std::to_string(f.gw->admin_port());
    REQUIRE(http_post(f.gw->admin_port(), "/admin/v1/policy?tenant=1", f.admin_token,
                      R"({"urgent": {"sender_users": [7], "daily_budget": 1}})")
                .status == 200);
    auto alice = f.login(1, 7, 70);
    auto bob = f.login(1, 8, 80);
    auto urgent = send_text(5, direct(7, 8), "the build is red", "u-1");
    urgent.mutable_send()->mutable_content()->set_flags(tern::v1::MESSAGE_FLAG_URGENT);
    urgent.mutable_send()->mutable_content()->set_urgent_reason("release blocked");
    alice->send(urgent);
    const auto ack = alice->receive_reply(5);
    REQUIRE(ack);
    REQUIRE(ack->has_send_ack());
    // The budget of one is spent: the next urgent send is refused, and not recorded.
    urgent.set_req_id(6);
    urgent.mutable_send()->set_client_msg_id("u-2");
    alice->send(urgent);
    const auto spent = alice->receive_reply(6);
    REQUIRE(spent);
    REQUIRE(spent->has_error());
    CHECK(spent->error().code() == tern::v1::URGENT_BUDGET_SPENT);

    auto [rc, out] = run(ctl + "audit --tenant 1" + where + " --token " + f.admin_token);
    REQUIRE(rc == 0);
    CHECK(out.find("user 7  d:7-8 #1  release blocked") != std::string::npos);
    CHECK(out.find("1 urgent message(s)") != std::string::npos);
    // Tenant 1's admin reads it; tenant 2's admin is refused, and tenant 2's trail is empty.
    const auto admin_of = [&](std::uint64_t tenant) {
        return f.token("k1", f.k1.private_pem, [&](tern::auth::token_claims& c) {
            c.tenant = tenant;
            c.roles = {"admin"};
        });
    };
    std::tie(rc, out) = run(ctl + "audit --tenant 1 --json" + where + " --token " + admin_of(1));
    CHECK(rc == 0);
    CHECK(out.find("release blocked") != std::string::npos);
    std::tie(rc, out) = run(ctl + "audit --tenant 1" + where + " --token " + admin_of(2) + " 2>&1");
    CHECK(rc == 1);
    CHECK(out.find("403") != std::string::npos);
    std::tie(rc, out) = run(ctl + "audit --tenant 2" + where + " --token " + admin_of(2));
    CHECK(rc == 0);
    CHECK(out.find("0 urgent message(s)") != std::string::npos);
}
