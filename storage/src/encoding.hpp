// Key and value encodings of the RocksDB store (docs/storage.md has the table).
//
// Keys: the tenant first, then big-endian integers, so that RocksDB's bytewise order is the
// numeric order and every prefix scan stays inside one tenant. Values: a format byte, then
// fixed-width little-endian fields; decoding checks lengths and reports corruption, never reads
// past the end.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <tern/storage/types.hpp>

namespace tern::storage::detail {

inline constexpr std::size_t conv_bytes = 17;  // type + id + peer

// ---- building blocks ------------------------------------------------------------------------

inline void store_be64(char* out, std::uint64_t v) noexcept {
    for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
}

inline void put_be64(std::string& out, std::uint64_t v) {
    char b[8];
    store_be64(b, v);
    out.append(b, 8);
}

inline std::uint64_t get_be64(const char* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

inline void put_conv(std::string& out, const conv_id& c) {
    out.push_back(static_cast<char>(c.type));
    put_be64(out, c.id);
    put_be64(out, c.peer);
}

inline std::optional<conv_id> get_conv(const char* p) noexcept {
    const auto type = static_cast<conv_type>(static_cast<unsigned char>(p[0]));
    if (type != conv_type::direct && type != conv_type::group) return std::nullopt;
    return conv_id{type, get_be64(p + 1), get_be64(p + 9)};
}

// ---- keys -----------------------------------------------------------------------------------

inline std::string tenant_prefix(tenant_id t) {
    std::string k;
    put_be64(k, t);
    return k;
}

inline std::string conv_key(tenant_id t, const conv_id& c) {  // conv_meta; prefix of the others
    std::string k;
    k.reserve(8 + conv_bytes + 8);
    put_be64(k, t);
    put_conv(k, c);
    return k;
}

inline std::string conv_sub_key(tenant_id t, const conv_id& c, std::uint64_t n) {
    std::string k = conv_key(t, c);  // timeline (n = seq), members and receipts (n = user)
    put_be64(k, n);
    return k;
}

inline std::string user_key(tenant_id t, user_id u) {  // the prefix of a user's records
    std::string k;
    k.reserve(8 + 8 + conv_bytes);
    put_be64(k, t);
    put_be64(k, u);
    return k;
}

inline std::string user_sub_key(tenant_id t, user_id u, std::uint64_t n) {
    std::string k = user_key(t, u);  // inbox (n = inbox_seq), devices (n = device)
    put_be64(k, n);
    return k;
}

// user_sub_key built in place: the writer puts one inbox record per delivery, and 24 bytes do not
// fit in a std::string's inline buffer (a heap allocation per record otherwise).
struct user_sub_key_bytes {
    std::array<char, 24> bytes;
    [[nodiscard]] std::string_view view() const noexcept { return {bytes.data(), bytes.size()}; }
};

inline user_sub_key_bytes user_sub_key_in_place(tenant_id t, user_id u, std::uint64_t n) {
    user_sub_key_bytes k;
    store_be64(k.bytes.data(), t);
    store_be64(k.bytes.data() + 8, u);
    store_be64(k.bytes.data() + 16, n);
    return k;
}

inline std::string user_conv_key(tenant_id t, user_id u, const conv_id& c) {
    std::string k = user_key(t, u);
    put_conv(k, c);
    return k;
}

inline std::string dedup_key(tenant_id t, user_id u, std::string_view client_msg_id) {
    std::string k = user_key(t, u);
    k.append(client_msg_id);
    return k;
}

// The smallest key greater than every key starting with `prefix` (prefixes here never consist
// of 0xff bytes only, so one always exists).
inline std::string prefix_end(std::string prefix) {
    while (!prefix.empty()) {
        auto& last = prefix.back();
        if (static_cast<unsigned char>(last) != 0xff) {
            last = static_cast<char>(static_cast<unsigned char>(last) + 1);
            return prefix;
        }
        prefix.pop_back();
    }
    return prefix;
}

// The trailing big-endian integer of a key.
inline std::uint64_t key_suffix64(std::string_view key) noexcept {
    return key.size() < 8 ? 0 : get_be64(key.data() + key.size() - 8);
}

// ---- values ---------------------------------------------------------------------------------

inline constexpr char value_format = 1;

class value_writer {
public:
    value_writer() { out_.push_back(value_format); }
    value_writer& u8(std::uint8_t v) {
        out_.push_back(static_cast<char>(v));
        return *this;
    }
    value_writer& u32(std::uint32_t v) {
        char b[4];
        std::memcpy(b, &v, 4);
        out_.append(b, 4);
        return *this;
    }
    value_writer& u64(std::uint64_t v) {
        char b[8];
        std::memcpy(b, &v, 8);
        out_.append(b, 8);
        return *this;
    }
    value_writer& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
    value_writer& conv(const conv_id& c) {
        put_conv(out_, c);
        return *this;
    }
    value_writer& str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
        return *this;
    }
    value_writer& raw(std::string_view s) {
        out_.append(s);
        return *this;
    }
    [[nodiscard]] std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// Reads fields in order; after any short read ok() is false and every later read yields 0.
class value_reader {
public:
    explicit value_reader(std::string_view in) : in_(in) {
        ok_ = !in_.empty() && in_[0] == value_format;
        pos_ = 1;
    }
    std::uint8_t u8() {
        if (!take(1)) return 0;
        return static_cast<std::uint8_t>(in_[pos_ - 1]);
    }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        if (take(4)) std::memcpy(&v, in_.data() + pos_ - 4, 4);
        return v;
    }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        if (take(8)) std::memcpy(&v, in_.data() + pos_ - 8, 8);
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    conv_id conv() {
        if (!take(conv_bytes)) return {};
        auto c = get_conv(in_.data() + pos_ - conv_bytes);
        if (!c) ok_ = false;
        return c.value_or(conv_id{});
    }
    std::string str() {
        const std::uint32_t n = u32();
        if (!take(n)) return {};
        return std::string(in_.substr(pos_ - n, n));
    }
    std::string_view rest() {
        auto r = ok_ ? in_.substr(pos_) : std::string_view{};
        pos_ = in_.size();
        return r;
    }
    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] bool done() const noexcept { return ok_ && pos_ == in_.size(); }

private:
    bool take(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return false;
        }
        pos_ += n;
        return true;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = false;
};

}  // namespace tern::storage::detail
