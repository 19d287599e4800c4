// ternd's own view of a run: its delivery-latency histogram, read from the admin listener's
// /metrics (Prometheus text) at the start and the end of the measured window. The difference
// tells how much of the bench's end-to-end latency is spent inside ternd's window (a request's
// arrival at its conversation's owner to the push queued), as opposed to the transport and the
// bench's own queueing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::bench {

// A Prometheus histogram: cumulative counts per upper bound, ascending, +Inf last.
struct bucket_histogram {
    struct bucket {
        double upper = 0;  // seconds; infinity for +Inf
        double count = 0;  // cumulative
    };
    std::vector<bucket> buckets;

    [[nodiscard]] double count() const noexcept {
        return buckets.empty() ? 0 : buckets.back().count;
    }
    // The q-quantile (0..1) the way Prometheus' histogram_quantile() estimates it: linear within
    // the bucket that holds it; the largest finite bound if it falls in +Inf; 0 when empty.
    [[nodiscard]] double quantile(double q) const noexcept;
};

// The histogram `name` (its `_bucket` series, without other labels than `le`) in a /metrics
// text; nullopt if absent or malformed.
[[nodiscard]] std::optional<bucket_histogram> parse_histogram(std::string_view metrics_text,
                                                              std::string_view name);

// What was observed between two readings of one histogram (nullopt if they do not match, e.g.
// the server restarted in between).
[[nodiscard]] std::optional<bucket_histogram> difference(const bucket_histogram& before,
                                                         const bucket_histogram& after);

// GET of an http://host:port/path URL; the body, or nullopt (with `error`) on any failure.
[[nodiscard]] std::optional<std::string> http_get(const std::string& url, std::string& error);

constexpr std::string_view delivery_latency_metric = "tern_delivery_latency_seconds";

}  // namespace tern::bench
