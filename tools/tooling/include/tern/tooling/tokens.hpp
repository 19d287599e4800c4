// Development tokens for the tools, tern-bench and the tests: the claims of a device token for
// the development configuration's issuer and audience, and the token signed with a key
// (tern::auth's signing.hpp mints; ternd verifies the same format).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <tern/auth/signing.hpp>

namespace tern::tooling {

// The claims of a device token issued now for `lifetime`: issuer "tern-dev", audience "tern"
// (the development configuration's), and a random jti.
[[nodiscard]] auth::token_claims device_claims(std::uint64_t tenant, std::uint64_t user,
                                               std::uint64_t device, std::chrono::seconds lifetime);

// A device token with device_claims(...) signed by `key`: what the tools log in with.
[[nodiscard]] auth::result<std::string> device_token(const auth::signing_key& key,
                                                     std::uint64_t tenant, std::uint64_t user,
                                                     std::uint64_t device,
                                                     std::chrono::seconds lifetime);

}  // namespace tern::tooling
