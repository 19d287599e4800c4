#include "scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "proc.hpp"
#include "server_metrics.hpp"

namespace tern::bench {
namespace tc = tern::client;
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
// A thread busy this share of the time, or the process using this share of its cores, is the
// bench's limit, not ternd's.
constexpr double saturated_at = 0.9;

std::int64_t seconds_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

void sleep_until_ns(std::int64_t t) {
    const auto now = now_ns();
    if (t > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
}

// Calls `act(k, intended_ns)` for k = 0, 1, ... at `rate` per second from `start` while the
// intended time is before `end`. Open loop: a late call keeps its intended time (so latency
// measured from it counts the wait), and the schedule never slows down for the server.
template <class Act>
std::uint64_t open_loop(double rate, std::int64_t start, std::int64_t end, Act&& act) {
    std::uint64_t k = 0;
    const auto due = [&](std::uint64_t i) {
        return start + static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / rate);
    };
    while (due(k) < end) {
        const auto now = now_ns();
        while (due(k) <= now && due(k) < end) {
            act(k, due(k));
            ++k;
        }
        // Wake for the next one, but at least every millisecond at low rates and not more
        // often than every 50 µs at high ones (calls come in small batches then).
        sleep_until_ns(std::min(due(k), now + 1'000'000));
        if (rate > 20'000) sleep_until_ns(now + 50'000);
    }
    return k;
}

// The CPU both processes used between start() and finish(): the bench itself, its busiest thread
// and ternd (when its pid is known).
class cpu_window {
public:
    void start(int server_pid) {
        server_pid_ = server_pid;
        self_from_ = sample_process(0);
        threads_from_ = sample_threads();
        server_from_ = server_pid_ ? sample_process(server_pid_) : std::nullopt;
    }

    // Writes <prefix>bench_cpu_cores, <prefix>bench_busiest_thread_cores and
    // <prefix>server_cpu_cores; returns whether the bench was at its limit (and so measured
    // itself rather than ternd).
    bool finish(results& r, const std::string& prefix) const {
        bool saturated = false;
        const auto self = sample_process(0);
        if (self_from_ && self) {
            const double cores = cores_used(*self_from_, *self);
            const double busiest = busiest_thread_cores(threads_from_, sample_threads());
            r.figures[prefix + "bench_cpu_cores"] = cores;
            r.figures[prefix + "bench_busiest_thread_cores"] = busiest;
            saturated = busiest >= saturated_at || cores >= saturated_at * allowed_cores();
        }
        const auto server = server_pid_ ? sample_process(server_pid_) : std::nullopt;
        if (server_from_ && server) {
            r.figures[prefix + "server_cpu_cores"] = cores_used(*server_from_, *server);
        }
        return saturated;
    }

private:
    int server_pid_ = 0;
    std::optional<process_sample> self_from_, server_from_;
    thread_sample threads_from_;
};

// Everything a scenario shares: the clients, the tracker, the streams and the progress line.
class session {
public:
    explicit session(const run_options& o) : o_(o), fleet_(o.fleet, tracker_) {
        server_pid_ = o.server_pid != 0 ? o.server_pid : find_process("ternd");
    }
    ~session() { stop_progress(); }

    tracker& checks() { return tracker_; }
    fleet& clients() { return fleet_; }

    // A stream: `writer` sends into `conv`, which `devices` member devices receive.
    std::uint32_t add_stream(std::uint32_t writer, const tc::conv_id& conv, std::uint32_t devices) {
        conv_.push_back(conv);
        next_number_.push_back(0);
        return tracker_.add_stream(writer, devices);
    }

    // Sends the stream's next message (the scheduling thread only).
    void send(std::uint32_t stream, std::int64_t intended) {
        const payload p{tracker_.run(), stream, next_number_[stream]++, intended, now_ns()};
        fleet_.at(tracker_.writer_of(stream))
            .send(conv_[stream], encode(p, o_.size), [this, p](tc::result<tc::sent> r) {
                tracker_.on_ack(p, r.ok(), r.ok() && r->duplicate, now_ns());
            });
        sent_.fetch_add(1, std::memory_order_relaxed);
    }

    // Connects clients [first, last) at `rate` per second (0: at once); waits until all are
    // online. False (with `why`) if they are not within the settle timeout.
    bool connect(std::uint32_t first, std::uint32_t last, double rate, std::string& why) {
        const auto target = fleet_.online.load() + (last - first);
        if (rate <= 0) {
            for (auto i = first; i < last; ++i) fleet_.connect(i);
        } else {
            open_loop(rate, now_ns(), now_ns() + seconds_ns((last - first) / rate) + 1,
                      [&](std::uint64_t k, std::int64_t) {
                          if (first + k < last)
                              fleet_.connect(first + static_cast<std::uint32_t>(k));
                      });
        }
        if (wait_for([&] { return fleet_.online.load() >= target; })) return true;
        why = std::to_string(target - std::min(target, fleet_.online.load())) +
              " clients did not connect within " + std::to_string(o_.settle_timeout) + " s";
        return false;
    }

    // Waits until every send completed and every member device has every acked message.
    bool settle(std::string& why) {
        if (!wait_for(
                [&] { return tracker_.acked.load() + tracker_.failed.load() >= sent_.load(); })) {
            why = std::to_string(sent_.load() - tracker_.acked.load() - tracker_.failed.load()) +
                  " sends never completed";
            return false;
        }
        std::uint64_t expected = 0;
        fleet_.on_callback_thread([&] { expected = tracker_.expected_deliveries(); });
        if (!wait_for(
                [&] { return tracker_.delivered.load() + tracker_.echoed.load() >= expected; })) {
            why = "deliveries stopped short of the acked messages";
            return false;
        }
        return true;
    }

    // Polls `done` until it holds or the settle timeout passes.
    template <class Pred>
    bool wait_for(Pred&& done) {
        const auto deadline = now_ns() + seconds_ns(o_.settle_timeout);
        while (!done()) {
            if (now_ns() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

    void start_progress() {
        if (o_.quiet) return;
        running_ = true;
        progress_ = std::thread([this] { progress_loop(); });
    }
    void stop_progress() {
        running_ = false;
        if (progress_.joinable()) progress_.join();
    }

    // Window of the measurement: CPU of both processes and the server's memory.
    void mark_window_start() {
        delivery_before_ = read_delivery_latency();
        window_start_ = now_ns();
        window_cpu_.start(server_pid_);
        delivered_from_ = tracker_.delivered.load();
        acked_from_ = tracker_.acked.load();
    }
    void mark_window_end(results& r) {
        const auto seconds = static_cast<double>(now_ns() - window_start_) / 1e9;
        r.figures["window_seconds"] = seconds;
        r.figures["delivered_per_sec"] =
            static_cast<double>(tracker_.delivered.load() - delivered_from_) / seconds;
        r.figures["acked_per_sec"] =
            static_cast<double>(tracker_.acked.load() - acked_from_) / seconds;
        // A bench at its limit measures itself: say so rather than report it as ternd's.
        const bool saturated = window_cpu_.finish(r, "");
        r.figures["bench_saturated"] = saturated ? 1 : 0;
        if (const auto server = server_pid_ ? sample_process(server_pid_) : std::nullopt) {
            r.figures["server_rss_bytes"] = static_cast<double>(server->rss_bytes);
        }
        add_server_delivery(r);
    }

    [[nodiscard]] int server_pid() const noexcept { return server_pid_; }

    // Counters, correctness and histograms into `r` (after settle).
    void collect(results& r) {
        r.figures["sent"] = static_cast<double>(sent_.load());
        r.figures["acked"] = static_cast<double>(tracker_.acked.load());
        r.figures["failed"] = static_cast<double>(tracker_.failed.load());
        r.figures["delivered"] = static_cast<double>(tracker_.delivered.load());
        r.figures["resent"] = static_cast<double>(tracker_.retried.load());
        r.figures["connection_drops"] = static_cast<double>(fleet_.drops.load());
        fleet_.on_callback_thread([&] {
            r.checks = tracker_.check();
            if (tracker_.ack.count()) {
                r.add_latency("ack", tracker_.ack);
                r.add_latency("ack_raw", tracker_.ack_raw);
            }
            if (tracker_.e2e.count()) {
                r.add_latency("e2e", tracker_.e2e);
                r.add_latency("e2e_raw", tracker_.e2e_raw);
                r.add_latency("fanout", tracker_.fanout);
            }
            if (fleet_.login.count()) r.add_latency("login", fleet_.login);
        });
        if (tracker_.failed.load() != 0 && r.completed) {
            r.completed = false;
            r.incomplete_why = std::to_string(tracker_.failed.load()) + " sends failed";
        }
    }

private:
    // ternd's delivery-latency histogram now (nullopt without --metrics, or if unreadable: the
    // run goes on without those figures, and says why once).
    std::optional<bucket_histogram> read_delivery_latency() {
        if (o_.metrics_url.empty()) return std::nullopt;
        std::string error;
        const auto text = http_get(o_.metrics_url, error);
        auto h = text ? parse_histogram(*text, delivery_latency_metric) : std::nullopt;
        if (!h && !metrics_warned_) {
            std::fprintf(stderr, "tern-bench: no %s from %s: %s\n",
                         std::string(delivery_latency_metric).c_str(), o_.metrics_url.c_str(),
                         text ? "not in the page" : error.c_str());
            metrics_warned_ = true;
        }
        return h;
    }

    // What ternd observed between the window's start and now: from a request's arrival at its
    // conversation's owner to the push queued for each device (estimated within its buckets).
    void add_server_delivery(results& r) {
        if (!delivery_before_) return;
        const auto after = read_delivery_latency();
        const auto window = after ? difference(*delivery_before_, *after) : std::nullopt;
        if (!window || window->count() == 0) return;
        r.figures["server_delivery.count"] = window->count();
        r.figures["server_delivery.p50"] = window->quantile(0.50);
        r.figures["server_delivery.p90"] = window->quantile(0.90);
        r.figures["server_delivery.p99"] = window->quantile(0.99);
    }

    void progress_loop() {
        const auto start = now_ns();
        auto self = sample_process(0);
        auto server = server_pid_ ? sample_process(server_pid_) : std::nullopt;
        auto delivered = tracker_.delivered.load();
        while (running_) {
            for (int i = 0; i < 20 && running_; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            const auto self_now = sample_process(0);
            const auto server_now = server_pid_ ? sample_process(server_pid_) : std::nullopt;
            const auto delivered_now = tracker_.delivered.load();
            // The second's own e2e tail: a flush or a stall shows here, while the run's
            // percentiles at the end would average it away.
            histogram recent;
            fleet_.on_callback_thread([&] { recent = tracker_.take_recent_e2e(); });
            char e2e_text[96] = "";
            if (recent.count() != 0) {
                std::snprintf(
                    e2e_text, sizeof e2e_text, "  e2e p99 %s max %s",
                    human_duration(static_cast<double>(recent.percentile(99)) / 1e9).c_str(),
                    human_duration(static_cast<double>(recent.max()) / 1e9).c_str());
            }
            char server_text[96] = "";
            if (server && server_now) {
                std::snprintf(server_text, sizeof server_text, "  ternd cpu %3.0f%% rss %.1f MiB",
                              100 * cores_used(*server, *server_now),
                              static_cast<double>(server_now->rss_bytes) / 1048576);
            }
            std::fprintf(stderr,
                         "[%5.1fs] online %llu  sent %llu  acked %llu  delivered %llu (%llu/s)%s  "
                         "failed %llu  bench cpu %3.0f%%%s\n",
                         static_cast<double>(now_ns() - start) / 1e9,
                         static_cast<unsigned long long>(fleet_.online.load()),
                         static_cast<unsigned long long>(sent_.load()),
                         static_cast<unsigned long long>(tracker_.acked.load()),
                         static_cast<unsigned long long>(delivered_now),
                         static_cast<unsigned long long>(delivered_now - delivered), e2e_text,
                         static_cast<unsigned long long>(tracker_.failed.load()),
                         self && self_now ? 100 * cores_used(*self, *self_now) : 0.0, server_text);
            self = self_now;
            server = server_now;
            delivered = delivered_now;
        }
    }

    const run_options& o_;
    tracker tracker_;  // before fleet_: the clients' callbacks use it until they are gone
    fleet fleet_;
    std::vector<tc::conv_id> conv_;           // per stream
    std::vector<std::uint32_t> next_number_;  // per stream; the scheduling thread
    std::atomic<std::uint64_t> sent_{0};
    int server_pid_ = 0;
    std::thread progress_;
    std::atomic<bool> running_{false};
    std::int64_t window_start_ = 0;
    std::optional<bucket_histogram> delivery_before_;
    bool metrics_warned_ = false;
    cpu_window window_cpu_;
    std::uint64_t delivered_from_ = 0, acked_from_ = 0;
};

nlohmann::json common_config(const run_options& o) {
    nlohmann::json endpoints = nlohmann::json::array();
    for (const auto& e : o.fleet.endpoints) {
        static const char* names[] = {"tcp", "tls", "ws", "wss"};
        endpoints.push_back(std::string(names[static_cast<int>(e.transport)]) + "://" + e.host +
                            ":" + std::to_string(e.port) +
                            (e.transport >= tc::transport::ws ? e.path : ""));
    }
    return {{"endpoints", endpoints},
            {"spread", o.fleet.spread},
            {"seconds", o.seconds},
            {"warmup", o.warmup},
            {"rate", o.rate},
            {"size", o.size},
            {"sources", o.fleet.sources},
            {"threads", o.fleet.threads},
            {"first_user", o.first_user}};
}

// A scenario's results, with the common configuration and its own.
results start(const char* scenario, const run_options& o, const nlohmann::json& own) {
    results r;
    r.scenario = scenario;
    r.config = common_config(o);
    r.config.update(own);
    return r;
}

// Sends on every stream round-robin at the open-loop rate for the run's duration, measuring
// after the warm-up; then lets everything settle.
void traffic(session& s, const run_options& o, std::uint32_t streams, results& r) {
    const auto start = now_ns() + 10'000'000;
    const auto measured = start + seconds_ns(o.warmup);
    const auto end = measured + seconds_ns(o.seconds);
    s.checks().measure_from(measured);
    s.start_progress();
    bool window_open = false;
    open_loop(o.rate, start, end, [&](std::uint64_t k, std::int64_t intended) {
        if (!window_open && intended >= measured) {
            s.mark_window_start();
            window_open = true;
        }
        s.send(static_cast<std::uint32_t>(k % streams), intended);
    });
    if (!window_open) s.mark_window_start();
    sleep_until_ns(end);
    s.mark_window_end(r);
    r.completed = s.settle(r.incomplete_why);
    s.stop_progress();
}

}  // namespace

results run_conn(const run_options& o) {
    auto r = start("conn", o, {{"clients", o.clients}});
    session s(o);
    for (std::uint32_t i = 0; i < o.clients; ++i) s.clients().add(o.first_user + i);
    if (s.server_pid() == 0) {
        throw std::runtime_error("conn needs ternd's pid for its memory: pass --server-pid");
    }
    // The baseline after a moment of quiet, so what the server frees settles first.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto before = sample_process(s.server_pid());
    s.start_progress();
    const auto ramp_start = now_ns();
    r.completed = s.connect(0, o.clients, o.rate, r.incomplete_why);
    const auto ramp_seconds = static_cast<double>(now_ns() - ramp_start) / 1e9;
    // Hold the connections idle, then measure.
    s.mark_window_start();
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(o.seconds * 1000)));
    s.mark_window_end(r);
    const auto held = sample_process(s.server_pid());
    s.stop_progress();
    r.figures["connections"] = static_cast<double>(s.clients().online.load());
    r.figures["ramp_seconds"] = ramp_seconds;
    r.figures["logins_per_sec"] = static_cast<double>(o.clients) / ramp_seconds;
    if (before && held) {
        r.figures["server_rss_before_bytes"] = static_cast<double>(before->rss_bytes);
        r.figures["server_rss_held_bytes"] = static_cast<double>(held->rss_bytes);
        r.figures["memory_per_conn"] =
            (static_cast<double>(held->rss_bytes) - static_cast<double>(before->rss_bytes)) /
            std::max(1.0, r.figures["connections"]);
    }
    r.figures["connection_drops"] = static_cast<double>(s.clients().drops.load());
    r.figures.erase("delivered_per_sec");
    r.figures.erase("acked_per_sec");
    s.clients().on_callback_thread([&] { r.add_latency("login", s.clients().login); });
    return r;
}

results run_send(const run_options& o, const char* name) {
    auto r = start(name, o, {{"clients", o.clients}});
    if (o.clients < 2 || o.clients % 2 != 0) throw std::runtime_error("--clients must be even");
    session s(o);
    for (std::uint32_t i = 0; i < o.clients; ++i) s.clients().add(o.first_user + i);
    // Pairs (2k, 2k+1): each writes to the other, each a stream of two devices.
    std::vector<std::uint32_t> streams;
    for (std::uint32_t i = 0; i < o.clients; ++i) {
        const auto peer = i ^ 1u;
        s.add_stream(i, tc::conv_id::direct(s.clients().user_of(i), s.clients().user_of(peer)), 2);
    }
    if (!s.connect(0, o.clients, o.connect_rate, r.incomplete_why)) return r;
    traffic(s, o, o.clients, r);
    s.collect(r);
    r.figures["offered_per_sec"] = o.rate;
    return r;
}

// Every member of every group mutes it to mentions and sets working hours (every day, all day, in
// Asia/Shanghai: each delivery then evaluates a mute and a schedule, and still counts).
bool set_notify_settings(session& s, const run_options& o, const std::vector<tc::conv_id>& group,
                         results& r) {
    tc::notification_settings settings;
    settings.hours = tc::work_hours{"Asia/Shanghai", 0b111'1111, "00:00", "00:00", {}};
    std::atomic<std::uint32_t> done{0}, failed{0};
    const auto count = [&](const tc::result<tc::ok>& result) {
        if (!result.ok()) ++failed;
        ++done;
    };
    for (std::uint32_t g = 0; g < o.groups; ++g) {
        for (std::uint32_t m = 0; m < o.members; ++m) {
            auto& c = s.clients().at(g * o.members + m);
            c.mute(group[g], tc::notify_level::mentions, 0, count);
            c.set_notification_settings(settings, count);
        }
    }
    const auto want = 2 * o.groups * o.members;
    if (!s.wait_for([&] { return done.load() == want; }) || failed != 0) {
        r.incomplete_why = "notification settings: " + std::to_string(failed.load()) + " of " +
                           std::to_string(want) + " refused or unanswered";
        return false;
    }
    return true;
}

results run_group(const run_options& o) {
    auto r = start("group", o,
                   {{"groups", o.groups},
                    {"members", o.members},
                    {"senders", o.senders},
                    {"notify_settings", o.notify_settings ? 1 : 0}});
    if (o.members < 2 || o.senders < 1 || o.senders > o.members) {
        throw std::runtime_error("--members must be at least 2 and --senders in [1, members]");
    }
    session s(o);
    const auto total = o.groups * o.members;
    for (std::uint32_t i = 0; i < total; ++i) s.clients().add(o.first_user + i);
    if (!s.connect(0, total, o.connect_rate, r.incomplete_why)) return r;

    // Member 0 of each group creates it with up to 999 others, then adds the rest 1,000 at a
    // time: one request names at most 1,000 users, and must fit a frame.
    constexpr std::uint32_t per_request = 1'000;
    std::vector<tc::conv_id> group(o.groups);
    std::atomic<std::uint32_t> created{0}, refused{0}, added{0};
    std::mutex why_mutex;
    std::string why;
    const auto count = [&](const tc::result<tc::sent>& done, std::atomic<std::uint32_t>& ok) {
        if (done.ok()) return void(++ok);
        ++refused;
        std::lock_guard lock(why_mutex);
        why = tc::to_string(done.err().code) + std::string(": ") + done.err().message;
    };
    const auto others_of = [&](std::uint32_t g, std::uint32_t from, std::uint32_t to) {
        std::vector<tc::user_id> users;
        for (std::uint32_t m = from; m < std::min(to, o.members); ++m) {
            users.push_back(s.clients().user_of(g * o.members + m));
        }
        return users;
    };
    for (std::uint32_t g = 0; g < o.groups; ++g) {
        s.clients()
            .at(g * o.members)
            .create_group("bench " + std::to_string(g), others_of(g, 1, per_request),
                          [&, g](tc::result<tc::sent> done) {
                              if (done.ok()) group[g] = done->conv;
                              count(done, created);
                          });
    }
    std::uint32_t adds = 0;
    if (s.wait_for([&] { return created + refused == o.groups; }) && refused == 0) {
        for (std::uint32_t g = 0; g < o.groups; ++g) {
            for (std::uint32_t from = per_request; from < o.members; from += per_request) {
                ++adds;
                s.clients()
                    .at(g * o.members)
                    .add_members(group[g], others_of(g, from, from + per_request),
                                 [&](tc::result<tc::sent> done) { count(done, added); });
            }
        }
    }
    if (!s.wait_for([&] { return created + refused == o.groups && added + refused >= adds; }) ||
        refused != 0) {
        std::lock_guard lock(why_mutex);
        r.incomplete_why = "groups could not be created (" + std::to_string(refused.load()) +
                           " refused: " + why + ")";
        return r;
    }
    if (o.notify_settings && !set_notify_settings(s, o, group, r)) return r;
    std::uint32_t streams = 0;
    for (std::uint32_t g = 0; g < o.groups; ++g) {
        for (std::uint32_t m = 0; m < o.senders; ++m) {
            s.add_stream(g * o.members + m, group[g], o.members);
            ++streams;
        }
    }
    traffic(s, o, streams, r);
    s.collect(r);
    r.figures["offered_per_sec"] = o.rate;
    r.figures["deliveries_per_message"] = o.members - 1;
    return r;
}

results run_churn(const run_options& o) {
    auto r =
        start("churn", o, {{"clients", o.clients}, {"missed", o.missed}, {"feeders", o.feeders}});
    if (o.feeders == 0 || o.clients == 0) throw std::runtime_error("--clients and --feeders > 0");
    session s(o);
    // Feeders first (indices [0, feeders)), then the clients that go away and come back.
    for (std::uint32_t f = 0; f < o.feeders; ++f) s.clients().add(o.first_user + f);
    const auto first = o.feeders;
    for (std::uint32_t c = 0; c < o.clients; ++c) s.clients().add(o.first_user + o.feeders + c);
    for (std::uint32_t c = 0; c < o.clients; ++c) {
        const auto feeder = c % o.feeders;
        s.add_stream(
            feeder,
            tc::conv_id::direct(s.clients().user_of(feeder), s.clients().user_of(first + c)), 2);
    }
    const auto all = first + o.clients;
    if (!s.connect(0, all, o.connect_rate, r.incomplete_why)) return r;

    // Everyone drops; each misses `missed` messages.
    for (auto i = first; i < all; ++i) s.clients().disconnect(i);
    if (!s.wait_for([&] { return s.clients().online.load() == o.feeders; })) {
        r.incomplete_why = "clients did not disconnect";
        return r;
    }
    s.checks().measure_from(INT64_MAX);  // the missed messages are not latency samples
    s.checks().count_first(o.missed);
    const auto missed_start = now_ns();
    for (std::uint32_t m = 0; m < o.missed; ++m) {
        for (std::uint32_t c = 0; c < o.clients; ++c) s.send(c, now_ns());
    }
    const auto expected_missed = std::uint64_t{o.clients} * o.missed;
    if (!s.wait_for([&] { return s.checks().acked.load() >= expected_missed; })) {
        r.incomplete_why = "the missed messages were not all acked";
        return r;
    }
    r.figures["missed_store_per_sec"] =
        static_cast<double>(expected_missed) / (static_cast<double>(now_ns() - missed_start) / 1e9);

    // All come back at once while live traffic continues.
    s.start_progress();
    const auto back = now_ns();
    std::atomic<std::int64_t> all_in{0}, resynced{0};
    // The logins take about a second of the window: the window's CPU figures would hide a
    // process at its core while they last, so they get their own.
    cpu_window login_cpu;
    login_cpu.start(s.server_pid());
    results login_figures;  // the watcher's own: merged into r once it is joined
    bool login_saturated = false;
    std::thread watcher([&] {
        s.wait_for([&] {
            if (all_in == 0 && s.clients().online.load() == all) {
                all_in = now_ns();
                login_saturated = login_cpu.finish(login_figures, "login_");
            }
            if (resynced == 0 && s.checks().delivered_first.load() >= expected_missed) {
                resynced = now_ns();
            }
            return all_in != 0 && resynced != 0;
        });
    });
    for (auto i = first; i < all; ++i) s.clients().connect(i);
    const auto measured = back;
    const auto end = back + seconds_ns(o.seconds);
    s.checks().measure_from(measured);
    s.mark_window_start();
    open_loop(o.rate, back, end, [&](std::uint64_t k, std::int64_t intended) {
        s.send(static_cast<std::uint32_t>(k % o.clients), intended);
    });
    s.mark_window_end(r);
    watcher.join();
    r.figures.insert(login_figures.figures.begin(), login_figures.figures.end());
    if (login_saturated) r.figures["bench_saturated"] = 1;
    r.completed = s.settle(r.incomplete_why);
    s.stop_progress();
    if (all_in == 0 || resynced == 0) {
        r.completed = false;
        r.incomplete_why = all_in == 0 ? "not every client came back" : "the resync did not finish";
    } else {
        const auto login_s = static_cast<double>(all_in - back) / 1e9;
        const auto resync_s = static_cast<double>(resynced - back) / 1e9;
        r.figures["logins_per_sec"] = o.clients / login_s;
        r.figures["login_all_seconds"] = login_s;
        r.figures["resync_seconds"] = resync_s;
        // Live messages arrive in the same window: the rate counts the missed ones only.
        r.figures["resync_per_sec"] = static_cast<double>(expected_missed) / resync_s;
    }
    s.collect(r);
    r.figures["offered_per_sec"] = o.rate;
    return r;
}

}  // namespace tern::bench
