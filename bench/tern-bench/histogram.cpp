#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tern::bench {
namespace {

constexpr std::uint64_t sub_buckets = 1ULL << histogram::sub_bucket_bits;  // 128
// Values below 2 * sub_buckets have a bucket each; above, each power of two has sub_buckets.
constexpr std::uint64_t exact_below = 2 * sub_buckets;
constexpr std::size_t bucket_count = (64 - histogram::sub_bucket_bits + 1) * sub_buckets;

}  // namespace

histogram::histogram() : counts_(bucket_count, 0) {}

std::size_t histogram::index_of(std::uint64_t value) noexcept {
    if (value < exact_below) return static_cast<std::size_t>(value);
    const int exponent = 63 - std::countl_zero(value);  // >= sub_bucket_bits + 1
    const int shift = exponent - sub_bucket_bits;       // >= 1
    const std::uint64_t mantissa = value >> shift;      // in [sub_buckets, 2 * sub_buckets)
    return static_cast<std::size_t>(static_cast<std::uint64_t>(shift) * sub_buckets + mantissa);
}

std::uint64_t histogram::upper_of(std::size_t index) noexcept {
    if (index < exact_below) return index;
    const auto shift = index / sub_buckets - 1;
    const auto mantissa = index % sub_buckets + sub_buckets;
    return ((mantissa + 1) << shift) - 1;
}

void histogram::record(std::uint64_t value_ns) noexcept {
    ++counts_[index_of(value_ns)];
    ++count_;
    min_ = std::min(min_, value_ns);
    max_ = std::max(max_, value_ns);
    sum_ += value_ns;
}

void histogram::merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

void histogram::clear() noexcept { *this = histogram(); }

double histogram::mean() const noexcept {
    return count_ ? static_cast<double>(sum_ / count_) : 0.0;
}

std::uint64_t histogram::percentile(double percent) const noexcept {
    if (count_ == 0) return 0;
    const auto wanted = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= wanted) return std::min(upper_of(i), max_);
    }
    return max_;
}

std::vector<std::array<std::uint64_t, 2>> histogram::buckets() const {
    std::vector<std::array<std::uint64_t, 2>> out;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        if (counts_[i] != 0) out.push_back({i, counts_[i]});
    }
    return out;
}

void histogram::add_buckets(const std::vector<std::array<std::uint64_t, 2>>& buckets) noexcept {
    for (const auto& [index, n] : buckets) {
        if (index >= counts_.size() || n == 0) continue;
        counts_[index] += n;
        count_ += n;
        const auto value = upper_of(index);
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
        sum_ += static_cast<long double>(value) * n;
    }
}

}  // namespace tern::bench
