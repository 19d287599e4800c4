#include "proc.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tracker.hpp"

namespace tern::bench {
namespace {

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

std::string affinity() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return "unknown";
    std::string out;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (!out.empty()) out += ",";
        out += std::to_string(cpu);
    }
    return out;
}

// User + system CPU seconds from a /proc stat file (a process's or a thread's).
std::optional<double> cpu_seconds_in(const std::string& stat_file) {
    std::ifstream stat(stat_file);
    std::string text;
    if (!std::getline(stat, text)) return {};
    // Fields after the command (which may hold spaces) start after the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) {
            stime = std::stoull(field);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

std::optional<process_sample> sample_process(int pid) {
    const std::string dir = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
    const auto cpu = cpu_seconds_in(dir + "/stat");
    if (!cpu) return {};
    process_sample s;
    s.at_ns = now_ns();
    s.cpu_seconds = *cpu;
    std::ifstream status(dir + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            s.rss_bytes = std::stoull(line.substr(6)) * 1024;
            break;
        }
    }
    return s;
}

double cores_used(const process_sample& from, const process_sample& to) {
    const double wall = static_cast<double>(to.at_ns - from.at_ns) / 1e9;
    return wall > 0 ? (to.cpu_seconds - from.cpu_seconds) / wall : 0.0;
}

thread_sample sample_threads() {
    thread_sample s;
    s.at_ns = now_ns();
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        const auto cpu = cpu_seconds_in(entry.path() / "stat");
        if (cpu) s.cpu_seconds[std::stoi(entry.path().filename().string())] = *cpu;
    }
    return s;
}

double busiest_thread_cores(const thread_sample& from, const thread_sample& to) {
    const double wall = static_cast<double>(to.at_ns - from.at_ns) / 1e9;
    if (wall <= 0) return 0;
    double busiest = 0;
    for (const auto& [tid, seconds] : to.cpu_seconds) {
        const auto before = from.cpu_seconds.find(tid);
        const double start = before == from.cpu_seconds.end() ? 0.0 : before->second;
        busiest = std::max(busiest, (seconds - start) / wall);
    }
    return busiest;
}

unsigned allowed_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::thread::hardware_concurrency();
    return static_cast<unsigned>(CPU_COUNT(&set));
}

int find_process(const std::string& name) {
    int found = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto pid_text = entry.path().filename().string();
        if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        if (first_line(entry.path() / "comm") != name) continue;
        if (found != 0) return 0;  // several: the caller must say which
        found = std::stoi(pid_text);
    }
    return found;
}

std::uint64_t raise_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

nlohmann::json environment() {
    utsname u{};
    uname(&u);
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    return {
        {"tern_version", TERN_VERSION},
        {"compiler", __VERSION__},
        {"build_type", TERN_BUILD_TYPE},
        {"kernel", std::string(u.sysname) + " " + u.release + " " + u.machine},
        {"host", host},
        {"cpu", cpu_model()},
        {"cpus_online", std::thread::hardware_concurrency()},
        {"bench_affinity", affinity()},
        {"open_files_limit", files.rlim_cur},
        {"ephemeral_ports", first_line("/proc/sys/net/ipv4/ip_local_port_range")},
    };
}

}  // namespace tern::bench
