// JSON Web Tokens (RFC 7519) as the gateway uses them, following RFC 8725's rules:
//
// - A token's key is chosen by its `kid`; the key fixes the algorithm, and a token whose `alg`
//   differs from its key's is refused (no algorithm confusion). `none` is never accepted; HS256
//   only when the verifier allows it explicitly.
// - Header parameters that point elsewhere (`jku`, `x5u`, `jwk`) are ignored: nothing is fetched.
// - Claims: `iss` and `aud` must match; `sub` (user), `tid` (tenant), `did` (device) must be
//   decimal uint64 strings (tid and did may also be JSON integers); `exp` is required and enforced
//   with at most `max_skew` of clock skew, as are `nbf` and `iat` when present; `jti` is kept;
//   `roles`, when present, is a string or an array of strings (at most 16, each 1 to 64 bytes):
//   `admin` makes the bearer an administrator of its tenant (docs/notifications.md).
// - A key may be bound to one tenant: a token for another tenant signed with it is refused.
//
// Thread safety: verify() may be called from any thread at once. The keys and options never
// change after construction; the one mutable part is the cache of verified tokens, split into
// stripes that each take their own lock for a hash lookup (threading.md lists it). Tokens are
// never logged by this code.
//
// This is the verifying half; signing.hpp mints (for the tools), on the same format.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace tern::v1 {
enum ErrorCode : int;
}

namespace tern::auth {

enum class jwt_alg { es256, eddsa, hs256 };

[[nodiscard]] std::string_view to_string(jwt_alg alg) noexcept;  // "ES256", "EdDSA", "HS256"

enum class token_errc {
    malformed = 1,    // not three base64url parts of JSON objects, or a claim of the wrong type
    too_large,        // longer than max_token_bytes
    alg_not_allowed,  // `alg` is none, unknown, HS256 when not allowed, or not the key's
    unknown_key,      // no key with the token's `kid`
    bad_signature,
    expired,
    not_yet_valid,  // `nbf` or `iat` in the future beyond the skew
    wrong_issuer,
    wrong_audience,
    wrong_tenant,   // the key is bound to another tenant
    missing_claim,  // `exp`, `sub`, `tid` or `did` missing
};

[[nodiscard]] const boost::system::error_category& token_category() noexcept;
[[nodiscard]] boost::system::error_code make_error_code(token_errc e) noexcept;
// The protocol error a client is sent for a token error (TOKEN_* codes of errors.proto).
[[nodiscard]] v1::ErrorCode to_protocol_error(token_errc e) noexcept;

template <class T>
using result = boost::system::result<T>;

struct token_claims {
    std::string issuer;
    std::string audience;
    std::uint64_t tenant = 0;
    std::uint64_t user = 0;
    std::uint64_t device = 0;
    std::int64_t issued_at = 0;   // Unix seconds
    std::int64_t not_before = 0;  // 0: none
    std::int64_t expires_at = 0;
    std::string jwt_id;
    std::vector<std::string> roles;

    [[nodiscard]] bool has_role(std::string_view role) const noexcept {
        for (const auto& r : roles) {
            if (r == role) return true;
        }
        return false;
    }
};

// The role of a tenant's own administrators (a token of that tenant, never another's).
inline constexpr std::string_view tenant_admin_role = "admin";

// A verification key: an EC P-256 or Ed25519 public key or an HMAC secret, named by its kid.
// Copies share the key material.
class jwt_key {
public:
    // From a PEM public key ("BEGIN PUBLIC KEY"): P-256 gives ES256, Ed25519 gives EdDSA.
    [[nodiscard]] static result<jwt_key> from_public_pem(std::string kid, std::string_view pem,
                                                         std::optional<std::uint64_t> tenant = {});
    // The same, from a PEM file (what ternctl keygen writes). A file that cannot be read gives
    // boost::system::errc::no_such_file_or_directory.
    [[nodiscard]] static result<jwt_key> from_public_pem_file(
        std::string kid, const std::string& path, std::optional<std::uint64_t> tenant = {});
    // A shared HMAC-SHA256 secret (at least 32 bytes).
    [[nodiscard]] static result<jwt_key> hmac(std::string kid, std::string secret,
                                              std::optional<std::uint64_t> tenant = {});

    [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
    [[nodiscard]] jwt_alg alg() const noexcept { return alg_; }
    [[nodiscard]] std::optional<std::uint64_t> tenant() const noexcept { return tenant_; }

private:
    friend class jwt_verifier;

    std::string kid_;
    jwt_alg alg_ = jwt_alg::es256;
    std::optional<std::uint64_t> tenant_;
    std::shared_ptr<evp_pkey_st> pkey_;  // ES256, EdDSA
    std::string secret_;                 // HS256
};

class jwt_verifier {
public:
    struct options {
        std::string issuer;
        std::string audience;
        bool allow_hs256 = false;
        std::chrono::seconds max_skew{60};
        std::size_t max_token_bytes = 8192;
        // Tokens that verified, remembered by their SHA-256 so that the same token presented
        // again (a reconnect, on any shard) skips the signature check, most of a login's cost;
        // only its expiry is checked again. 0: no cache.
        std::size_t remembered_tokens = 65'536;
    };

    jwt_verifier(options opts, std::vector<jwt_key> keys);
    ~jwt_verifier();
    jwt_verifier(jwt_verifier&&) noexcept;
    jwt_verifier& operator=(jwt_verifier&&) noexcept;

    // Verifies `token` at Unix time `now` (seconds).
    [[nodiscard]] result<token_claims> verify(std::string_view token, std::int64_t now) const;

    [[nodiscard]] const options& settings() const noexcept { return options_; }

private:
    class verified_cache;
    [[nodiscard]] const jwt_key* find(std::string_view kid) const noexcept;
    [[nodiscard]] result<token_claims> verify_fully(std::string_view token, std::int64_t now) const;

    options options_;
    std::vector<jwt_key> keys_;
    std::unique_ptr<verified_cache> verified_;  // striped: see the header's comment
};

}  // namespace tern::auth

template <>
struct boost::system::is_error_code_enum<tern::auth::token_errc> : std::true_type {};
