#include <tern/auth/signing.hpp>

#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include "jose.hpp"

namespace tern::auth {
namespace {

using json = nlohmann::json;

struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

std::optional<std::string> to_pem(EVP_PKEY* key, bool is_private) {
    std::unique_ptr<BIO, jose::bio_free> bio(BIO_new(BIO_s_mem()));
    const int ok =
        is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_bio_PUBKEY(bio.get(), key);
    if (ok != 1) return std::nullopt;
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// ES256 signatures leave OpenSSL as DER and go into the token as R || S.
std::optional<std::string> sign_with(EVP_PKEY* key, bool es256, std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, jose::md_ctx_free> ctx(EVP_MD_CTX_new());
    const EVP_MD* md = es256 ? EVP_sha256() : nullptr;  // Ed25519 hashes by itself
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1) return std::nullopt;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1) return std::nullopt;
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes,
                       data.size()) != 1) {
        return std::nullopt;
    }
    sig.resize(len);
    return es256 ? jose::der_to_raw(sig) : std::optional<std::string>(std::move(sig));
}

}  // namespace

result<key_pair> generate_key_pair(jwt_alg alg) {
    EVP_PKEY* raw = nullptr;
    if (alg == jwt_alg::es256) {
        raw = EVP_EC_gen("P-256");
    } else if (alg == jwt_alg::eddsa) {
        std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(
            EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
        if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1) EVP_PKEY_keygen(ctx.get(), &raw);
    }
    if (!raw) return jose::bad_key();
    const auto pkey = jose::own(raw);
    auto priv = to_pem(pkey.get(), true);
    auto pub = to_pem(pkey.get(), false);
    if (!priv || !pub) return jose::bad_key();
    return key_pair{std::move(*priv), std::move(*pub)};
}

result<signing_key> signing_key::from_private_pem(std::string kid, std::string_view pem) {
    auto loaded = jose::load_pem(pem, true);
    if (!loaded) return loaded.error();
    signing_key key;
    key.kid_ = std::move(kid);
    key.alg_ = loaded->alg;
    key.pkey_ = std::move(loaded->pkey);
    return key;
}

result<signing_key> signing_key::from_private_pem_file(std::string kid, const std::string& path) {
    auto pem = jose::read_file(path);
    return pem ? from_private_pem(std::move(kid), *pem) : pem.error();
}

result<signing_key> signing_key::hmac(std::string kid, std::string secret) {
    if (secret.size() < 32) return jose::bad_key();  // RFC 7518 §3.2: at least the hash size
    signing_key key;
    key.kid_ = std::move(kid);
    key.alg_ = jwt_alg::hs256;
    key.secret_ = std::move(secret);
    return key;
}

result<std::string> sign_token(const token_claims& claims, const signing_key& key) {
    const json header{{"alg", to_string(key.alg())}, {"typ", "JWT"}, {"kid", key.kid()}};
    json payload{{jose::issuer, claims.issuer},
                 {jose::audience, claims.audience},
                 {jose::subject, std::to_string(claims.user)},
                 {jose::tenant, std::to_string(claims.tenant)},
                 {jose::device, std::to_string(claims.device)},
                 {jose::issued_at, claims.issued_at},
                 {jose::expires, claims.expires_at}};
    if (claims.not_before != 0) payload[jose::not_before] = claims.not_before;
    if (!claims.jwt_id.empty()) payload[jose::jwt_id] = claims.jwt_id;
    if (!claims.roles.empty()) payload[jose::roles] = claims.roles;
    const std::string signed_part =
        jose::base64url_encode(header.dump()) + "." + jose::base64url_encode(payload.dump());
    std::optional<std::string> signature;
    if (key.alg() == jwt_alg::hs256) {
        signature = jose::hmac_sha256(key.secret_, signed_part);
    } else {
        signature = sign_with(key.pkey_.get(), key.alg() == jwt_alg::es256, signed_part);
    }
    if (!signature) return jose::bad_key();
    return signed_part + "." + jose::base64url_encode(*signature);
}

}  // namespace tern::auth
