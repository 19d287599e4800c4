// Signing keys and tokens: what `ternctl keygen` and `ternctl token` make, and what the tools,
// tern-bench and the tests mint development tokens with (tools/tooling). Tokens are exactly what
// jwt_verifier (jwt.hpp) checks: both sides share one definition of the format (src/jose.hpp).
//
// Errors are results, never exceptions. Keys and tokens are never logged by this code. Thread
// safety: a signing_key may be used from any thread at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <tern/auth/jwt.hpp>

namespace tern::auth {

struct key_pair {
    std::string private_pem;  // PKCS#8, "BEGIN PRIVATE KEY"
    std::string public_pem;   // "BEGIN PUBLIC KEY": what ternd's auth.keys name
};

// A new ES256 (P-256) or EdDSA (Ed25519) key pair; HS256 has no pair (invalid_argument).
[[nodiscard]] result<key_pair> generate_key_pair(jwt_alg alg);

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
    // An HMAC-SHA256 secret (HS256), at least 32 bytes. Any bytes are accepted, a public key's
    // PEM text included (tests of algorithm confusion sign with one).
    [[nodiscard]] static result<signing_key> hmac(std::string kid, std::string secret);

    [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
    [[nodiscard]] jwt_alg alg() const noexcept { return alg_; }

private:
    friend result<std::string> sign_token(const token_claims&, const signing_key&);

    std::string kid_;
    jwt_alg alg_ = jwt_alg::es256;
    std::shared_ptr<evp_pkey_st> pkey_;  // ES256, EdDSA
    std::string secret_;                 // HS256
};

// The compact JWS of `claims` signed with `key`: `iss`, `aud`, `sub`, `tid`, `did`, `iat`, `exp`,
// and `nbf` and `jti` when set.
[[nodiscard]] result<std::string> sign_token(const token_claims& claims, const signing_key& key);

}  // namespace tern::auth
