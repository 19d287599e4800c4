// The durability contract against a real ternd killed with SIGKILL: every acknowledged message is
// there after a restart on the same data, resends return the original seqs, and a receiver sees
// every message exactly once, in order, without gaps.
#include <fstream>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"
#include "tern/v1/events.pb.h"
#include "ternd_process.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

v1::Frame send_frame(std::uint64_t req_id, const std::string& cmid) {
    return send_text(req_id, direct(7, 9), "payload " + cmid, cmid);
}

std::unique_ptr<raw_client> login(std::uint16_t port, const std::string& token) {
    auto c = std::make_unique<raw_client>(port);
    c->send(hello(token));
    auto w = c->receive();
    REQUIRE(w);
    REQUIRE(w->has_welcome());
    return c;
}

}  // namespace

TEST_CASE("acked messages survive kill -9, resends keep their seqs, delivery is exactly once",
          "[integration][fault][restart]") {
    const std::string durability = GENERATE("fsync", "os");
    CAPTURE(durability);
    temp_dir dir("tern-kill9");
    const auto keys = server::generate_key_pair(server::jwt_alg::es256).value();
    const auto config_file = write_ternd_config(dir.path(), keys.public_pem, durability);
    const auto log_file = (dir.path() / "ternd.log").string();
    const auto key = server::jwt_key::from_private_pem("k1", keys.private_pem).value();
    const auto token = [&](std::uint64_t user, std::uint64_t device) {
        return gateway_fixture::token_with(key, [&](server::token_claims& c) {
            c.user = user;
            c.device = device;
        });
    };

    constexpr int total = 300;
    std::map<std::string, std::uint64_t> acked;  // client_msg_id -> seq
    {
        ternd_process ternd(TERND_BINARY, config_file, log_file);
        auto alice = login(ternd.port(), token(7, 70));
        for (int i = 0; i < total; ++i) alice->send(send_frame(100 + i, "m" + std::to_string(i)));
        // Collect acks until about half are in, then kill the server mid-stream.
        while (acked.size() < total / 2) {
            auto f = alice->receive(10s);
            REQUIRE(f);
            if (f->has_send_ack())
                acked["m" + std::to_string(f->req_id() - 100)] = f->send_ack().seq();
        }
        ternd.kill9();
    }

    ternd_process ternd(TERND_BINARY, config_file, log_file);
    auto alice = login(ternd.port(), token(7, 71));
    // Resend everything: acked ones keep their seq; the rest are stored once each.
    std::map<std::string, std::uint64_t> final_seq;
    for (int i = 0; i < total; ++i) {
        const auto cmid = "m" + std::to_string(i);
        alice->send(send_frame(1000 + i, cmid));
        const auto r = alice->receive_reply(1000 + i);
        REQUIRE(r);
        REQUIRE(r->has_send_ack());
        final_seq[cmid] = r->send_ack().seq();
        if (auto it = acked.find(cmid); it != acked.end()) {
            CHECK(r->send_ack().duplicate());
            CHECK(r->send_ack().seq() == it->second);
        }
    }

    // Bob, a new device, receives every message exactly once, in seq order, without gaps.
    auto bob = login(ternd.port(), token(9, 90));
    std::set<std::string> seen;
    std::uint64_t expect = 1;
    while (seen.size() < static_cast<std::size_t>(total)) {
        auto f = bob->receive(10s);
        REQUIRE(f);
        if (!f->has_push()) continue;
        const auto& ev = f->push().event();
        REQUIRE(ev.seq() == expect++);
        REQUIRE(seen.insert(ev.client_msg_id()).second);
        CHECK(final_seq[ev.client_msg_id()] == ev.seq());
    }
    CHECK(bob->receive(300ms) == std::nullopt);  // nothing more: no duplicates
}

TEST_CASE("SIGTERM drains: readiness fails, clients are told to reconnect, ternd exits 0 and "
          "keeps every acked message",
          "[integration][fault][drain]") {
    temp_dir dir("tern-drain");
    const auto keys = server::generate_key_pair(server::jwt_alg::es256).value();
    const auto config_file = write_ternd_config(dir.path(), keys.public_pem, "fsync");
    const auto log_file = (dir.path() / "ternd.log").string();
    const auto key = server::jwt_key::from_private_pem("k1", keys.private_pem).value();
    const auto token = [&](std::uint64_t user, std::uint64_t device) {
        return gateway_fixture::token_with(key, [&](server::token_claims& c) {
            c.user = user;
            c.device = device;
        });
    };

    constexpr int total = 50;
    {
        // A connection that never says Hello keeps the drain going until the auth deadline, long
        // enough to see readiness fail.
        ternd_process ternd(TERND_BINARY, config_file, log_file,
                            {"admin.drain_seconds=1", "limits.auth_deadline_ms=3000"});
        auto alice = login(ternd.port(), token(7, 70));
        auto bob = login(ternd.port(), token(9, 90));
        for (int i = 0; i < total; ++i) alice->send(send_frame(100 + i, "m" + std::to_string(i)));
        for (int i = 0; i < total; ++i) REQUIRE(alice->receive_reply(100 + i));
        raw_client silent(ternd.port());
        REQUIRE(http_get(ternd.admin_port(), "/readyz").status == 200);

        ternd.signal(SIGTERM);
        const auto bye = bob->receive_until(v1::Frame::kDisconnect, 10s);
        REQUIRE(bye);
        CHECK(bye->disconnect().reason() == v1::DISCONNECT_SERVER_DRAINING);
        CHECK(bye->disconnect().reconnect());
        const auto ready = http_get(ternd.admin_port(), "/readyz");
        CHECK(ready.status == 503);
        CHECK(ready.body == "draining\n");
        CHECK_THROWS(raw_client(ternd.port()));  // the listener is closed
        CHECK(ternd.wait_exit(30s) == 0);
    }

    ternd_process ternd(TERND_BINARY, config_file, log_file);
    auto bob = login(ternd.port(), token(9, 91));
    std::uint64_t expect = 1;
    while (expect <= total) {
        auto f = bob->receive(10s);
        REQUIRE(f);
        if (f->has_push()) REQUIRE(f->push().event().seq() == expect++);
    }
}
