#include <tern/server/jwt.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include "tern/v1/errors.pb.h"

namespace tern::server {
namespace {

using json = nlohmann::json;

// ---- base64url (RFC 4648 §5, no padding), strict: any other character is an error ----------

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(b64_alphabet[(buffer >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(b64_alphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : in) {
        const auto pos = b64_alphabet.find(c);
        if (pos == std::string_view::npos) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero (a canonical encoding).
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

// ---- OpenSSL helpers ---------------------------------------------------------------------------

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

// The JWS algorithm a key implies, if it is one we support.
std::optional<jwt_alg> alg_of(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_ED25519:
            return jwt_alg::eddsa;
        case EVP_PKEY_EC: {
            char group[64] = {};
            std::size_t len = 0;
            if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                               &len) != 1) {
                return std::nullopt;
            }
            const std::string_view name(group, len);
            if (name == "prime256v1" || name == "P-256") return jwt_alg::es256;
            return std::nullopt;
        }
        default:
            return std::nullopt;
    }
}

boost::system::error_code bad_key() { return std::make_error_code(std::errc::invalid_argument); }

struct loaded_key {
    std::shared_ptr<evp_pkey_st> pkey;
    jwt_alg alg;
};

// Reads a PEM key of a type we support (P-256 or Ed25519).
result<loaded_key> load_pem(std::string_view pem, bool is_private) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return bad_key();
    EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                               : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key) return bad_key();
    auto owned = own(key);
    const auto alg = alg_of(key);
    if (!alg) return bad_key();
    return loaded_key{std::move(owned), *alg};
}

// ECDSA signatures in JWS are R || S, each 32 bytes; OpenSSL speaks DER.
std::optional<std::string> der_to_raw(const unsigned char* der, std::size_t len) {
    const unsigned char* p = der;
    std::unique_ptr<ECDSA_SIG, sig_free> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
    if (!sig) return std::nullopt;
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) return std::nullopt;
    return raw;
}

std::optional<std::string> raw_to_der(std::string_view raw) {
    if (raw.size() != 64) return std::nullopt;
    const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
    std::unique_ptr<ECDSA_SIG, sig_free> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(in, 32, nullptr);
    BIGNUM* s = BN_bin2bn(in + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return std::nullopt;
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &der);
    if (len <= 0) return std::nullopt;
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::string hmac_sha256(std::string_view secret, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
    return {reinterpret_cast<char*>(mac), len};
}

bool verify_signature(const jwt_key& key, evp_pkey_st* pkey, const std::string& secret,
                      std::string_view signed_part, std::string_view signature) {
    if (key.alg() == jwt_alg::hs256) {
        const auto mac = hmac_sha256(secret, signed_part);
        return signature.size() == mac.size() &&
               CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
    }
    std::string der_storage;
    std::string_view sig = signature;
    if (key.alg() == jwt_alg::es256) {
        auto der = raw_to_der(signature);
        if (!der) return false;
        der_storage = std::move(*der);
        sig = der_storage;
    } else if (signature.size() != 64) {
        return false;
    }
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    const EVP_MD* md = key.alg() == jwt_alg::es256 ? EVP_sha256() : nullptr;
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                            signed_part.size()) == 1;
}

// ---- claims ----------------------------------------------------------------------------------

std::optional<std::uint64_t> decimal_u64(std::string_view s) {
    if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// An id claim: a decimal string, or (where allowed) a non-negative JSON integer.
std::optional<std::uint64_t> id_claim(const json& v, bool allow_number) {
    if (v.is_string()) return decimal_u64(v.get_ref<const std::string&>());
    if (allow_number && v.is_number_unsigned()) return v.get<std::uint64_t>();
    return std::nullopt;
}

// A NumericDate: seconds since the epoch, an integer or a number with a fraction.
std::optional<std::int64_t> date_claim(const json& v) {
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d < -9e15 || d > 9e15) return std::nullopt;
        return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

std::optional<json> parse_object(std::string_view part) {
    auto text = base64url_decode(part);
    if (!text) return std::nullopt;
    json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
}

bool audience_matches(const json& aud, const std::string& expected) {
    if (aud.is_string()) return aud.get_ref<const std::string&>() == expected;
    if (aud.is_array()) {
        return std::any_of(aud.begin(), aud.end(), [&](const json& a) {
            return a.is_string() && a.get_ref<const std::string&>() == expected;
        });
    }
    return false;
}

class token_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tern.token"; }
    std::string message(int ev) const override {
        switch (static_cast<token_errc>(ev)) {
            case token_errc::malformed:
                return "malformed token";
            case token_errc::too_large:
                return "token too large";
            case token_errc::alg_not_allowed:
                return "token algorithm not allowed";
            case token_errc::unknown_key:
                return "unknown token key";
            case token_errc::bad_signature:
                return "bad token signature";
            case token_errc::expired:
                return "token expired";
            case token_errc::not_yet_valid:
                return "token not yet valid";
            case token_errc::wrong_issuer:
                return "wrong token issuer";
            case token_errc::wrong_audience:
                return "wrong token audience";
            case token_errc::wrong_tenant:
                return "token key belongs to another tenant";
            case token_errc::missing_claim:
                return "token claim missing";
        }
        return "unknown token error";
    }
};

}  // namespace

std::string_view to_string(jwt_alg alg) noexcept {
    switch (alg) {
        case jwt_alg::es256:
            return "ES256";
        case jwt_alg::eddsa:
            return "EdDSA";
        case jwt_alg::hs256:
            return "HS256";
    }
    return "?";
}

const boost::system::error_category& token_category() noexcept {
    static const token_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(token_errc e) noexcept {
    return {static_cast<int>(e), token_category()};
}

v1::ErrorCode to_protocol_error(token_errc e) noexcept {
    switch (e) {
        case token_errc::expired:
            return v1::TOKEN_EXPIRED;
        case token_errc::not_yet_valid:
            return v1::TOKEN_NOT_YET_VALID;
        case token_errc::wrong_audience:
            return v1::TOKEN_WRONG_AUDIENCE;
        case token_errc::wrong_issuer:
            return v1::TOKEN_WRONG_ISSUER;
        case token_errc::unknown_key:
            return v1::TOKEN_UNKNOWN_KEY;
        case token_errc::alg_not_allowed:
            return v1::TOKEN_ALG_NOT_ALLOWED;
        case token_errc::malformed:
        case token_errc::too_large:
        case token_errc::bad_signature:
        case token_errc::wrong_tenant:
        case token_errc::missing_claim:
            break;
    }
    return v1::TOKEN_INVALID;
}

// ---- keys ------------------------------------------------------------------------------------

result<jwt_key> jwt_key::from_pem(std::string kid, std::string_view pem, bool is_private,
                                  std::optional<std::uint64_t> tenant) {
    auto loaded = load_pem(pem, is_private);
    if (!loaded) return loaded.error();
    jwt_key key;
    key.kid_ = std::move(kid);
    key.alg_ = loaded->alg;
    key.pkey_ = std::move(loaded->pkey);
    key.tenant_ = tenant;
    key.can_sign_ = is_private;
    return key;
}

result<jwt_key> jwt_key::from_public_pem(std::string kid, std::string_view pem,
                                         std::optional<std::uint64_t> tenant) {
    return from_pem(std::move(kid), pem, false, tenant);
}

result<jwt_key> jwt_key::from_private_pem(std::string kid, std::string_view pem,
                                          std::optional<std::uint64_t> tenant) {
    return from_pem(std::move(kid), pem, true, tenant);
}

result<jwt_key> jwt_key::hmac(std::string kid, std::string secret,
                              std::optional<std::uint64_t> tenant) {
    if (secret.size() < 32) return bad_key();  // RFC 7518 §3.2: at least the hash size
    jwt_key key;
    key.kid_ = std::move(kid);
    key.alg_ = jwt_alg::hs256;
    key.tenant_ = tenant;
    key.can_sign_ = true;
    key.secret_ = std::move(secret);
    return key;
}

// ---- verification ----------------------------------------------------------------------------

// Verified tokens by SHA-256, oldest forgotten first; one lock (a lookup is a hash and a probe,
// far below the signature check it saves).
class jwt_verifier::verified_cache {
public:
    explicit verified_cache(std::size_t capacity) : capacity_(capacity) {}

    static std::string digest(std::string_view token) {
        std::string out(SHA256_DIGEST_LENGTH, '\0');
        SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
               reinterpret_cast<unsigned char*>(out.data()));
        return out;
    }

    std::optional<token_claims> find(const std::string& key) const {
        std::lock_guard lock(mutex_);
        const auto it = claims_.find(key);
        if (it == claims_.end()) return std::nullopt;
        return it->second;
    }

    void remember(std::string key, const token_claims& claims) {
        std::lock_guard lock(mutex_);
        if (!claims_.emplace(key, claims).second) return;
        order_.push_back(std::move(key));
        if (order_.size() > capacity_) {
            claims_.erase(order_.front());
            order_.pop_front();
        }
    }

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, token_claims> claims_;
    std::deque<std::string> order_;
};

jwt_verifier::jwt_verifier(options opts, std::vector<jwt_key> keys)
    : options_(std::move(opts)),
      keys_(std::move(keys)),
      verified_(options_.remembered_tokens > 0
                    ? std::make_unique<verified_cache>(options_.remembered_tokens)
                    : nullptr) {}

jwt_verifier::~jwt_verifier() = default;
jwt_verifier::jwt_verifier(jwt_verifier&&) noexcept = default;
jwt_verifier& jwt_verifier::operator=(jwt_verifier&&) noexcept = default;

result<token_claims> jwt_verifier::verify(std::string_view token, std::int64_t now) const {
    if (!verified_ || token.size() > options_.max_token_bytes) return verify_fully(token, now);
    auto key = verified_cache::digest(token);
    if (auto claims = verified_->find(key)) {
        // Verified before: the signature, issuer, audience, ids and tenant still hold, and
        // not-before only gets truer; the expiry is all that can have changed.
        if (now > claims->expires_at + options_.max_skew.count()) return token_errc::expired;
        return *std::move(claims);
    }
    auto claims = verify_fully(token, now);
    if (claims) verified_->remember(std::move(key), *claims);
    return claims;
}

const jwt_key* jwt_verifier::find(std::string_view kid) const noexcept {
    const auto it =
        std::find_if(keys_.begin(), keys_.end(), [&](const jwt_key& k) { return k.kid() == kid; });
    return it == keys_.end() ? nullptr : &*it;
}

result<token_claims> jwt_verifier::verify_fully(std::string_view token, std::int64_t now) const {
    if (token.size() > options_.max_token_bytes) return token_errc::too_large;
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return token_errc::malformed;
    }
    const auto header = parse_object(token.substr(0, dot1));
    if (!header) return token_errc::malformed;

    // The algorithm: a string we support, allowed here, and the one the key is for.
    const auto alg_it = header->find("alg");
    if (alg_it == header->end() || !alg_it->is_string()) return token_errc::malformed;
    const auto& alg = alg_it->get_ref<const std::string&>();
    if (alg != "ES256" && alg != "EdDSA" && alg != "HS256") return token_errc::alg_not_allowed;
    if (alg == "HS256" && !options_.allow_hs256) return token_errc::alg_not_allowed;
    const auto kid_it = header->find("kid");
    if (kid_it == header->end() || !kid_it->is_string()) return token_errc::unknown_key;
    const jwt_key* key = find(kid_it->get_ref<const std::string&>());
    if (!key) return token_errc::unknown_key;
    if (to_string(key->alg()) != alg) return token_errc::alg_not_allowed;
    if (key->alg() == jwt_alg::hs256 && !options_.allow_hs256) return token_errc::alg_not_allowed;

    const auto signature = base64url_decode(token.substr(dot2 + 1));
    if (!signature) return token_errc::malformed;
    if (!verify_signature(*key, key->pkey_.get(), key->secret_, token.substr(0, dot2),
                          *signature)) {
        return token_errc::bad_signature;
    }

    // Only a token with a good signature has its claims read.
    const auto payload = parse_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!payload) return token_errc::malformed;
    const auto& p = *payload;
    token_claims claims;
    const auto skew = options_.max_skew.count();

    const auto exp = p.find("exp");
    if (exp == p.end()) return token_errc::missing_claim;
    const auto exp_v = date_claim(*exp);
    if (!exp_v) return token_errc::malformed;
    claims.expires_at = *exp_v;
    if (now > claims.expires_at + skew) return token_errc::expired;
    if (const auto nbf = p.find("nbf"); nbf != p.end()) {
        const auto v = date_claim(*nbf);
        if (!v) return token_errc::malformed;
        claims.not_before = *v;
        if (claims.not_before > now + skew) return token_errc::not_yet_valid;
    }
    if (const auto iat = p.find("iat"); iat != p.end()) {
        const auto v = date_claim(*iat);
        if (!v) return token_errc::malformed;
        claims.issued_at = *v;
        if (claims.issued_at > now + skew) return token_errc::not_yet_valid;
    }

    const auto iss = p.find("iss");
    if (iss == p.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != options_.issuer) {
        return token_errc::wrong_issuer;
    }
    claims.issuer = options_.issuer;
    const auto aud = p.find("aud");
    if (aud == p.end() || !audience_matches(*aud, options_.audience)) {
        return token_errc::wrong_audience;
    }
    claims.audience = options_.audience;

    const auto sub = p.find("sub");
    const auto tid = p.find("tid");
    const auto did = p.find("did");
    if (sub == p.end() || tid == p.end() || did == p.end()) return token_errc::missing_claim;
    const auto user = id_claim(*sub, false);
    const auto tenant = id_claim(*tid, true);
    const auto device = id_claim(*did, true);
    if (!user || !tenant || !device || *user == 0 || *tenant == 0) return token_errc::malformed;
    claims.user = *user;
    claims.tenant = *tenant;
    claims.device = *device;
    if (key->tenant() && *key->tenant() != claims.tenant) return token_errc::wrong_tenant;
    if (const auto jti = p.find("jti"); jti != p.end() && jti->is_string()) {
        claims.jwt_id = jti->get<std::string>();
    }
    return claims;
}

// ---- minting ---------------------------------------------------------------------------------

result<std::string> sign_jwt(const token_claims& claims, const jwt_key& key) {
    if (!key.can_sign()) return bad_key();
    json header{{"alg", to_string(key.alg())}, {"typ", "JWT"}, {"kid", key.kid()}};
    json payload{{"iss", claims.issuer},
                 {"aud", claims.audience},
                 {"sub", std::to_string(claims.user)},
                 {"tid", std::to_string(claims.tenant)},
                 {"did", std::to_string(claims.device)},
                 {"iat", claims.issued_at},
                 {"exp", claims.expires_at}};
    if (claims.not_before != 0) payload["nbf"] = claims.not_before;
    if (!claims.jwt_id.empty()) payload["jti"] = claims.jwt_id;
    const std::string signed_part =
        base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());

    std::string signature;
    if (key.alg() == jwt_alg::hs256) {
        signature = hmac_sha256(key.secret_, signed_part);
    } else {
        std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
        const EVP_MD* md = key.alg() == jwt_alg::es256 ? EVP_sha256() : nullptr;
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.pkey_.get()) != 1) {
            return bad_key();
        }
        std::size_t len = 0;
        const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
        if (EVP_DigestSign(ctx.get(), nullptr, &len, data, signed_part.size()) != 1) {
            return bad_key();
        }
        std::string sig(len, '\0');
        if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                           signed_part.size()) != 1) {
            return bad_key();
        }
        sig.resize(len);
        if (key.alg() == jwt_alg::es256) {
            auto raw = der_to_raw(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
            if (!raw) return bad_key();
            sig = std::move(*raw);
        }
        signature = std::move(sig);
    }
    return signed_part + "." + base64url_encode(signature);
}

result<key_pair> generate_key_pair(jwt_alg alg) {
    EVP_PKEY* raw = nullptr;
    if (alg == jwt_alg::es256) {
        raw = EVP_EC_gen("P-256");
    } else if (alg == jwt_alg::eddsa) {
        std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(
            EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
        if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1) EVP_PKEY_keygen(ctx.get(), &raw);
    } else {
        return bad_key();
    }
    if (!raw) return bad_key();
    const auto pkey = own(raw);
    const auto to_pem = [&](bool is_private) -> std::optional<std::string> {
        std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
        const int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr,
                                                             nullptr, 0, nullptr, nullptr)
                                  : PEM_write_bio_PUBKEY(bio.get(), pkey.get());
        if (ok != 1) return std::nullopt;
        char* data = nullptr;
        const long len = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(len));
    };
    auto priv = to_pem(true);
    auto pub = to_pem(false);
    if (!priv || !pub) return bad_key();
    return key_pair{std::move(*priv), std::move(*pub)};
}

token_claims device_claims(std::uint64_t tenant, std::uint64_t user, std::uint64_t device,
                           std::chrono::seconds lifetime) {
    token_claims claims;
    claims.issuer = "tern-dev";
    claims.audience = "tern";
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
        base64url_encode(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
    return claims;
}

namespace {

// A PEM file's text; no_such_file_or_directory if it cannot be read.
result<std::string> read_pem_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

result<jwt_key> jwt_key::from_public_pem_file(std::string kid, const std::string& path,
                                              std::optional<std::uint64_t> tenant) {
    auto pem = read_pem_file(path);
    return pem ? from_public_pem(std::move(kid), *pem, tenant) : pem.error();
}

result<jwt_key> jwt_key::from_private_pem_file(std::string kid, const std::string& path,
                                               std::optional<std::uint64_t> tenant) {
    auto pem = read_pem_file(path);
    return pem ? from_private_pem(std::move(kid), *pem, tenant) : pem.error();
}

}  // namespace tern::server
