// What the tools share: development tokens that ternd's verifier accepts, and the admin HTTP
// client's URLs.
#include <tern/auth/jwt.hpp>
#include <tern/auth/signing.hpp>
#include <tern/tooling/http_client.hpp>
#include <tern/tooling/tokens.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
namespace tooling = tern::tooling;
namespace auth = tern::auth;

TEST_CASE("a development token is for the development issuer and verifies", "[unit][tools]") {
    const auto claims = tooling::device_claims(3, 42, 7, 2h);
    CHECK(claims.issuer == "tern-dev");
    CHECK(claims.audience == "tern");
    CHECK(claims.expires_at - claims.issued_at == 7200);
    CHECK(claims.jwt_id.size() == 24);
    CHECK(claims.jwt_id != tooling::device_claims(3, 42, 7, 2h).jwt_id);

    const auto pair = auth::generate_key_pair(auth::jwt_alg::eddsa).value();
    const auto key = auth::signing_key::from_private_pem("dev", pair.private_pem).value();
    const auto token = tooling::device_token(key, 3, 42, 7, 1h).value();
    auth::jwt_verifier::options o;
    o.issuer = "tern-dev";
    o.audience = "tern";
    const auth::jwt_verifier verifier(
        o, {auth::jwt_key::from_public_pem("dev", pair.public_pem).value()});
    const auto verified = verifier.verify(token, claims.issued_at).value();
    CHECK(verified.tenant == 3);
    CHECK(verified.user == 42);
    CHECK(verified.device == 7);
}

TEST_CASE("admin URLs are http://host:port with an optional path, and nothing else",
          "[unit][tools]") {
    const auto url = tooling::parse_http_url("http://127.0.0.1:7480/metrics");
    REQUIRE(url.has_value());
    CHECK(url->host == "127.0.0.1");
    CHECK(url->port == "7480");
    CHECK(url->target == "/metrics");
    const auto bare = tooling::parse_http_url("http://[::1]:7480");
    REQUIRE(bare.has_value());
    CHECK(bare->host == "::1");
    CHECK(bare->target == "/");
    CHECK_FALSE(tooling::parse_http_url("https://127.0.0.1:7480/").has_value());
    CHECK_FALSE(tooling::parse_http_url("http://127.0.0.1/").has_value());
    CHECK_FALSE(tooling::parse_http_url("http://:7480/").has_value());
    CHECK_FALSE(tooling::parse_http_url("127.0.0.1:7480").has_value());
}

TEST_CASE("a request to where nothing listens fails with an error, not a reply", "[unit][tools]") {
    // Port 1 on loopback: refused at once.
    const auto reply = tooling::send_http(
        {tooling::http_method::get, "127.0.0.1", "1", "/", {}, std::chrono::seconds(5)});
    CHECK_FALSE(reply.has_value());
}
