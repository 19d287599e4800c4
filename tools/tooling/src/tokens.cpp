#include <tern/tooling/tokens.hpp>

#include <array>
#include <fstream>
#include <optional>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

namespace tern::tooling {
namespace {

using json = nlohmann::json;

boost::system::error_code bad_key() { return std::make_error_code(std::errc::invalid_argument); }

// RFC 4648 §5, no padding: what JWS uses.
std::string base64url(std::string_view in) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(buffer >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct sig_free {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) {
    return {key, [](EVP_PKEY* k) { EVP_PKEY_free(k); }};
}

bool is_p256(EVP_PKEY* key) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
        return false;
    }
    const std::string_view name(group, len);
    return name == "prime256v1" || name == "P-256";
}

// An ECDSA signature in JWS is R || S, 32 bytes each; OpenSSL makes DER.
std::optional<std::string> der_to_raw(std::string_view der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, sig_free> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) return std::nullopt;
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) return std::nullopt;
    return raw;
}

std::optional<std::string> sign_with(EVP_PKEY* key, bool es256, std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
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
    return es256 ? der_to_raw(sig) : std::optional<std::string>(std::move(sig));
}

std::string hmac_sha256(std::string_view secret, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
    return {reinterpret_cast<char*>(mac), len};
}

std::optional<std::string> to_pem(EVP_PKEY* key, bool is_private) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    const int ok =
        is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_bio_PUBKEY(bio.get(), key);
    if (ok != 1) return std::nullopt;
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

result<key_pair> generate_key_pair(key_alg alg) {
    EVP_PKEY* raw = nullptr;
    if (alg == key_alg::es256) {
        raw = EVP_EC_gen("P-256");
    } else {
        std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(
            EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
        if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1) EVP_PKEY_keygen(ctx.get(), &raw);
    }
    if (!raw) return bad_key();
    const auto pkey = own(raw);
    auto priv = to_pem(pkey.get(), true);
    auto pub = to_pem(pkey.get(), false);
    if (!priv || !pub) return bad_key();
    return key_pair{std::move(*priv), std::move(*pub)};
}

token_claims device_claims(std::uint64_t tenant, std::uint64_t user, std::uint64_t device,
                           std::chrono::seconds lifetime) {
    token_claims claims;
    claims.tenant = tenant;
    claims.user = user;
    claims.device = device;
    claims.issued_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    claims.expires_at = claims.issued_at + lifetime.count();
    std::array<unsigned char, 12> id{};
    RAND_bytes(id.data(), static_cast<int>(id.size()));
    claims.jwt_id =
        base64url(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
    return claims;
}

result<signing_key> signing_key::from_private_pem(std::string kid, std::string_view pem) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return bad_key();
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (!raw) return bad_key();
    signing_key key;
    key.pkey_ = own(raw);
    key.kid_ = std::move(kid);
    if (EVP_PKEY_get_base_id(raw) == EVP_PKEY_ED25519) {
        key.kind_ = kind::eddsa;
    } else if (EVP_PKEY_get_base_id(raw) == EVP_PKEY_EC && is_p256(raw)) {
        key.kind_ = kind::es256;
    } else {
        return bad_key();
    }
    return key;
}

result<signing_key> signing_key::from_private_pem_file(std::string kid, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return from_private_pem(std::move(kid), text.str());
}

result<signing_key> signing_key::hmac(std::string kid, std::string secret) {
    if (secret.size() < 32) return bad_key();  // RFC 7518 §3.2: at least the hash size
    signing_key key;
    key.kid_ = std::move(kid);
    key.kind_ = kind::hs256;
    key.secret_ = std::move(secret);
    return key;
}

std::string_view signing_key::alg() const noexcept {
    switch (kind_) {
        case kind::es256:
            return "ES256";
        case kind::eddsa:
            return "EdDSA";
        case kind::hs256:
            return "HS256";
    }
    return "?";
}

result<std::string> sign_token(const token_claims& claims, const signing_key& key) {
    const json header{{"alg", key.alg()}, {"typ", "JWT"}, {"kid", key.kid()}};
    json payload{{"iss", claims.issuer},
                 {"aud", claims.audience},
                 {"sub", std::to_string(claims.user)},
                 {"tid", std::to_string(claims.tenant)},
                 {"did", std::to_string(claims.device)},
                 {"iat", claims.issued_at},
                 {"exp", claims.expires_at}};
    if (claims.not_before != 0) payload["nbf"] = claims.not_before;
    if (!claims.jwt_id.empty()) payload["jti"] = claims.jwt_id;
    const std::string signed_part = base64url(header.dump()) + "." + base64url(payload.dump());
    std::optional<std::string> signature;
    if (key.kind_ == signing_key::kind::hs256) {
        signature = hmac_sha256(key.secret_, signed_part);
    } else {
        signature = sign_with(key.pkey_.get(), key.kind_ == signing_key::kind::es256, signed_part);
    }
    if (!signature) return bad_key();
    return signed_part + "." + base64url(*signature);
}

result<std::string> device_token(const signing_key& key, std::uint64_t tenant, std::uint64_t user,
                                 std::uint64_t device, std::chrono::seconds lifetime) {
    return sign_token(device_claims(tenant, user, device, lifetime), key);
}

}  // namespace tern::tooling
