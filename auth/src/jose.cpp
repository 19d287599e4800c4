#include "jose.hpp"

#include <fstream>
#include <sstream>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

namespace tern::auth::jose {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct sig_free {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

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

}  // namespace

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
            out.push_back(alphabet[(buffer >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : in) {
        const auto pos = alphabet.find(c);
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

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) {
    return {key, [](EVP_PKEY* k) { EVP_PKEY_free(k); }};
}

boost::system::error_code bad_key() { return std::make_error_code(std::errc::invalid_argument); }

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

result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

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

}  // namespace tern::auth::jose
