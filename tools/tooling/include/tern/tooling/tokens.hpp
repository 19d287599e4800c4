// Signing keys and tokens for the tools: what `ternctl keygen` and `ternctl token` make, and how
// tern-chat, tern-bench and the tests mint the development tokens they log in with.
//
// Tokens are JWTs (RFC 7519) as ternd verifies them (docs/protocol.md, "Tokens"): ES256 (P-256)
// or EdDSA (Ed25519), or HS256 with a shared secret; the header names the key by `kid`; the
// claims are `iss`, `aud`, `sub` (user), `tid` (tenant), `did` (device), `iat`, `exp`, and `nbf`
// and `jti` when set. ternd's verifier lives in the server (server/auth); nothing here verifies.
//
// Errors are results, never exceptions. Keys and tokens are never logged by this code.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace tern::tooling {

template <class T>
using result = boost::system::result<T>;

enum class key_alg { es256, eddsa };

struct key_pair {
    std::string private_pem;  // PKCS#8, "BEGIN PRIVATE KEY"
    std::string public_pem;   // "BEGIN PUBLIC KEY": what ternd's auth.keys name
};

// A new ES256 (P-256) or EdDSA (Ed25519) key pair.
[[nodiscard]] result<key_pair> generate_key_pair(key_alg alg);

// What a token says. The defaults are the development configuration's issuer and audience.
struct token_claims {
    std::string issuer = "tern-dev";
    std::string audience = "tern";
    std::uint64_t tenant = 0;
    std::uint64_t user = 0;
    std::uint64_t device = 0;
    std::int64_t issued_at = 0;   // Unix seconds
    std::int64_t not_before = 0;  // 0: no `nbf`
    std::int64_t expires_at = 0;
    std::string jwt_id;  // empty: no `jti`
};

// The claims of a device token issued now for `lifetime`, with a random jti.
[[nodiscard]] token_claims device_claims(std::uint64_t tenant, std::uint64_t user,
                                         std::uint64_t device, std::chrono::seconds lifetime);

// A key that signs, named by its kid. Copies share the key material.
class signing_key {
public:
    // A PEM private key: P-256 signs ES256, Ed25519 signs EdDSA; other keys are refused.
    [[nodiscard]] static result<signing_key> from_private_pem(std::string kid,
                                                              std::string_view pem);
    // The same from a file (what ternctl keygen writes); a file that cannot be read gives
    // boost::system::errc::no_such_file_or_directory.
    [[nodiscard]] static result<signing_key> from_private_pem_file(std::string kid,
                                                                   const std::string& path);
    // An HMAC-SHA256 secret (HS256), at least 32 bytes. Any bytes are accepted as the secret,
    // a public key's PEM text included (tests of algorithm confusion sign with one).
    [[nodiscard]] static result<signing_key> hmac(std::string kid, std::string secret);

    [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
    // "ES256", "EdDSA" or "HS256": the token header's `alg`.
    [[nodiscard]] std::string_view alg() const noexcept;

private:
    friend result<std::string> sign_token(const token_claims&, const signing_key&);

    enum class kind { es256, eddsa, hs256 };
    std::string kid_;
    kind kind_ = kind::es256;
    std::shared_ptr<evp_pkey_st> pkey_;  // ES256, EdDSA
    std::string secret_;                 // HS256
};

// The compact JWS of `claims` signed with `key`.
[[nodiscard]] result<std::string> sign_token(const token_claims& claims, const signing_key& key);

// A device token with device_claims(...) signed by `key`: what the tools log in with.
[[nodiscard]] result<std::string> device_token(const signing_key& key, std::uint64_t tenant,
                                               std::uint64_t user, std::uint64_t device,
                                               std::chrono::seconds lifetime);

}  // namespace tern::tooling
