// A scenario's outcome: named figures (rates, counts, latencies), the histograms behind the
// latencies, the correctness counters, and how it is printed, written as JSON and judged against
// `--threshold` expressions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "histogram.hpp"
#include "tracker.hpp"

namespace tern::bench {

struct results {
    std::string scenario;
    nlohmann::json config;
    bool completed = false;      // the scenario ran to its end (every send settled, every
    std::string incomplete_why;  // connection came up); otherwise why not
    correctness checks;
    // Figures in base units: seconds, bytes, per second, counts. Latency percentiles are added
    // from histograms as "<name>.p50", ".p90", ".p99", ".p99.9", ".max", ".mean".
    std::map<std::string, double> figures;
    std::map<std::string, histogram> latencies;

    void add_latency(const std::string& name, const histogram& h);
};

// `e2e.p99<2ms`, `delivered_per_sec>=100k`, `memory_per_conn<2KiB`, `lost==0`: a figure, a
// comparison and a value with an optional unit (ns, us, ms, s; KiB, MiB, GiB; k, M).
struct threshold {
    std::string text;
    std::string figure;
    std::string op;
    double value = 0;
};

// nullopt (and `error` set) if the expression does not parse.
[[nodiscard]] std::optional<threshold> parse_threshold(const std::string& text, std::string& error);

// The thresholds that fail (a missing figure fails), each with what was measured.
[[nodiscard]] std::vector<std::string> failed_thresholds(const results& r,
                                                         const std::vector<threshold>& all);

// 0.000412 -> "412.0 µs", 0.0123 -> "12.30 ms", 2.5 -> "2.50 s".
[[nodiscard]] std::string human_duration(double seconds);

// The human summary (stdout).
void print_summary(const results& r);

// The JSON document of `--json`: configuration, environment and results.
[[nodiscard]] nlohmann::json to_json(const results& r, const nlohmann::json& environment);
// Back from to_json (histograms from their buckets): how --procs collects its processes' results.
[[nodiscard]] results from_json(const nlohmann::json& j);

// The results of several processes that ran one scenario side by side (--procs), each on its own
// users: counts and rates add up, histograms merge, durations take the longest, the server's
// figures are read once; memory per connection is the server's growth over all connections.
[[nodiscard]] results combine(const std::vector<results>& parts);

}  // namespace tern::bench
