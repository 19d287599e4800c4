// tern-storage-bench: how fast the store commits timeline events, per durability mode and batch
// size. A producer keeps the commit writer's queue full with direct messages (200-byte bodies,
// each with a dedup record and two inbox entries) or group messages; the writer commits exactly
// `batch` events per commit. Each configuration runs --runs times on a fresh store; the median
// is reported. docs/benchmarks.md records the results and the commands.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <tern/storage/commit_writer.hpp>
#include <tern/storage/rocks_store.hpp>

namespace st = tern::storage;
using clock_type = std::chrono::steady_clock;

namespace {

struct config {
    std::string dir;
    std::vector<std::string> modes{"os", "fsync"};
    std::vector<std::size_t> batches{1, 16, 64, 256, 1024};
    double seconds = 3;
    int runs = 3;
    std::size_t convs = 1000;
    std::size_t members = 2;  // 2: direct conversations; more: groups of this size
    std::size_t payload = 200;
};

struct run_result {
    double events_per_sec = 0;
    double commits_per_sec = 0;
    double syncs_per_sec = 0;  // fsync mode: fsyncs, each covering every batch staged meanwhile
    double commit_us = 0;      // mean time applying one commit (store::apply or stage)
};

st::durability parse_mode(const std::string& m) {
    if (m == "fsync") return st::durability::fsync;
    if (m == "memory") return st::durability::memory;
    return st::durability::os;
}

// Builds the event for position n of the stream: conversations round-robin, seqs in order.
class workload {
public:
    explicit workload(const config& c)
        : cfg_(c), heads_(c.convs, 0), body_(std::make_shared<const std::string>(c.payload, 'x')) {}

    st::append_event next() {
        const std::size_t i = n_++ % cfg_.convs;
        st::append_event e;
        e.tenant = 1;
        e.seq = ++heads_[i];
        e.server_time_ms = static_cast<std::int64_t>(n_);
        e.counts_unread = true;
        e.bytes = body_;
        e.client_msg_id = "cmid-" + std::to_string(n_);
        e.dedup_expires_ms = std::numeric_limits<std::int64_t>::max();
        if (cfg_.members <= 2) {
            const st::user_id a = 1 + 2 * i, b = 2 + 2 * i;
            e.conv = st::conv_id::direct(a, b);
            e.sender = e.seq % 2 ? a : b;
            if (e.seq == 1) e.membership = {{a, st::role::member}, {b, st::role::member}};
        } else {
            e.conv = st::conv_id::group(1 + i);
            const st::user_id base = 1 + i * cfg_.members;
            e.sender = base + e.seq % cfg_.members;
            if (e.seq == 1) {
                e.kind = st::event_kind::group_created;
                e.sender = base;
                e.membership.push_back({base, st::role::owner});
                for (std::size_t m = 1; m < cfg_.members; ++m) {
                    e.membership.push_back({base + m, st::role::member});
                }
            }
        }
        return e;
    }

private:
    const config& cfg_;
    std::vector<st::seq_t> heads_;
    st::event_bytes body_;
    std::uint64_t n_ = 0;
};

run_result run_once(const config& cfg, st::durability mode, std::size_t batch,
                    const std::filesystem::path& dir) {
    std::filesystem::remove_all(dir);
    st::rocks_options options;
    options.path = dir.string();
    auto opened = st::open_rocks_store(options);
    if (!opened) {
        std::fprintf(stderr, "open %s: %s\n", dir.c_str(), opened.error().message().c_str());
        std::exit(1);
    }
    auto& store = **opened;
    workload load(cfg);
    // Create every conversation first, so that the measured part is steady-state messages.
    {
        std::vector<st::log_entry> setup;
        for (std::size_t i = 0; i < cfg.convs; ++i) setup.emplace_back(load.next());
        if (!store.apply(setup, st::durability::os)) std::exit(1);
    }

    st::commit_writer writer(store, {mode, batch});
    std::mutex mutex;
    std::condition_variable room;
    std::size_t in_flight = 0;
    std::atomic<std::uint64_t> completed{0}, failed{0};
    const std::size_t window = std::max<std::size_t>(4 * batch, 1024);

    const auto start = clock_type::now();
    const auto stop_at = start + std::chrono::duration<double>(cfg.seconds);
    while (clock_type::now() < stop_at) {
        {
            std::unique_lock lock(mutex);
            room.wait(lock, [&] { return in_flight + batch <= window; });
            in_flight += batch;
        }
        std::vector<st::commit_writer::request> requests;
        requests.reserve(batch);
        for (std::size_t i = 0; i < batch; ++i) {
            requests.push_back({load.next(), [&](st::entry_result r) {
                                    if (!r) ++failed;
                                    ++completed;
                                    std::lock_guard lock(mutex);
                                    --in_flight;
                                    room.notify_one();
                                }});
        }
        writer.submit(std::move(requests));
    }
    // Count only what completed within the window.
    const auto done = completed.load();
    const auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    const auto stats = writer.stats();
    writer.stop();
    if (failed) {
        std::fprintf(stderr, "%llu commits failed\n",
                     static_cast<unsigned long long>(failed.load()));
        std::exit(1);
    }
    return {static_cast<double>(done) / elapsed, static_cast<double>(stats.commits) / elapsed,
            static_cast<double>(stats.syncs) / elapsed,
            stats.commits ? static_cast<double>(stats.commit_nanos) / stats.commits / 1000 : 0};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    config cfg;
    CLI::App app{"tern-storage-bench: store commit throughput per durability mode and batch size"};
    app.add_option("--dir", cfg.dir, "where to create the stores (default: a temp dir)");
    app.add_option("--mode", cfg.modes, "durability modes: os, fsync, memory")->expected(1, 3);
    app.add_option("--batch", cfg.batches, "events per commit")->expected(1, 16);
    app.add_option("--seconds", cfg.seconds, "length of each run");
    app.add_option("--runs", cfg.runs, "runs per configuration (the median is reported)");
    app.add_option("--convs", cfg.convs, "conversations written round-robin");
    app.add_option("--members", cfg.members, "members per conversation (2 = direct)");
    app.add_option("--payload", cfg.payload, "event body bytes");
    CLI11_PARSE(app, argc, argv);

    const std::filesystem::path base =
        cfg.dir.empty() ? std::filesystem::temp_directory_path() / "tern-storage-bench"
                        : std::filesystem::path(cfg.dir);
    std::printf("| mode | batch | events/s | commits/s | fsyncs/s | apply per commit (us) |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    for (const auto& mode_name : cfg.modes) {
        for (auto batch : cfg.batches) {
            std::vector<double> eps, cps, sps, us;
            for (int r = 0; r < cfg.runs; ++r) {
                const auto res = run_once(cfg, parse_mode(mode_name), batch, base / "store");
                eps.push_back(res.events_per_sec);
                cps.push_back(res.commits_per_sec);
                sps.push_back(res.syncs_per_sec);
                us.push_back(res.commit_us);
            }
            std::printf("| %s | %zu | %.0f | %.0f | %.0f | %.0f |\n", mode_name.c_str(), batch,
                        median(eps), median(cps), median(sps), median(us));
            std::fflush(stdout);
        }
    }
    std::filesystem::remove_all(base);
    return 0;
}
