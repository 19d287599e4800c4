// The durability contract against a real ternd killed with SIGKILL: every acknowledged message is
// there after a restart on the same data, resends return the original seqs, and a receiver sees
// every message exactly once, in order, without gaps.
#include <fstream>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
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
