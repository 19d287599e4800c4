#include <tern/auth/jwt.hpp>

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
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include "tern/v1/errors.pb.h"

namespace tern::auth {
namespace {

using json = nlohmann::json;

// ---- base64url (RFC 4648 §5, no padding), strict: any other character is an error ----------

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

// Reads a PEM public key of a type we support (P-256 or Ed25519).
result<loaded_key> load_public_pem(std::string_view pem) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return bad_key();
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key) return bad_key();
    auto owned = own(key);
    const auto alg = alg_of(key);
    if (!alg) return bad_key();
    return loaded_key{std::move(owned), *alg};
}

// ECDSA signatures in JWS are R || S, each 32 bytes; OpenSSL verifies DER.
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

result<jwt_key> jwt_key::from_public_pem(std::string kid, std::string_view pem,
                                         std::optional<std::uint64_t> tenant) {
    auto loaded = load_public_pem(pem);
    if (!loaded) return loaded.error();
    jwt_key key;
    key.kid_ = std::move(kid);
    key.alg_ = loaded->alg;
    key.pkey_ = std::move(loaded->pkey);
    key.tenant_ = tenant;
    return key;
}

result<jwt_key> jwt_key::hmac(std::string kid, std::string secret,
                              std::optional<std::uint64_t> tenant) {
    if (secret.size() < 32) return bad_key();  // RFC 7518 §3.2: at least the hash size
    jwt_key key;
    key.kid_ = std::move(kid);
    key.alg_ = jwt_alg::hs256;
    key.tenant_ = tenant;
    key.secret_ = std::move(secret);
    return key;
}

// ---- verification ----------------------------------------------------------------------------

// Verified tokens by SHA-256, oldest forgotten first, in stripes chosen by the digest: each
// stripe has its own lock, held for a hash lookup (far below the signature check it saves), so
// shards verifying at once rarely meet on one. The cache is shared by every shard because a
// device that reconnects lands on any shard (round-robin accepts); per-shard caches would miss
// most reconnects of a storm.
class jwt_verifier::verified_cache {
public:
    explicit verified_cache(std::size_t capacity)
        : per_stripe_(std::max<std::size_t>(1, (capacity + stripe_count - 1) / stripe_count)) {}

    static std::string digest(std::string_view token) {
        std::string out(SHA256_DIGEST_LENGTH, '\0');
        SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
               reinterpret_cast<unsigned char*>(out.data()));
        return out;
    }

    std::optional<token_claims> find(const std::string& key) const {
        const auto& s = stripe_of(key);
        std::lock_guard lock(s.mutex);
        const auto it = s.claims.find(key);
        if (it == s.claims.end()) return std::nullopt;
        return it->second;
    }

    void remember(std::string key, const token_claims& claims) {
        auto& s = stripe_of(key);
        std::lock_guard lock(s.mutex);
        if (!s.claims.emplace(key, claims).second) return;
        s.order.push_back(std::move(key));
        if (s.order.size() > per_stripe_) {
            s.claims.erase(s.order.front());
            s.order.pop_front();
        }
    }

private:
    static constexpr std::size_t stripe_count = 16;

    struct stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, token_claims> claims;
        std::deque<std::string> order;
    };

    // The digest is uniformly random: its first byte picks the stripe.
    const stripe& stripe_of(const std::string& key) const {
        return stripes_[static_cast<unsigned char>(key[0]) % stripe_count];
    }
    stripe& stripe_of(const std::string& key) {
        return stripes_[static_cast<unsigned char>(key[0]) % stripe_count];
    }

    const std::size_t per_stripe_;
    std::array<stripe, stripe_count> stripes_;
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

}  // namespace tern::auth
