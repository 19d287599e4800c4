#include "server_metrics.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

#include <tern/tooling/http_client.hpp>

namespace tern::bench {
namespace {

std::optional<double> parse_number(std::string_view text) {
    if (text == "+Inf") return std::numeric_limits<double>::infinity();
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

}  // namespace

double bucket_histogram::quantile(double q) const noexcept {
    const double total = count();
    if (total <= 0) return 0;
    const double rank = q * total;
    double lower = 0;
    double below = 0;
    for (const auto& b : buckets) {
        if (b.count >= rank) {
            if (std::isinf(b.upper)) return lower;
            const double in_bucket = b.count - below;
            if (in_bucket <= 0) return b.upper;
            return lower + (b.upper - lower) * (rank - below) / in_bucket;
        }
        lower = b.upper;
        below = b.count;
    }
    return lower;
}

std::optional<bucket_histogram> parse_histogram(std::string_view text, std::string_view name) {
    const std::string prefix = std::string(name) + "_bucket{le=\"";
    bucket_histogram h;
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const auto line = text.substr(at, end - at);
        at = end + 1;
        if (!line.starts_with(prefix)) continue;
        const auto rest = line.substr(prefix.size());
        const auto close = rest.find("\"} ");
        if (close == std::string_view::npos) return std::nullopt;
        auto value_text = rest.substr(close + 3);
        if (const auto space = value_text.find(' '); space != std::string_view::npos) {
            value_text = value_text.substr(0, space);  // a timestamp follows
        }
        const auto upper = parse_number(rest.substr(0, close));
        const auto count = parse_number(value_text);
        if (!upper || !count) return std::nullopt;
        if (!h.buckets.empty() &&
            (*upper <= h.buckets.back().upper || *count < h.buckets.back().count)) {
            return std::nullopt;
        }
        h.buckets.push_back({*upper, *count});
    }
    if (h.buckets.empty() || !std::isinf(h.buckets.back().upper)) return std::nullopt;
    return h;
}

std::optional<bucket_histogram> difference(const bucket_histogram& before,
                                           const bucket_histogram& after) {
    if (before.buckets.size() != after.buckets.size()) return std::nullopt;
    bucket_histogram d;
    for (std::size_t i = 0; i < after.buckets.size(); ++i) {
        const auto& a = before.buckets[i];
        const auto& b = after.buckets[i];
        if (a.upper != b.upper || b.count < a.count) return std::nullopt;
        d.buckets.push_back({b.upper, b.count - a.count});
    }
    return d;
}

std::optional<std::string> http_get(const std::string& url, std::string& error) {
    auto where = tern::tooling::parse_http_url(url);
    if (!where) {
        error = "expected http://host:port/path";
        return std::nullopt;
    }
    auto reply = tern::tooling::send_http({tern::tooling::http_method::get,
                                           where->host,
                                           where->port,
                                           where->target,
                                           {},
                                           std::chrono::seconds(5),
                                           {}});
    if (!reply) {
        error = reply.error().message();
        return std::nullopt;
    }
    if (reply->status != 200) {
        error = "HTTP " + std::to_string(reply->status);
        return std::nullopt;
    }
    return std::move(reply->body);
}

}  // namespace tern::bench
