#include <tern/auth/jwt.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include "jose.hpp"
#include "tern/v1/errors.pb.h"

namespace tern::auth {
namespace {

using json = nlohmann::json;
using jose::bad_key;
using jose::base64url_decode;

bool verify_signature(const jwt_key& key, evp_pkey_st* pkey, const std::string& secret,
                      std::string_view signed_part, std::string_view signature) {
    if (key.alg() == jwt_alg::hs256) {
        const auto mac = jose::hmac_sha256(secret, signed_part);
        return signature.size() == mac.size() &&
               CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
    }
    std::string der_storage;
    std::string_view sig = signature;
    if (key.alg() == jwt_alg::es256) {
        auto der = jose::raw_to_der(signature);
        if (!der) return false;
        der_storage = std::move(*der);
        sig = der_storage;
    } else if (signature.size() != 64) {
        return false;
    }
    std::unique_ptr<EVP_MD_CTX, jose::md_ctx_free> ctx(EVP_MD_CTX_new());
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

// The roles claim: a string, or an array of at most 16 strings, each 1 to 64 bytes.
std::optional<std::vector<std::string>> roles_claim(const json& v) {
    constexpr std::size_t max_roles = 16, max_role_bytes = 64;
    const auto valid = [](const json& r) {
        return r.is_string() && !r.get_ref<const std::string&>().empty() &&
               r.get_ref<const std::string&>().size() <= max_role_bytes;
    };
    std::vector<std::string> out;
    if (valid(v)) {
        out.push_back(v.get<std::string>());
        return out;
    }
    if (!v.is_array() || v.size() > max_roles) return std::nullopt;
    for (const auto& r : v) {
        if (!valid(r)) return std::nullopt;
        out.push_back(r.get<std::string>());
    }
    return out;
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
    auto loaded = jose::load_pem(pem, false);
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

    const auto exp = p.find(jose::expires);
    if (exp == p.end()) return token_errc::missing_claim;
    const auto exp_v = date_claim(*exp);
    if (!exp_v) return token_errc::malformed;
    claims.expires_at = *exp_v;
    if (now > claims.expires_at + skew) return token_errc::expired;
    if (const auto nbf = p.find(jose::not_before); nbf != p.end()) {
        const auto v = date_claim(*nbf);
        if (!v) return token_errc::malformed;
        claims.not_before = *v;
        if (claims.not_before > now + skew) return token_errc::not_yet_valid;
    }
    if (const auto iat = p.find(jose::issued_at); iat != p.end()) {
        const auto v = date_claim(*iat);
        if (!v) return token_errc::malformed;
        claims.issued_at = *v;
        if (claims.issued_at > now + skew) return token_errc::not_yet_valid;
    }

    const auto iss = p.find(jose::issuer);
    if (iss == p.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != options_.issuer) {
        return token_errc::wrong_issuer;
    }
    claims.issuer = options_.issuer;
    const auto aud = p.find(jose::audience);
    if (aud == p.end() || !audience_matches(*aud, options_.audience)) {
        return token_errc::wrong_audience;
    }
    claims.audience = options_.audience;

    const auto sub = p.find(jose::subject);
    const auto tid = p.find(jose::tenant);
    const auto did = p.find(jose::device);
    if (sub == p.end() || tid == p.end() || did == p.end()) return token_errc::missing_claim;
    const auto user = id_claim(*sub, false);
    const auto tenant = id_claim(*tid, true);
    const auto device = id_claim(*did, true);
    if (!user || !tenant || !device || *user == 0 || *tenant == 0) return token_errc::malformed;
    claims.user = *user;
    claims.tenant = *tenant;
    claims.device = *device;
    if (key->tenant() && *key->tenant() != claims.tenant) return token_errc::wrong_tenant;
    if (const auto jti = p.find(jose::jwt_id); jti != p.end() && jti->is_string()) {
        claims.jwt_id = jti->get<std::string>();
    }
    if (const auto roles = p.find(jose::roles); roles != p.end()) {
        auto listed = roles_claim(*roles);
        if (!listed) return token_errc::malformed;
        claims.roles = std::move(*listed);
    }
    return claims;
}

result<jwt_key> jwt_key::from_public_pem_file(std::string kid, const std::string& path,
                                              std::optional<std::uint64_t> tenant) {
    auto pem = jose::read_file(path);
    return pem ? from_public_pem(std::move(kid), *pem, tenant) : pem.error();
}

}  // namespace tern::auth
