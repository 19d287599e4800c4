// A real ternd process: the durability contract when it is killed with SIGKILL (every acknowledged
// message is there after a restart on the same data, resends return the original seqs, a receiver
// sees every message exactly once, in order, without gaps), and its signals: SIGTERM drains,
// SIGHUP reloads, systemd hears about both.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

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
          "[fault][restart]") {
    const std::string durability = GENERATE("fsync", "os");
    CAPTURE(durability);
    const ternd_setup setup("tern-kill9", durability);
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    const auto token = [&](std::uint64_t user, std::uint64_t device) {
        return setup.token(1, user, device);
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

TEST_CASE("scheduled messages survive kill -9: each released once, with its seq, in order",
          "[fault][restart]") {
    const ternd_setup setup("tern-kill9-scheduled", "fsync");
    const auto wall_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    const auto schedule = [](raw_client& c, std::uint64_t req_id, const std::string& cmid,
                             std::int64_t at_ms) {
        v1::Frame f;
        f.set_req_id(req_id);
        auto& s = *f.mutable_schedule_send();
        *s.mutable_conv() = direct(7, 9);
        s.set_client_msg_id(cmid);
        s.mutable_content()->set_text("scheduled " + cmid);
        s.set_at_ms(at_ms);
        c.send(f);
        const auto r = c.receive_reply(req_id);
        REQUIRE(r);
        REQUIRE(r->has_scheduled_message());
        return r->scheduled_message();
    };
    // Three messages due a few seconds from now, and one cancelled; then the server dies before
    // any is due.
    const auto due = wall_ms() + 3'000;
    {
        ternd_process ternd(TERND_BINARY, setup.config_file, setup.log_file);
        auto alice = login(ternd.port(), setup.token(1, 7, 70));
        schedule(*alice, 1, "s1", due);
        schedule(*alice, 2, "s2", due + 200);
        schedule(*alice, 3, "s3", due + 400);
        const auto gone = schedule(*alice, 4, "s4", due);
        v1::Frame cancel;
        cancel.set_req_id(5);
        cancel.mutable_cancel_scheduled()->set_schedule_id(gone.schedule_id());
        alice->send(cancel);
        REQUIRE(alice->receive_reply(5)->has_ok());
        ternd.kill9();
    }
    // Restarted after they came due: released at start, in their order, once each.
    while (wall_ms() < due + 600) std::this_thread::sleep_for(100ms);
    ternd_process ternd(TERND_BINARY, setup.config_file, setup.log_file);
    auto bob = login(ternd.port(), setup.token(1, 9, 90));
    std::vector<std::string> got;
    std::uint64_t expect = 1;
    while (got.size() < 3) {
        auto f = bob->receive(20s);
        REQUIRE(f);
        if (!f->has_push()) continue;
        const auto& ev = f->push().event();
        CHECK(ev.seq() == expect++);
        CHECK(ev.sender() == 7);
        CHECK(ev.server_time_ms() >= due);
        got.push_back(ev.client_msg_id());
    }
    CHECK(got == std::vector<std::string>{"s1", "s2", "s3"});
    CHECK(bob->receive(1s) == std::nullopt);  // nothing more: not the cancelled one, no repeat
    auto alice = login(ternd.port(), setup.token(1, 7, 71));
    v1::Frame list;
    list.set_req_id(9);
    list.mutable_list_scheduled();
    alice->send(list);
    const auto listed = alice->receive_reply(9);
    REQUIRE(listed);
    CHECK(listed->scheduled_list().scheduled_size() == 0);
}

TEST_CASE(
    "SIGTERM drains: readiness fails, clients are told to reconnect, ternd exits 0 and "
    "keeps every acked message",
    "[fault][drain]") {
    const ternd_setup setup("tern-drain", "fsync");
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    const auto token = [&](std::uint64_t user, std::uint64_t device) {
        return setup.token(1, user, device);
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

TEST_CASE("ternd tells systemd when it is ready and when it stops (Type=notify)",
          "[fault][drain]") {
    const ternd_setup setup("tern-notify", "fsync");
    const auto& dir = setup.dir;
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    // The notification socket systemd would hold: a Unix datagram socket.
    const auto path = (dir.path() / "notify.sock").string();
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    const auto next_message = [fd] {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10'000) != 1) return std::string();
        char buffer[256];
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    };

    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ternd_process ternd(TERND_BINARY, config_file, log_file);
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(next_message() == "READY=1");
    ternd.signal(SIGHUP);
    CHECK(next_message() == "RELOADING=1");
    CHECK(next_message() == "READY=1");
    ternd.signal(SIGTERM);
    CHECK(next_message() == "STOPPING=1");
    CHECK(ternd.wait_exit(30s) == 0);
    ::close(fd);
}

TEST_CASE("SIGHUP loads a new TLS certificate and log level without dropping connections",
          "[fault][drain]") {
    const ternd_setup setup("tern-sighup", "fsync");
    const auto& dir = setup.dir;
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    const auto& key = setup.key;
    temp_dir first("tern-cert-a");
    temp_dir second("tern-cert-b");
    const auto [cert_a, key_a] = make_test_certificate(first);
    const auto [cert_b, key_b] = make_test_certificate(second);
    const auto cert = (dir.path() / "cert.pem").string();
    const auto key_file = (dir.path() / "key.pem").string();
    std::filesystem::copy_file(cert_a, cert);
    std::filesystem::copy_file(key_a, key_file);

    std::ofstream(config_file, std::ios::app)
        << "[listen]\ntls = \"127.0.0.1:0\"\n[tls]\ncert_file = \"" << cert << "\"\nkey_file = \""
        << key_file << "\"\n[log]\nlevel = \"info\"\n";
    ternd_process ternd(TERND_BINARY, config_file, log_file);
    const auto tls_port = ternd.listener_port("tls");
    REQUIRE(tls_port != 0);
    const auto token = gateway_fixture::token_with(key);
    // Another device of the user: the same device connecting again would replace `before`.
    const auto other_token =
        gateway_fixture::token_with(key, [](auth::token_claims& c) { c.device = 8; });

    tls_client before(tls_port, cert_a);
    before.send(hello(token));
    REQUIRE(before.receive_until(v1::Frame::kWelcome));
    CHECK_THROWS(tls_client(tls_port, cert_b));  // B is not the certificate in use yet

    std::filesystem::copy_file(cert_b, cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(key_b, key_file, std::filesystem::copy_options::overwrite_existing);
    {
        std::ifstream in(config_file);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        text.replace(text.find("level = \"info\""), 14, "level = \"debug\"");
        std::ofstream(config_file, std::ios::trunc) << text;
    }
    ternd.signal(SIGHUP);

    // New handshakes present B (the reload is asynchronous: wait for it, bounded).
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; ++i) {
        try {
            tls_client after(tls_port, cert_b);
            after.send(hello(other_token, 2));
            reloaded = after.receive_until(v1::Frame::kWelcome).has_value();
        } catch (const std::exception&) {
            std::this_thread::sleep_for(50ms);
        }
    }
    CHECK(reloaded);
    // The connection made before the reload still works.
    before.send(ping(7));
    const auto pong = before.receive_reply(7);
    REQUIRE(pong);
    CHECK(pong->has_pong());
    std::ifstream log(log_file);
    const std::string text((std::istreambuf_iterator<char>(log)), {});
    CHECK(text.find("SIGHUP: reloaded (log level debug") != std::string::npos);
}
