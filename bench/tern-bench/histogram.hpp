// A latency histogram in the style of HdrHistogram (none is packaged in Debian): log-linear
// buckets, exact below 256 ns and 128 per power of two above, so every percentile it reports is
// within 1/128 (0.8 %) of the recorded value. Fixed size (59 KiB), no allocation on record, and
// mergeable, so each thread or process keeps its own and the report adds them up.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace tern::bench {

class histogram {
public:
    histogram();

    void record(std::uint64_t value_ns) noexcept;
    void merge(const histogram& other) noexcept;
    void clear() noexcept;

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    [[nodiscard]] double mean() const noexcept;
    // The value at or below which `percent` of the recorded values lie (the bucket's upper end,
    // never above max()). 0 when empty.
    [[nodiscard]] std::uint64_t percentile(double percent) const noexcept;

    // Non-empty buckets as (index, count) pairs, and back: to merge across processes.
    [[nodiscard]] std::vector<std::array<std::uint64_t, 2>> buckets() const;
    void add_buckets(const std::vector<std::array<std::uint64_t, 2>>& buckets) noexcept;

    static constexpr int sub_bucket_bits = 7;
    [[nodiscard]] static std::size_t index_of(std::uint64_t value) noexcept;
    // The largest value that falls in bucket `index`.
    [[nodiscard]] static std::uint64_t upper_of(std::size_t index) noexcept;

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
    long double sum_ = 0;
};

}  // namespace tern::bench
