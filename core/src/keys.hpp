// Hash keys of the core's per-shard maps: a conversation and a user, both within a tenant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <tern/storage/types.hpp>

namespace tern::core {

inline std::size_t mix(std::size_t seed, std::uint64_t v) noexcept {
    return seed ^
           (std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// A 64-bit hash that is the same on every build, node and restart (FNV-1a, then the splitmix64
// finalizer), for values that are stored or that nodes must agree on. Not for adversarial keys.
class stable_hash {
public:
    stable_hash& feed(const void* data, std::size_t size) noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < size; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ULL;
        return *this;
    }
    stable_hash& feed(std::uint64_t v) noexcept { return feed(&v, sizeof v); }
    stable_hash& feed(std::string_view s) noexcept { return feed(s.data(), s.size()); }
    [[nodiscard]] std::uint64_t value() const noexcept {
        std::uint64_t h = h_;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
    }

private:
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

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
