#include <tern/tooling/tokens.hpp>

#include <array>
#include <string_view>

#include <openssl/rand.h>

namespace tern::tooling {

auth::token_claims device_claims(std::uint64_t tenant, std::uint64_t user, std::uint64_t device,
                                 std::chrono::seconds lifetime) {
    auth::token_claims claims;
    claims.issuer = "tern-dev";
    claims.audience = "tern";
    claims.tenant = tenant;
    claims.user = user;
    claims.device = device;
    claims.issued_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    claims.expires_at = claims.issued_at + lifetime.count();
    // 12 random bytes as 24 hex digits: unique per token, for logs and revocation lists.
    std::array<unsigned char, 12> id{};
    RAND_bytes(id.data(), static_cast<int>(id.size()));
    static constexpr std::string_view hex = "0123456789abcdef";
    for (auto b : id) {
        claims.jwt_id.push_back(hex[b >> 4]);
        claims.jwt_id.push_back(hex[b & 0xf]);
    }
    return claims;
}

auth::result<std::string> device_token(const auth::signing_key& key, std::uint64_t tenant,
                                       std::uint64_t user, std::uint64_t device,
                                       std::chrono::seconds lifetime) {
    return auth::sign_token(device_claims(tenant, user, device, lifetime), key);
}

}  // namespace tern::tooling
