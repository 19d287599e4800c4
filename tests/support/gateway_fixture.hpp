// A gateway on 127.0.0.1:0 for integration tests, with signing keys and helpers for the frames
// every test sends.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include <tern/auth/signing.hpp>
#include <tern/server/gateway.hpp>
#include <tern/tooling/tokens.hpp>

#include "raw_client.hpp"
#include "store_fixtures.hpp"

namespace tern::test {

namespace auth = tern::auth;
namespace tooling = tern::tooling;

inline std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A gateway on 127.0.0.1:0 with one ES256 key "k1" (any tenant) and one EdDSA key "t2" bound to
// tenant 2, plus the private keys to mint tokens with.
struct gateway_fixture {
    temp_dir dir{"tern-gw"};
    auth::key_pair k1 = auth::generate_key_pair(auth::jwt_alg::es256).value();
    auth::key_pair t2 = auth::generate_key_pair(auth::jwt_alg::eddsa).value();
    auth::key_pair stranger = auth::generate_key_pair(auth::jwt_alg::es256).value();
    server::config cfg;
    std::unique_ptr<server::gateway> gw;
    static constexpr const char* admin_token = "test-admin-token-0123456789";

    // `open_store`, when given, opens the store the gateway runs on (instead of the gateway
    // opening server.data_dir itself): a store on a file system that fails on demand.
    explicit gateway_fixture(
        const std::function<void(server::config&)>& tune = {},
        const std::function<std::unique_ptr<st::store>(const server::config&)>& open_store = {}) {
        std::ofstream(dir.path() / "k1.pub") << k1.public_pem;
        std::ofstream(dir.path() / "t2.pub") << t2.public_pem;
        cfg.server.shards = 2;
        cfg.server.data_dir = (dir.path() / "data").string();
        cfg.listen.tcp = "127.0.0.1:0";
        cfg.admin.listen = "127.0.0.1:0";
        cfg.admin.token = admin_token;
        cfg.auth.keys = {{"k1", (dir.path() / "k1.pub").string(), "", 0},
                         {"t2", (dir.path() / "t2.pub").string(), "", 2}};
        if (tune) tune(cfg);
        gw = open_store ? std::make_unique<server::gateway>(cfg, open_store(cfg))
                        : std::make_unique<server::gateway>(cfg);
        gw->start();
    }

    // The claims of a valid token for tenant 1, user 42, device 7, issued now for an hour.
    static auth::token_claims claims() {
        return tooling::device_claims(1, 42, 7, std::chrono::hours(1));
    }

    static std::string token_with(const auth::signing_key& key,
                                  const std::function<void(auth::token_claims&)>& edit = {}) {
        auto c = claims();
        if (edit) edit(c);
        return auth::sign_token(c, key).value();
    }

    std::string token(const std::string& kid, const std::string& private_pem,
                      const std::function<void(auth::token_claims&)>& edit = {}) const {
        return token_with(auth::signing_key::from_private_pem(kid, private_pem).value(), edit);
    }
    std::string good_token() const { return token("k1", k1.private_pem); }

    std::string token_for(std::uint64_t tenant, std::uint64_t user, std::uint64_t device) const {
        return token("k1", k1.private_pem, [&](auth::token_claims& c) {
            c.tenant = tenant;
            c.user = user;
            c.device = device;
        });
    }

    raw_client connect() const { return raw_client(gw->tcp_port()); }

    // Connects and completes the handshake; `welcome` receives the Welcome.
    std::unique_ptr<raw_client> login(std::uint64_t tenant, std::uint64_t user,
                                      std::uint64_t device,
                                      std::optional<std::uint64_t> resume = std::nullopt,
                                      v1::Welcome* welcome = nullptr) const;

    // Nothing meant for a device is dropped unless the test provokes it (a slow consumer...).
    bool expect_dropped_frames = false;
    ~gateway_fixture() { check_no_dropped_frames(); }
    void check_no_dropped_frames() const {
        if (gw && !expect_dropped_frames) CHECK(gw->frames_dropped() == 0);
    }

    // Stops the gateway and starts a new one on the same data directory.
    void restart() {
        check_no_dropped_frames();
        gw.reset();
        gw = std::make_unique<server::gateway>(cfg);
        gw->start();
    }
};

// A self-signed P-256 certificate for localhost in `dir` (cert.pem, key.pem), made with the
// openssl command line tool.
inline std::pair<std::string, std::string> make_test_certificate(const temp_dir& dir) {
    const auto cert = (dir.path() / "cert.pem").string();
    const auto key = (dir.path() / "key.pem").string();
    const auto command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 "
        "-keyout " +
        key + " -out " + cert + " 2>/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    return {cert, key};
}

inline v1::ConvId direct(std::uint64_t a, std::uint64_t b) {
    v1::ConvId c;
    c.set_type(v1::CONV_TYPE_DIRECT);
    c.set_id(std::min(a, b));
    c.set_peer(std::max(a, b));
    return c;
}

inline v1::ConvId group(std::uint64_t id) {
    v1::ConvId c;
    c.set_type(v1::CONV_TYPE_GROUP);
    c.set_id(id);
    return c;
}

inline v1::Frame send_text(std::uint64_t req_id, const v1::ConvId& conv, const std::string& text,
                           const std::string& cmid) {
    v1::Frame f;
    f.set_req_id(req_id);
    *f.mutable_send()->mutable_conv() = conv;
    f.mutable_send()->set_client_msg_id(cmid);
    f.mutable_send()->mutable_content()->set_text(text);
    return f;
}

inline v1::Frame hello(const std::string& token, std::uint64_t req_id = 1) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_hello()->set_protocol_version(1);
    f.mutable_hello()->set_token(token);
    f.mutable_hello()->set_platform(v1::PLATFORM_LINUX);
    return f;
}

inline v1::Frame mark_read(std::uint64_t req_id, const v1::ConvId& conv, std::uint64_t up_to) {
    v1::Frame f;
    f.set_req_id(req_id);
    *f.mutable_mark_read()->mutable_conv() = conv;
    f.mutable_mark_read()->set_up_to_seq(up_to);
    return f;
}

inline v1::Frame ping(std::uint64_t req_id, std::int64_t t = 0) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_ping()->set_client_time_ms(t);
    return f;
}

inline std::unique_ptr<raw_client> gateway_fixture::login(std::uint64_t tenant, std::uint64_t user,
                                                          std::uint64_t device,
                                                          std::optional<std::uint64_t> resume,
                                                          v1::Welcome* welcome) const {
    auto c = std::make_unique<raw_client>(gw->tcp_port());
    auto h = hello(token_for(tenant, user, device));
    if (resume) h.mutable_hello()->set_resume_inbox_seq(*resume);
    c->send(h);
    auto w = c->receive();
    REQUIRE(w);
    REQUIRE(w->has_welcome());
    if (welcome) *welcome = w->welcome();
    return c;
}

// Sends and waits for the SendAck (pushes that arrive meanwhile stay queued in the client).
inline v1::SendAck send_ok(raw_client& c, std::uint64_t req_id, const v1::ConvId& conv,
                           const std::string& text, const std::string& cmid) {
    c.send(send_text(req_id, conv, text, cmid));
    const auto f = c.receive_reply(req_id);
    REQUIRE(f);
    if (f->has_error()) FAIL("error " << f->error().code() << ": " << f->error().message());
    REQUIRE(f->has_send_ack());
    return f->send_ack();
}

// Collects pushes until `count` arrived (or the deadline).
inline std::vector<v1::Push> pushes(raw_client& c, std::size_t count,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::vector<v1::Push> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto f = c.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
        if (!f) break;
        if (f->has_push()) out.push_back(f->push());
    }
    return out;
}

inline std::uint64_t create_group(raw_client& c, std::uint64_t req_id, const std::string& name,
                                  const std::vector<std::uint64_t>& members) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_group_create()->set_name(name);
    f.mutable_group_create()->set_client_msg_id("create-" + name);
    for (auto m : members) f.mutable_group_create()->add_member_ids(m);
    c.send(f);
    const auto r = c.receive_reply(req_id);
    REQUIRE(r);
    if (r->has_error()) FAIL("error " << r->error().code());
    REQUIRE(r->has_send_ack());
    CHECK(r->send_ack().seq() == 1);
    return r->send_ack().conv().id();
}

}  // namespace tern::test
