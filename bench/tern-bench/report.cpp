#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <regex>

namespace tern::bench {

std::string human_duration(double seconds) {
    char buf[32];
    if (seconds < 1e-3)
        std::snprintf(buf, sizeof buf, "%.1f µs", seconds * 1e6);
    else if (seconds < 1)
        std::snprintf(buf, sizeof buf, "%.2f ms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    return buf;
}

namespace {

struct percentile_name {
    const char* suffix;
    double percent;
};
constexpr percentile_name percentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}};

std::optional<double> unit_scale(const std::string& unit) {
    static const std::map<std::string, double> scales = {{"", 1},
                                                         {"ns", 1e-9},
                                                         {"us", 1e-6},
                                                         {"µs", 1e-6},
                                                         {"ms", 1e-3},
                                                         {"s", 1},
                                                         {"k", 1e3},
                                                         {"M", 1e6},
                                                         {"KiB", 1024},
                                                         {"MiB", 1024.0 * 1024},
                                                         {"GiB", 1024.0 * 1024 * 1024},
                                                         {"%", 0.01}};
    auto it = scales.find(unit);
    if (it == scales.end()) return {};
    return it->second;
}

bool holds(double measured, const std::string& op, double value) {
    if (op == "<") return measured < value;
    if (op == "<=") return measured <= value;
    if (op == ">") return measured > value;
    if (op == ">=") return measured >= value;
    return measured == value;  // "=="
}

// 0.000412 s -> "412 µs"; figures that are not durations print as numbers.
std::string human(const std::string& name, double v) {
    char buf[64];
    const bool duration = name.find(".p") != std::string::npos || name.ends_with(".max") ||
                          name.ends_with(".mean") || name.ends_with("_seconds");
    const bool bytes = name.ends_with("_bytes") || name.rfind("memory", 0) == 0;
    if (duration) {
        return human_duration(v);
    } else if (bytes) {
        if (v < 10 * 1024)
            std::snprintf(buf, sizeof buf, "%.0f B", v);
        else if (v < 10.0 * 1024 * 1024)
            std::snprintf(buf, sizeof buf, "%.1f KiB", v / 1024);
        else
            std::snprintf(buf, sizeof buf, "%.1f MiB", v / 1024 / 1024);
    } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.3f", v);
    }
    return buf;
}

}  // namespace

void results::add_latency(const std::string& name, const histogram& h) {
    latencies[name] = h;
    figures[name + ".count"] = static_cast<double>(h.count());
    if (h.count() == 0) return;
    for (const auto& p : percentiles) {
        figures[name + "." + p.suffix] = static_cast<double>(h.percentile(p.percent)) / 1e9;
    }
    figures[name + ".max"] = static_cast<double>(h.max()) / 1e9;
    figures[name + ".mean"] = h.mean() / 1e9;
}

std::optional<threshold> parse_threshold(const std::string& text, std::string& error) {
    static const std::regex form(
        R"(^\s*([A-Za-z0-9_.]+)\s*(<=|>=|==|<|>)\s*([0-9.]+)\s*([A-Za-zµ%]*)\s*$)");
    std::smatch m;
    if (!std::regex_match(text, m, form)) {
        error = "'" + text + "': expected <figure><op><value>[unit], e.g. e2e.p99<2ms";
        return {};
    }
    const auto scale = unit_scale(m[4].str());
    if (!scale) {
        error = "'" + text + "': unknown unit '" + m[4].str() + "'";
        return {};
    }
    return threshold{text, m[1].str(), m[2].str(), std::stod(m[3].str()) * *scale};
}

std::vector<std::string> failed_thresholds(const results& r, const std::vector<threshold>& all) {
    std::vector<std::string> failed;
    for (const auto& t : all) {
        auto it = r.figures.find(t.figure);
        if (it == r.figures.end()) {
            failed.push_back(t.text + ": no figure '" + t.figure + "' in this scenario");
        } else if (!holds(it->second, t.op, t.value)) {
            failed.push_back(t.text + ": measured " + human(t.figure, it->second));
        }
    }
    return failed;
}

void print_summary(const results& r) {
    std::printf("\n== tern-bench %s: %s\n", r.scenario.c_str(),
                r.completed ? "completed" : ("INCOMPLETE: " + r.incomplete_why).c_str());
    std::printf("correctness: lost %llu, duplicated %llu, reordered %llu%s\n",
                static_cast<unsigned long long>(r.checks.lost),
                static_cast<unsigned long long>(r.checks.duplicated),
                static_cast<unsigned long long>(r.checks.reordered),
                r.checks.clean() ? "" : "  <-- FAILURE");
    if (const auto it = r.figures.find("bench_saturated"); it != r.figures.end() && it->second) {
        const auto figure = [&](const char* name) {
            const auto f = r.figures.find(name);
            return f == r.figures.end() ? 0.0 : f->second;
        };
        std::printf(
            "note: tern-bench was at its own limit (busiest thread %.2f cores, %.2f during "
            "the logins where measured): the rates measure the bench, not only ternd (give it "
            "cores, --threads or --procs)\n",
            figure("bench_busiest_thread_cores"), figure("login_bench_busiest_thread_cores"));
    }
    for (const auto& [name, v] : r.figures) {
        if (name.find('.') != std::string::npos) continue;  // latencies below
        std::printf("  %-28s %s\n", name.c_str(), human(name, v).c_str());
    }
    if (!r.latencies.empty()) {
        std::printf("  %-28s %10s %10s %10s %10s %10s %10s\n", "latency", "count", "p50", "p90",
                    "p99", "p99.9", "max");
    }
    for (const auto& [name, h] : r.latencies) {
        const auto at = [&h = h](double p) {  // (clang 14 cannot capture a binding by name)
            return human(".p", static_cast<double>(h.percentile(p)) / 1e9);
        };
        std::printf("  %-28s %10llu %10s %10s %10s %10s %10s\n", name.c_str(),
                    static_cast<unsigned long long>(h.count()), at(50).c_str(), at(90).c_str(),
                    at(99).c_str(), at(99.9).c_str(),
                    human(".max", static_cast<double>(h.max()) / 1e9).c_str());
    }
    // ternd's own window (--metrics): estimated within its histogram's buckets.
    if (const auto c = r.figures.find("server_delivery.count"); c != r.figures.end()) {
        const auto at = [&](const char* p) {
            const auto f = r.figures.find(std::string("server_delivery.") + p);
            return f == r.figures.end() ? std::string("-") : human(".p", f->second);
        };
        std::printf("  %-28s %10.0f %10s %10s %10s %10s %10s\n", "server_delivery (ternd)",
                    c->second, at("p50").c_str(), at("p90").c_str(), at("p99").c_str(), "-", "-");
    }
    std::fflush(stdout);
}

nlohmann::json to_json(const results& r, const nlohmann::json& environment) {
    nlohmann::json latencies = nlohmann::json::object();
    for (const auto& [name, h] : r.latencies) {
        nlohmann::json one = {{"count", h.count()}, {"unit", "ns"}};
        for (const auto& p : percentiles) one[p.suffix] = h.percentile(p.percent);
        one["max"] = h.max();
        one["mean"] = h.mean();
        one["buckets"] = h.buckets();  // (index, count): mergeable across runs
        latencies[name] = std::move(one);
    }
    return {
        {"scenario", r.scenario},
        {"completed", r.completed},
        {"incomplete_why", r.incomplete_why},
        {"config", r.config},
        {"environment", environment},
        {"correctness",
         {{"lost", r.checks.lost},
          {"duplicated", r.checks.duplicated},
          {"reordered", r.checks.reordered}}},
        {"figures", r.figures},
        {"latencies", std::move(latencies)},
    };
}

results from_json(const nlohmann::json& j) {
    results r;
    r.scenario = j.at("scenario").get<std::string>();
    r.completed = j.at("completed").get<bool>();
    r.incomplete_why = j.value("incomplete_why", "");
    r.config = j.value("config", nlohmann::json::object());
    const auto& c = j.at("correctness");
    r.checks = {c.at("lost").get<std::uint64_t>(), c.at("duplicated").get<std::uint64_t>(),
                c.at("reordered").get<std::uint64_t>()};
    r.figures = j.at("figures").get<std::map<std::string, double>>();
    for (const auto& [name, one] : j.at("latencies").items()) {
        histogram h;
        h.add_buckets(one.at("buckets").get<std::vector<std::array<std::uint64_t, 2>>>());
        r.latencies[name] = std::move(h);
    }
    return r;
}

namespace {

// `recomputed`: percentiles, made again from the merged histograms; `read_once`: the server's
// own figures, which only the first process reads.
enum class combine_rule { sum, largest, mean, recomputed, read_once };

combine_rule rule_for(const std::string& figure) {
    if (figure.rfind("server_delivery.", 0) == 0) return combine_rule::read_once;
    if (figure.find('.') != std::string::npos) return combine_rule::recomputed;
    if (figure.ends_with("_seconds")) return combine_rule::largest;
    if (figure.ends_with("server_cpu_cores")) return combine_rule::mean;
    if (figure.ends_with("bench_busiest_thread_cores") || figure == "bench_saturated") {
        return combine_rule::largest;  // the largest: any saturated process limits the run
    }
    if (figure.rfind("server_rss", 0) == 0 || figure == "deliveries_per_message") {
        return combine_rule::largest;
    }
    return combine_rule::sum;  // counts, rates, bench CPU (each process its own)
}

}  // namespace

results combine(const std::vector<results>& parts) {
    results all;
    if (parts.empty()) return all;
    all.scenario = parts.front().scenario;
    all.config = parts.front().config;
    all.completed = true;
    std::map<std::string, std::vector<double>> values;
    for (const auto& p : parts) {
        if (!p.completed) {
            all.completed = false;
            if (!all.incomplete_why.empty()) all.incomplete_why += "; ";
            all.incomplete_why += p.incomplete_why;
        }
        all.checks.lost += p.checks.lost;
        all.checks.duplicated += p.checks.duplicated;
        all.checks.reordered += p.checks.reordered;
        for (const auto& [name, v] : p.figures) values[name].push_back(v);
        for (const auto& [name, h] : p.latencies) all.latencies[name].merge(h);
    }
    for (const auto& [name, v] : values) {
        switch (rule_for(name)) {
            case combine_rule::sum:
                all.figures[name] = std::accumulate(v.begin(), v.end(), 0.0);
                break;
            case combine_rule::largest:
                all.figures[name] = *std::max_element(v.begin(), v.end());
                break;
            case combine_rule::mean:
                all.figures[name] = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
                break;
            case combine_rule::read_once:
                all.figures[name] = v.front();
                break;
            case combine_rule::recomputed:
                break;
        }
    }
    // Memory per connection: the server grew from the earliest baseline to the fullest hold.
    if (values.contains("server_rss_before_bytes") && values.contains("server_rss_held_bytes") &&
        all.figures["connections"] > 0) {
        const auto& before = values["server_rss_before_bytes"];
        all.figures["server_rss_before_bytes"] = *std::min_element(before.begin(), before.end());
        all.figures["memory_per_conn"] =
            (all.figures["server_rss_held_bytes"] - all.figures["server_rss_before_bytes"]) /
            all.figures["connections"];
    }
    auto merged = std::move(all.latencies);
    all.latencies.clear();
    for (const auto& [name, h] : merged) all.add_latency(name, h);
    all.config["procs"] = parts.size();
    return all;
}

}  // namespace tern::bench
