// The JWT negative suite: every way a token can be wrong is refused with its own code, and the
// RFC 8725 pitfalls (alg none, algorithm confusion, HS256 when not allowed) are closed. Tokens
// are minted with the module's own signing half, which the tools use.
#include <tern/auth/jwt.hpp>
#include <tern/auth/signing.hpp>
#include <tern/tooling/tokens.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <catch2/catch.hpp>

#include "tern/v1/errors.pb.h"

using namespace tern::auth;
namespace tooling = tern::tooling;

namespace {

constexpr std::int64_t now = 1'800'000'000;

std::string b64url(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) out.push_back(alphabet[(buffer >> (bits -= 6)) & 0x3f]);
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

token_claims claims_for(std::uint64_t tenant = 1, std::uint64_t user = 42) {
    token_claims c;
    c.issuer = "tern-dev";
    c.audience = "tern";
    c.tenant = tenant;
    c.user = user;
    c.device = 7;
    c.issued_at = now - 10;
    c.expires_at = now + 3600;
    c.jwt_id = "j1";
    return c;
}

jwt_verifier::options verifier_options(bool allow_hs256 = false) {
    jwt_verifier::options o;
    o.issuer = "tern-dev";
    o.audience = "tern";
    o.allow_hs256 = allow_hs256;
    return o;
}

struct fixture {
    key_pair es = generate_key_pair(jwt_alg::es256).value();
    key_pair ed = generate_key_pair(jwt_alg::eddsa).value();
    key_pair other = generate_key_pair(jwt_alg::es256).value();
    signing_key es_private = signing_key::from_private_pem("es1", es.private_pem).value();
    signing_key ed_private = signing_key::from_private_pem("ed1", ed.private_pem).value();
    signing_key other_private = signing_key::from_private_pem("es1", other.private_pem).value();
    signing_key hs = signing_key::hmac("hs1", std::string(32, 's')).value();
    jwt_key hs_verifying = jwt_key::hmac("hs1", std::string(32, 's')).value();
    // A key bound to tenant 2.
    key_pair t2 = generate_key_pair(jwt_alg::eddsa).value();
    signing_key t2_private = signing_key::from_private_pem("t2", t2.private_pem).value();

    std::vector<jwt_key> public_keys() const {
        return {jwt_key::from_public_pem("es1", es.public_pem).value(),
                jwt_key::from_public_pem("ed1", ed.public_pem).value(), hs_verifying,
                jwt_key::from_public_pem("t2", t2.public_pem, 2).value()};
    }
    jwt_verifier verifier(bool allow_hs256 = false) const {
        return jwt_verifier(verifier_options(allow_hs256), public_keys());
    }
};

// An HS256 token over any payload, signed with the fixture's secret (32 's' bytes).
std::string hs256_token(const std::string& payload_json) {
    const std::string signed_part =
        b64url(R"({"alg":"HS256","typ":"JWT","kid":"hs1"})") + "." + b64url(payload_json);
    const std::string secret(32, 's');
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
    return signed_part + "." + b64url({reinterpret_cast<const char*>(mac), len});
}

token_errc error_of(const result<token_claims>& r) {
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.error().category() == token_category());
    return static_cast<token_errc>(r.error().value());
}

}  // namespace

TEST_CASE("ES256 and EdDSA tokens verify and carry their claims", "[unit][auth]") {
    fixture f;
    for (const auto* key : {&f.es_private, &f.ed_private}) {
        CAPTURE(key->alg());
        const auto token = sign_token(claims_for(), *key).value();
        const auto claims = f.verifier().verify(token, now).value();
        CHECK(claims.tenant == 1);
        CHECK(claims.user == 42);
        CHECK(claims.device == 7);
        CHECK(claims.expires_at == now + 3600);
        CHECK(claims.jwt_id == "j1");
    }
}

TEST_CASE("expiry and not-before are enforced with at most 60 s of skew", "[unit][auth]") {
    fixture f;
    auto c = claims_for();
    c.expires_at = now - 30;  // expired, but within the skew
    CHECK(f.verifier().verify(sign_token(c, f.es_private).value(), now).has_value());
    c.expires_at = now - 61;
    CHECK(error_of(f.verifier().verify(sign_token(c, f.es_private).value(), now)) ==
          token_errc::expired);

    c = claims_for();
    c.not_before = now + 61;
    CHECK(error_of(f.verifier().verify(sign_token(c, f.es_private).value(), now)) ==
          token_errc::not_yet_valid);
    c = claims_for();
    c.issued_at = now + 3600;
    CHECK(error_of(f.verifier().verify(sign_token(c, f.es_private).value(), now)) ==
          token_errc::not_yet_valid);
}

TEST_CASE("a bad signature or a tampered payload is refused", "[unit][auth]") {
    fixture f;
    const auto token = sign_token(claims_for(), f.es_private).value();
    // Signed by another key under the same kid.
    CHECK(error_of(f.verifier().verify(sign_token(claims_for(), f.other_private).value(), now)) ==
          token_errc::bad_signature);
    // The payload of another token (user 43) with this token's signature.
    const auto forged = sign_token(claims_for(1, 43), f.es_private).value();
    const auto p1 = token.find('.'), p2 = token.rfind('.');
    const auto f1 = forged.find('.'), f2 = forged.rfind('.');
    const auto spliced = token.substr(0, p1) + forged.substr(f1, f2 - f1) + token.substr(p2);
    CHECK(error_of(f.verifier().verify(spliced, now)) == token_errc::bad_signature);
}

TEST_CASE("issuer and audience must match", "[unit][auth]") {
    fixture f;
    auto c = claims_for();
    c.audience = "someone-else";
    CHECK(error_of(f.verifier().verify(sign_token(c, f.es_private).value(), now)) ==
          token_errc::wrong_audience);
    c = claims_for();
    c.issuer = "evil";
    CHECK(error_of(f.verifier().verify(sign_token(c, f.es_private).value(), now)) ==
          token_errc::wrong_issuer);
}

TEST_CASE("alg none, unknown algorithms and algorithm confusion are refused", "[unit][auth]") {
    fixture f;
    const auto payload = b64url(R"({"iss":"tern-dev","aud":"tern","sub":"42","tid":"1","did":"7",)"
                                R"("exp":1800003600})");
    CHECK(error_of(f.verifier().verify(
              b64url(R"({"alg":"none","kid":"es1"})") + "." + payload + ".", now)) ==
          token_errc::alg_not_allowed);
    CHECK(error_of(f.verifier().verify(
              b64url(R"({"alg":"RS256","kid":"es1"})") + "." + payload + ".c2ln", now)) ==
          token_errc::alg_not_allowed);
    // HS256 "signed" with the ES256 public key as the secret, naming the ES256 key.
    auto confused = signing_key::hmac("es1", f.es.public_pem).value();
    CHECK(error_of(f.verifier(true).verify(sign_token(claims_for(), confused).value(), now)) ==
          token_errc::alg_not_allowed);
}

TEST_CASE("HS256 is accepted only when enabled", "[unit][auth]") {
    fixture f;
    const auto token = sign_token(claims_for(), f.hs).value();
    CHECK(error_of(f.verifier(false).verify(token, now)) == token_errc::alg_not_allowed);
    CHECK(f.verifier(true).verify(token, now).has_value());
}

TEST_CASE("an unknown kid is refused", "[unit][auth]") {
    fixture f;
    const auto stranger = signing_key::from_private_pem("nobody", f.other.private_pem).value();
    CHECK(error_of(f.verifier().verify(sign_token(claims_for(), stranger).value(), now)) ==
          token_errc::unknown_key);
}

TEST_CASE("a key bound to a tenant signs for that tenant only", "[unit][auth]") {
    fixture f;
    CHECK(f.verifier().verify(sign_token(claims_for(2), f.t2_private).value(), now).has_value());
    CHECK(error_of(f.verifier().verify(sign_token(claims_for(1), f.t2_private).value(), now)) ==
          token_errc::wrong_tenant);
}

TEST_CASE("the roles claim is carried, and a malformed one refuses the token", "[unit][auth]") {
    fixture f;
    const auto v = f.verifier(true);
    auto c = claims_for();
    CHECK(v.verify(sign_token(c, f.es_private).value(), now).value().roles.empty());
    c.roles = {"member", std::string(tenant_admin_role)};
    const auto admin = v.verify(sign_token(c, f.es_private).value(), now).value();
    CHECK(admin.has_role(tenant_admin_role));
    CHECK_FALSE(admin.has_role("urgent"));

    const std::string ids = R"("sub":"42","tid":"1","did":"7","iss":"tern-dev","aud":"tern",)"
                            R"("exp":1800003600,)";
    CHECK(v.verify(hs256_token("{" + ids + R"("roles":"admin"})"), now).value().has_role("admin"));
    for (
        const std::string& bad : std::vector<std::string>{
            R"("roles":7)", R"("roles":[""])", R"("roles":["a",1])", R"("roles":{"admin":true})",
            R"("roles":[")" + std::string(65, 'r') + R"("])",
            R"("roles":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"])"}) {
        CAPTURE(bad);
        CHECK(error_of(v.verify(hs256_token("{" + ids + bad + "}"), now)) == token_errc::malformed);
    }
}

TEST_CASE("malformed tokens and claims are refused", "[unit][auth]") {
    fixture f;
    const auto v = f.verifier(true);
    CHECK(error_of(v.verify("", now)) == token_errc::malformed);
    CHECK(error_of(v.verify("a.b", now)) == token_errc::malformed);
    CHECK(error_of(v.verify("a.b.c.d", now)) == token_errc::malformed);
    CHECK(error_of(v.verify("!!!.e30.e30", now)) == token_errc::malformed);
    CHECK(error_of(v.verify(b64url("not json") + ".e30.e30", now)) == token_errc::malformed);
    CHECK(error_of(v.verify(std::string(10000, 'a'), now)) == token_errc::too_large);

    // Well-signed tokens with bad claims: HS256 lets the test sign any payload.
    const std::string good = R"("iss":"tern-dev","aud":"tern","exp":1800003600)";
    CHECK(
        v.verify(hs256_token(R"({"sub":"42","tid":"1","did":"7",)" + good + "}"), now).has_value());
    CHECK(v.verify(hs256_token(R"({"sub":"42","tid":1,"did":7,"aud":["x","tern"],)"
                               R"("iss":"tern-dev","exp":1800003600.5})"),
                   now)
              .has_value());
    CHECK(error_of(v.verify(hs256_token(R"({"tid":"1","did":"7",)" + good + "}"), now)) ==
          token_errc::missing_claim);
    CHECK(error_of(v.verify(hs256_token(R"({"sub":"42","tid":"1","did":"7",)"
                                        R"("iss":"tern-dev","aud":"tern"})"),
                            now)) == token_errc::missing_claim);
    CHECK(error_of(v.verify(hs256_token(R"({"sub":"4x2","tid":"1","did":"7",)" + good + "}"),
                            now)) == token_errc::malformed);
    CHECK(error_of(v.verify(hs256_token(R"({"sub":42,"tid":"1","did":"7",)" + good + "}"), now)) ==
          token_errc::malformed);
    CHECK(error_of(v.verify(hs256_token(R"({"sub":"042","tid":"1","did":"7",)" + good + "}"),
                            now)) == token_errc::malformed);
    CHECK(error_of(v.verify(hs256_token(R"({"sub":"42","tid":"1","did":"7","exp":"soon",)"
                                        R"("iss":"tern-dev","aud":"tern"})"),
                            now)) == token_errc::malformed);
    CHECK(error_of(v.verify(hs256_token(R"(["not","an","object"])"), now)) ==
          token_errc::malformed);

    auto c = claims_for();
    c.user = 0;  // user ids are non-zero
    CHECK(error_of(v.verify(sign_token(c, f.hs).value(), now)) == token_errc::malformed);
    c = claims_for();
    c.tenant = 0;
    CHECK(error_of(v.verify(sign_token(c, f.hs).value(), now)) == token_errc::malformed);
}

TEST_CASE("token errors map onto the protocol's TOKEN_* codes", "[unit][auth]") {
    CHECK(to_protocol_error(token_errc::expired) == tern::v1::TOKEN_EXPIRED);
    CHECK(to_protocol_error(token_errc::not_yet_valid) == tern::v1::TOKEN_NOT_YET_VALID);
    CHECK(to_protocol_error(token_errc::wrong_audience) == tern::v1::TOKEN_WRONG_AUDIENCE);
    CHECK(to_protocol_error(token_errc::wrong_issuer) == tern::v1::TOKEN_WRONG_ISSUER);
    CHECK(to_protocol_error(token_errc::unknown_key) == tern::v1::TOKEN_UNKNOWN_KEY);
    CHECK(to_protocol_error(token_errc::alg_not_allowed) == tern::v1::TOKEN_ALG_NOT_ALLOWED);
    CHECK(to_protocol_error(token_errc::bad_signature) == tern::v1::TOKEN_INVALID);
    CHECK(to_protocol_error(token_errc::wrong_tenant) == tern::v1::TOKEN_INVALID);
}

TEST_CASE("keys of unsupported types or sizes are refused", "[unit][auth]") {
    CHECK_FALSE(jwt_key::hmac("short", "too short").has_value());
    CHECK_FALSE(jwt_key::from_public_pem("x", "not a pem").has_value());
    // A private key is not a verification key, nor a public key a signing key.
    const auto pair = generate_key_pair(jwt_alg::es256).value();
    CHECK_FALSE(jwt_key::from_public_pem("x", pair.private_pem).has_value());
    CHECK_FALSE(signing_key::from_private_pem("x", pair.public_pem).has_value());
    CHECK_FALSE(signing_key::hmac("short", "too short").has_value());
    CHECK_FALSE(generate_key_pair(jwt_alg::hs256).has_value());  // a secret, not a pair
}

TEST_CASE("keys load from PEM files, and a missing file is told apart from a bad key",
          "[unit][auth]") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("tern-jwt-keys-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    const auto pair = generate_key_pair(jwt_alg::es256).value();
    const auto write = [&](const char* name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return (dir / name).string();
    };
    const auto priv = write("dev.key", pair.private_pem);
    const auto pub = write("dev.pub", pair.public_pem);
    const auto junk = write("junk.pem", "not a key");

    const auto signer = signing_key::from_private_pem_file("dev", priv);
    REQUIRE(signer.has_value());
    const auto verifier = jwt_key::from_public_pem_file("dev", pub, 9);
    REQUIRE(verifier.has_value());
    CHECK(verifier->tenant() == 9);
    const auto token = tooling::device_token(*signer, 9, 1, 2, std::chrono::hours(1));
    REQUIRE(token.has_value());

    const auto missing = jwt_key::from_public_pem_file("dev", (dir / "absent.pub").string());
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error() == boost::system::errc::no_such_file_or_directory);
    const auto bad = jwt_key::from_public_pem_file("dev", junk);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() != boost::system::errc::no_such_file_or_directory);
    std::filesystem::remove_all(dir);
}

TEST_CASE("a token verified once is remembered, yet still expires and cannot be altered",
          "[unit][auth]") {
    const auto pair = generate_key_pair(jwt_alg::es256).value();
    const auto signer = signing_key::from_private_pem("dev", pair.private_pem).value();
    jwt_verifier::options o;
    o.issuer = "tern-dev";
    o.audience = "tern";
    o.remembered_tokens = 2;
    const jwt_verifier verifier(o, {jwt_key::from_public_pem("dev", pair.public_pem).value()});
    const auto claims = tooling::device_claims(1, 7, 70, std::chrono::hours(1));
    const auto token = sign_token(claims, signer).value();
    const auto at = claims.issued_at;

    for (int i = 0; i < 3; ++i) {  // the first verifies, the others are remembered
        const auto again = verifier.verify(token, at + i);
        REQUIRE(again.has_value());
        CHECK(again->user == 7);
        CHECK(again->device == 70);
    }
    const auto late = verifier.verify(token, claims.expires_at + o.max_skew.count() + 1);
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error() == make_error_code(token_errc::expired));

    // One character of the signature changed: not the remembered token, and not valid.
    auto altered = token;
    auto& c = altered[altered.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    const auto forged = verifier.verify(altered, at);
    REQUIRE_FALSE(forged.has_value());
    CHECK(forged.error() == make_error_code(token_errc::bad_signature));

    // Past its capacity the oldest is forgotten and verified again when it comes back.
    for (std::uint64_t user = 8; user < 11; ++user) {
        const auto other =
            sign_token(tooling::device_claims(1, user, 1, std::chrono::hours(1)), signer);
        CHECK(verifier.verify(other.value(), at).has_value());
    }
    CHECK(verifier.verify(token, at).has_value());
}

TEST_CASE("threads verifying at once share the remembered tokens and each gets its own claims",
          "[unit][auth]") {
    const auto pair = generate_key_pair(jwt_alg::eddsa).value();
    const auto signer = signing_key::from_private_pem("dev", pair.private_pem).value();
    jwt_verifier::options o;
    o.issuer = "tern-dev";
    o.audience = "tern";
    o.remembered_tokens = 64;  // smaller than the tokens below: stripes also forget meanwhile
    const jwt_verifier verifier(o, {jwt_key::from_public_pem("dev", pair.public_pem).value()});
    std::vector<std::string> tokens;
    for (std::uint64_t user = 1; user <= 100; ++user) {
        tokens.push_back(tooling::device_token(signer, 1, user, 1, std::chrono::hours(1)).value());
    }
    const auto at = tooling::device_claims(1, 1, 1, std::chrono::hours(1)).issued_at;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round) {
                for (std::size_t i = 0; i < tokens.size(); ++i) {
                    const auto k = (i * 7 + static_cast<std::size_t>(t) * 13) % tokens.size();
                    const auto claims = verifier.verify(tokens[k], at);
                    if (!claims || claims->user != k + 1) ++wrong;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(wrong == 0);
}
