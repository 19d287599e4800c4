// What the bench reads about processes and the machine: CPU time and resident memory from /proc
// (its own and ternd's), and the environment a result was measured in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tern::bench {

struct process_sample {
    std::int64_t at_ns = 0;       // CLOCK_MONOTONIC
    double cpu_seconds = 0;       // user + system since the process started
    std::uint64_t rss_bytes = 0;  // resident set (user-space memory; socket buffers are not in it)
};

// A sample of process `pid` (0: this process); nullopt if it is gone.
[[nodiscard]] std::optional<process_sample> sample_process(int pid);

// CPU use between two samples, in cores (1.0: one core busy all the time).
[[nodiscard]] double cores_used(const process_sample& from, const process_sample& to);

// CPU seconds of each of this process's threads (by thread id), at one time.
struct thread_sample {
    std::int64_t at_ns = 0;
    std::map<int, double> cpu_seconds;
};
[[nodiscard]] thread_sample sample_threads();

// The CPU use of the busiest thread between two samples, in cores: near 1.0, that thread (the
// SDK's network thread, usually) limits the bench whatever the cores.
[[nodiscard]] double busiest_thread_cores(const thread_sample& from, const thread_sample& to);

// The cores this process may run on (its CPU affinity).
[[nodiscard]] unsigned allowed_cores();

// The pid of the one running process named `name` (`comm`), or 0 if none or several.
[[nodiscard]] int find_process(const std::string& name);

// Raises the soft limit on open files to the hard limit; returns the new soft limit.
std::uint64_t raise_file_limit();

// Versions, CPU, kernel, limits and CPU affinity.
[[nodiscard]] nlohmann::json environment();

}  // namespace tern::bench
