// A 64-bit hash that is the same on every build, node and restart, for values that are stored or
// that nodes must agree on (idempotency fingerprints, generated group ids, the digest of a
// partition's applied log). Not for adversarial keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::storage {

// FNV-1a, then the splitmix64 finalizer.
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

}  // namespace tern::storage
