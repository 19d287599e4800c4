// What signing and verifying tokens share (RFC 7515/7518/7519 as Tern uses them): base64url, the
// claim names, keys and their algorithms, and the signature encodings. One definition for both
// sides, so that what the tools mint and what the gateway checks cannot drift apart.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <tern/auth/jwt.hpp>

namespace tern::auth::jose {

// The claims (RFC 7519 §4.1, and Tern's own `tid` and `did`).
inline constexpr const char* issuer = "iss";
inline constexpr const char* audience = "aud";
inline constexpr const char* subject = "sub";  // the user id, a decimal string
inline constexpr const char* tenant = "tid";
inline constexpr const char* device = "did";
inline constexpr const char* issued_at = "iat";
inline constexpr const char* not_before = "nbf";
inline constexpr const char* expires = "exp";
inline constexpr const char* jwt_id = "jti";
inline constexpr const char* roles = "roles";

// RFC 4648 §5, no padding. Decoding is strict: any other character, or non-zero leftover bits,
// is an error.
[[nodiscard]] std::string base64url_encode(std::string_view in);
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view in);

struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

[[nodiscard]] std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key);

// The error every unusable key gives.
[[nodiscard]] boost::system::error_code bad_key();

struct loaded_key {
    std::shared_ptr<evp_pkey_st> pkey;
    jwt_alg alg;
};
// Reads a PEM key of a type we support (P-256: ES256; Ed25519: EdDSA), public or private.
[[nodiscard]] result<loaded_key> load_pem(std::string_view pem, bool is_private);
// A PEM file's text; boost::system::errc::no_such_file_or_directory if it cannot be read.
[[nodiscard]] result<std::string> read_file(const std::string& path);

// An ECDSA signature in JWS is R || S, 32 bytes each; OpenSSL speaks DER.
[[nodiscard]] std::optional<std::string> der_to_raw(std::string_view der);
[[nodiscard]] std::optional<std::string> raw_to_der(std::string_view raw);

[[nodiscard]] std::string hmac_sha256(std::string_view secret, std::string_view data);

}  // namespace tern::auth::jose
