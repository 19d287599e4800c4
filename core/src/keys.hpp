// Hash keys of the core's per-shard maps: a conversation and a user, both within a tenant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <tern/storage/stable_hash.hpp>
#include <tern/storage/types.hpp>

namespace tern::core {

inline std::size_t mix(std::size_t seed, std::uint64_t v) noexcept {
    return seed ^
           (std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

using storage::stable_hash;

struct conv_key {
    storage::tenant_id tenant = 0;
    storage::conv_id conv;
    friend bool operator==(const conv_key&, const conv_key&) = default;
};

struct user_key {
    storage::tenant_id tenant = 0;
    storage::user_id user = 0;
    friend bool operator==(const user_key&, const user_key&) = default;
};

struct key_hash {
    std::size_t operator()(const conv_key& k) const noexcept {
        return mix(mix(mix(k.tenant, static_cast<std::uint64_t>(k.conv.type)), k.conv.id),
                   k.conv.peer);
    }
    std::size_t operator()(const user_key& k) const noexcept { return mix(k.tenant, k.user); }
};

}  // namespace tern::core
