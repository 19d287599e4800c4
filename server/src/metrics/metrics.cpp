#include "metrics/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <spdlog/spdlog.h>

#include "heap_keeper.hpp"
#include "log_throttle.hpp"
#include "tern/v1/errors.pb.h"

namespace tern::server {
namespace {

namespace prom = prometheus;

constexpr std::array<const char*, 4> transport_names{"tcp", "tls", "ws", "wss"};
// What the core could not do (core::failure, by its name).
constexpr std::array<const char*, 6> core_failure_names{"commit_failed",      "commit_queue_full",
                                                        "store_read_failed",  "push_not_framed",
                                                        "handover_timed_out", "event_too_large"};
constexpr std::array<const char*, 3> drop_reason_names{"reply_too_large", "push_too_large",
                                                       "queue_overflow"};
constexpr std::array<const char*, 7> reject_names{"tls_handshake", "websocket_upgrade", "protocol",
                                                  "auth",          "auth_timeout",      "admission",
                                                  "draining"};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

std::string lower(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// DISCONNECT_SLOW_CONSUMER -> "slow_consumer".
std::string reason_label(const std::string& enum_name) {
    return lower(enum_name.rfind("DISCONNECT_", 0) == 0 ? enum_name.substr(11) : enum_name);
}

// The standard process metrics (as the official clients name them), read from /proc at scrape,
// and the memory allocator's own figures when it reports them (tcmalloc: ternd; not the tests'
// sanitizer builds).
class process_collector final : public prom::Collectable {
public:
    std::vector<prom::MetricFamily> Collect() const override {
        std::vector<prom::MetricFamily> out;
        const auto add = [&](const char* name, const char* help, prom::MetricType type,
                             double value) {
            prom::MetricFamily f{name, help, type, {}};
            prom::ClientMetric m;
            if (type == prom::MetricType::Counter) {
                m.counter.value = value;
            } else {
                m.gauge.value = value;
            }
            f.metric.push_back(std::move(m));
            out.push_back(std::move(f));
        };
        const auto stat = read_stat();
        const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
        const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
        add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            prom::MetricType::Counter, (stat.utime + stat.stime) / ticks);
        add("process_resident_memory_bytes", "Resident memory size in bytes.",
            prom::MetricType::Gauge, stat.rss_pages * page);
        add("process_virtual_memory_bytes", "Virtual memory size in bytes.",
            prom::MetricType::Gauge, stat.vsize);
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            prom::MetricType::Gauge, boot_time() + stat.start_ticks / ticks);
        add("process_open_fds", "Number of open file descriptors.", prom::MetricType::Gauge,
            open_fds());
        rlimit files{};
        getrlimit(RLIMIT_NOFILE, &files);
        add("process_max_fds", "Maximum number of open file descriptors.", prom::MetricType::Gauge,
            static_cast<double>(files.rlim_cur));
        if (const auto heap = read_heap()) {
            add("tern_heap_allocated_bytes",
                "Memory the program holds from its allocator (requested and not freed).",
                prom::MetricType::Gauge, static_cast<double>(heap->allocated));
            add("tern_heap_free_bytes",
                "Free memory the allocator keeps resident for reuse (above "
                "server.heap_free_reserve_mib it goes back to the OS).",
                prom::MetricType::Gauge, static_cast<double>(heap->free));
        }
        return out;
    }

private:
    struct stat_fields {
        double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
    };

    static stat_fields read_stat() {
        stat_fields s;
        std::ifstream in("/proc/self/stat");
        std::string text;
        std::getline(in, text);
        const auto close = text.rfind(')');  // the command may hold spaces
        if (close == std::string::npos) return s;
        std::istringstream fields(text.substr(close + 2));
        std::string field;
        for (int i = 3; fields >> field && i <= 24; ++i) {
            const double v = std::strtod(field.c_str(), nullptr);
            if (i == 14) s.utime = v;
            if (i == 15) s.stime = v;
            if (i == 22) s.start_ticks = v;
            if (i == 23) s.vsize = v;
            if (i == 24) s.rss_pages = v;
        }
        return s;
    }

    static double boot_time() {
        std::ifstream in("/proc/stat");
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
        }
        return 0;
    }

    static double open_fds() {
        std::error_code ec;
        double n = 0;
        for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
             it.increment(ec)) {
            ++n;
        }
        return n;
    }
};

prom::Histogram::BucketBoundaries latency_buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
}

}  // namespace

struct metrics::impl {
    std::shared_ptr<prom::Registry> registry = std::make_shared<prom::Registry>();
    process_collector process;

    std::array<prom::Counter*, 4> accepted{};
    std::array<prom::Gauge*, 4> connections{};
    std::array<prom::Counter*, 7> rejected{};
    std::array<prom::Counter*, 2> tls_handshakes{};  // new, resumed
    prom::Gauge* tls_in_progress = nullptr;
    std::vector<prom::Counter*> disconnects;  // by DisconnectReason value
    prom::Counter* peer_closed = nullptr;
    std::unordered_map<int, prom::Counter*> request_errors;  // by ErrorCode value; fixed
    prom::Histogram* auth_duration = nullptr;
    prom::Counter* rate_limited = nullptr;
    prom::Gauge* queue_bytes = nullptr;
    prom::Counter* received = nullptr;
    prom::Counter* delivered = nullptr;
    prom::Histogram* delivery_latency = nullptr;
    prom::Histogram* fanout = nullptr;
    prom::Histogram* commit_duration = nullptr;
    prom::Histogram* commit_entries = nullptr;
    prom::Counter* commit_failures = nullptr;
    std::array<prom::Counter*, core_failure_names.size()> core_failures{};
    std::array<prom::Counter*, drop_reason_names.size()> frames_dropped{};
    std::array<log_throttle, drop_reason_names.size()> drop_warnings{
        log_throttle{std::chrono::seconds(1)}, log_throttle{std::chrono::seconds(1)},
        log_throttle{std::chrono::seconds(1)}};
    prom::Histogram* sync_duration = nullptr;
    prom::Gauge* draining = nullptr;
    prom::Counter* heap_released = nullptr;
    std::map<std::string, prom::Counter*, std::less<>> pushes;  // by outcome; fixed
    prom::Gauge* push_queue = nullptr;
    std::map<std::string, prom::Counter*, std::less<>> digests;  // by outcome; fixed
    std::map<unsigned, prom::Counter*> admin_requests;           // by status; 0: malformed; fixed
    std::array<prom::Counter*, 2> owner_changes{};               // ended, began
    prom::Histogram* append_duration = nullptr;
    std::map<std::string, prom::Counter*, std::less<>> appends;     // by outcome; fixed
    std::array<prom::Counter*, 2> bus_messages{};                   // out, in
    std::map<std::string, prom::Counter*, std::less<>> bus_errors;  // by reason; fixed
    prom::Family<prom::Gauge>* partition_applied = nullptr;
    prom::Family<prom::Gauge>* partition_lag = nullptr;
    prom::Family<prom::Gauge>* partition_owned = nullptr;
    prom::Family<prom::Gauge>* partition_refused = nullptr;
    std::mutex partition_mutex;
    std::map<std::uint32_t, std::array<prom::Gauge*, 4>> partitions;

    explicit impl(const build_info& build) {
        auto& accepted_family = prom::BuildCounter()
                                    .Name("tern_connections_accepted_total")
                                    .Help("Connections accepted, by transport.")
                                    .Register(*registry);
        auto& connections_family = prom::BuildGauge()
                                       .Name("tern_connections")
                                       .Help("Open connections, by transport.")
                                       .Register(*registry);
        for (std::size_t t = 0; t < transport_names.size(); ++t) {
            accepted[t] = &accepted_family.Add({{"transport", transport_names[t]}});
            connections[t] = &connections_family.Add({{"transport", transport_names[t]}});
        }
        auto& rejected_family =
            prom::BuildCounter()
                .Name("tern_connections_rejected_total")
                .Help("Connections closed before their handshake completed, by reason.")
                .Register(*registry);
        for (std::size_t r = 0; r < reject_names.size(); ++r) {
            rejected[r] = &rejected_family.Add({{"reason", reject_names[r]}});
        }
        auto& tls_family = prom::BuildCounter()
                               .Name("tern_tls_handshakes_total")
                               .Help("TLS handshakes completed, by session: new or resumed.")
                               .Register(*registry);
        tls_handshakes = {&tls_family.Add({{"session", "new"}}),
                          &tls_family.Add({{"session", "resumed"}})};
        tls_in_progress = &prom::BuildGauge()
                               .Name("tern_tls_handshakes_in_progress")
                               .Help(
                                   "TLS handshakes (and wss upgrades) under way; at "
                                   "limits.max_tls_handshakes the TLS listeners wait.")
                               .Register(*registry)
                               .Add({});
        auto& disconnect_family =
            prom::BuildCounter()
                .Name("tern_disconnects_total")
                .Help(
                    "Disconnect frames sent to clients, by reason; peer_closed: the client "
                    "went away.")
                .Register(*registry);
        const auto* reasons = v1::DisconnectReason_descriptor();
        disconnects.assign(static_cast<std::size_t>(v1::DisconnectReason_MAX) + 1, nullptr);
        for (int i = 0; i < reasons->value_count(); ++i) {
            const auto* value = reasons->value(i);
            if (value->number() <= 0) continue;  // unspecified
            disconnects[static_cast<std::size_t>(value->number())] =
                &disconnect_family.Add({{"reason", reason_label(value->name())}});
        }
        peer_closed = &disconnect_family.Add({{"reason", "peer_closed"}});
        auto& errors_family = prom::BuildCounter()
                                  .Name("tern_request_errors_total")
                                  .Help("Error answers to requests, by error code.")
                                  .Register(*registry);
        const auto* codes = v1::ErrorCode_descriptor();
        for (int i = 0; i < codes->value_count(); ++i) {
            const auto* code = codes->value(i);
            if (code->number() <= 0) continue;  // unspecified
            request_errors[code->number()] = &errors_family.Add({{"code", lower(code->name())}});
        }

        auth_duration = &prom::BuildHistogram()
                             .Name("tern_auth_duration_seconds")
                             .Help("Time to verify a Hello's token.")
                             .Register(*registry)
                             .Add({}, latency_buckets());
        rate_limited = &prom::BuildCounter()
                            .Name("tern_rate_limited_frames_total")
                            .Help("Inbound frames refused for exceeding the per-connection rate.")
                            .Register(*registry)
                            .Add({});
        queue_bytes = &prom::BuildGauge()
                           .Name("tern_outbound_queue_bytes")
                           .Help("Bytes queued to clients and not yet written, all connections.")
                           .Register(*registry)
                           .Add({});
        received = &prom::BuildCounter()
                        .Name("tern_messages_received_total")
                        .Help("Send requests received from clients.")
                        .Register(*registry)
                        .Add({});
        delivered = &prom::BuildCounter()
                         .Name("tern_messages_delivered_total")
                         .Help("Events pushed to devices (live pushes, not catch-up pages).")
                         .Register(*registry)
                         .Add({});
        delivery_latency = &prom::BuildHistogram()
                                .Name("tern_delivery_latency_seconds")
                                .Help(
                                    "From a request's arrival at its conversation's owner to "
                                    "the push queued for a recipient device (per shard, to "
                                    "the last push of the event there).")
                                .Register(*registry)
                                .Add({}, latency_buckets());
        fanout = &prom::BuildHistogram()
                      .Name("tern_fanout_recipients")
                      .Help("Users a committed event was assigned to.")
                      .Register(*registry)
                      .Add({}, prom::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                                 1000, 2000, 5000, 10000});
        commit_duration = &prom::BuildHistogram()
                               .Name("tern_storage_commit_duration_seconds")
                               .Help("Time to apply one group-commit batch to the store.")
                               .Register(*registry)
                               .Add({}, latency_buckets());
        commit_entries =
            &prom::BuildHistogram()
                 .Name("tern_storage_commit_batch_entries")
                 .Help("Entries in one group-commit batch.")
                 .Register(*registry)
                 .Add({}, prom::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                                            1024, 2048, 4096});
        commit_failures = &prom::BuildCounter()
                               .Name("tern_storage_commit_failures_total")
                               .Help("Commits or syncs that failed (nothing of them was acked).")
                               .Register(*registry)
                               .Add({});
        auto& core_family =
            prom::BuildCounter()
                .Name("tern_core_failures_total")
                .Help(
                    "What the core could not do, by what: commit_failed (requests refused), "
                    "commit_queue_full (requests refused, retryable; acks dropped), "
                    "store_read_failed, push_not_framed, handover_timed_out, event_too_large.")
                .Register(*registry);
        for (std::size_t i = 0; i < core_failure_names.size(); ++i) {
            core_failures[i] = &core_family.Add({{"what", core_failure_names[i]}});
        }
        auto& dropped_family =
            prom::BuildCounter()
                .Name("tern_frames_dropped_total")
                .Help(
                    "Frames for a device not sent, by reason: reply_too_large (the request "
                    "got an INTERNAL error instead), push_too_large, queue_overflow (the "
                    "device was closed as a slow consumer and resyncs).")
                .Register(*registry);
        for (std::size_t i = 0; i < drop_reason_names.size(); ++i) {
            frames_dropped[i] = &dropped_family.Add({{"reason", drop_reason_names[i]}});
        }
        sync_duration = &prom::BuildHistogram()
                             .Name("tern_storage_sync_duration_seconds")
                             .Help("Time to make staged batches durable (fsync mode).")
                             .Register(*registry)
                             .Add({}, latency_buckets());
        auto& admin_family = prom::BuildCounter()
                                 .Name("tern_admin_requests_total")
                                 .Help(
                                     "Admin HTTP requests by status; malformed: dropped "
                                     "unanswered (too large, too slow, not HTTP).")
                                 .Register(*registry);
        for (unsigned status : {0u, 200u, 202u, 400u, 401u, 403u, 404u, 405u, 500u, 503u}) {
            admin_requests[status] = &admin_family.Add(
                {{"code", status == 0 ? std::string("malformed") : std::to_string(status)}});
        }
        heap_released = &prom::BuildCounter()
                             .Name("tern_heap_released_bytes_total")
                             .Help("Free memory the heap keeper gave back to the OS.")
                             .Register(*registry)
                             .Add({});
        auto& push_family =
            prom::BuildCounter()
                .Name("tern_push_total")
                .Help(
                    "Pushes to the push relay, by outcome (a cancelled one counts the messages "
                    "a read elsewhere made moot).")
                .Register(*registry);
        for (const char* outcome :
             {"sent", "coalesced", "cancelled", "failed", "dropped", "retried", "token_invalid"}) {
            pushes[outcome] = &push_family.Add({{"outcome", outcome}});
        }
        push_queue = &prom::BuildGauge()
                          .Name("tern_push_queue_depth")
                          .Help("Pushes waiting for the relay or in flight.")
                          .Register(*registry)
                          .Add({});
        auto& digest_family =
            prom::BuildCounter()
                .Name("tern_digests_total")
                .Help(
                    "Work-start digests, one per user and work start: sent, all_read (everything "
                    "read before it), dropped (forgotten before it).")
                .Register(*registry);
        for (const char* outcome : {"sent", "all_read", "dropped"}) {
            digests[outcome] = &digest_family.Add({{"outcome", outcome}});
        }
        auto& owner_family = prom::BuildCounter()
                                 .Name("tern_cluster_owner_changes_total")
                                 .Help("Ownership terms of this node that began or ended.")
                                 .Register(*registry);
        owner_changes[0] = &owner_family.Add({{"change", "ended"}});
        owner_changes[1] = &owner_family.Add({{"change", "began"}});
        append_duration = &prom::BuildHistogram()
                               .Name("tern_cluster_append_duration_seconds")
                               .Help("From an owner's append to its log's answer (quorum).")
                               .Register(*registry)
                               .Add({}, latency_buckets());
        auto& append_family =
            prom::BuildCounter()
                .Name("tern_cluster_appends_total")
                .Help(
                    "Appends by outcome: ok; fenced (another writer appended: the fence "
                    "refused a stale owner); failed (no quorum, timeout).")
                .Register(*registry);
        for (const char* outcome : {"ok", "fenced", "failed"}) {
            appends[outcome] = &append_family.Add({{"outcome", outcome}});
        }
        auto& bus_family = prom::BuildCounter()
                               .Name("tern_cluster_bus_messages_total")
                               .Help("Messages between nodes (sessions, replies, pushes).")
                               .Register(*registry);
        bus_messages[0] = &bus_family.Add({{"direction", "out"}});
        bus_messages[1] = &bus_family.Add({{"direction", "in"}});
        auto& bus_error_family =
            prom::BuildCounter()
                .Name("tern_cluster_bus_errors_total")
                .Help(
                    "Messages between nodes that could not be sent (unsent) or read "
                    "(malformed).")
                .Register(*registry);
        for (const char* why : {"unsent", "malformed"}) {
            bus_errors[why] = &bus_error_family.Add({{"reason", why}});
        }
        partition_applied = &prom::BuildGauge()
                                 .Name("tern_cluster_partition_applied")
                                 .Help("The last entry of each partition's log this node applied.")
                                 .Register(*registry);
        partition_lag = &prom::BuildGauge()
                             .Name("tern_cluster_apply_lag_entries")
                             .Help("Entries of each partition's log this node has not applied.")
                             .Register(*registry);
        partition_owned = &prom::BuildGauge()
                               .Name("tern_cluster_partition_owned")
                               .Help("1 for each partition this node owns (serves) now.")
                               .Register(*registry);
        partition_refused =
            &prom::BuildGauge()
                 .Name("tern_cluster_refused_entries")
                 .Help(
                     "Stale owners' entries of each partition's log this node's replica refused "
                     "since it started (their writer had another log before them).")
                 .Register(*registry);
        draining = &prom::BuildGauge()
                        .Name("tern_draining")
                        .Help("1 while the gateway drains its connections.")
                        .Register(*registry)
                        .Add({});
        prom::BuildGauge()
            .Name("tern_build_info")
            .Help("Always 1; the labels say which build runs.")
            .Register(*registry)
            .Add({{"version", build.version}, {"build_type", build.build_type}})
            .Set(1);
    }
};

metrics::metrics(const build_info& build) : impl_(std::make_unique<impl>(build)) {}
metrics::~metrics() = default;

const char* transport_name(transport_kind t) noexcept {
    return transport_names[static_cast<std::size_t>(t)];
}

void metrics::core_failed(std::string_view what) {
    for (std::size_t i = 0; i < core_failure_names.size(); ++i) {
        if (what == core_failure_names[i]) return impl_->core_failures[i]->Increment();
    }
}

void metrics::frames_dropped(drop_reason why, std::size_t frames, std::string_view detail) {
    const auto i = static_cast<std::size_t>(why);
    impl_->frames_dropped[i]->Increment(static_cast<double>(frames));
    if (std::uint64_t held = 0; impl_->drop_warnings[i].allow(held)) {
        spdlog::warn("frames dropped, {}: {} ({} more since the last of these warnings)",
                     drop_reason_names[i], detail, held);
    }
}

std::uint64_t metrics::frames_dropped_total() const {
    double n = 0;
    for (const auto* c : impl_->frames_dropped) n += c->Value();
    return static_cast<std::uint64_t>(n);
}

void metrics::accepted(transport_kind t) {
    impl_->accepted[static_cast<std::size_t>(t)]->Increment();
}
void metrics::rejected(reject_reason r) {
    impl_->rejected[static_cast<std::size_t>(r)]->Increment();
}
void metrics::tls_handshake(bool resumed) { impl_->tls_handshakes[resumed ? 1 : 0]->Increment(); }

void metrics::tls_handshakes_in_progress(std::int64_t delta) {
    impl_->tls_in_progress->Increment(static_cast<double>(delta));
}
void metrics::connection_opened(transport_kind t) {
    impl_->connections[static_cast<std::size_t>(t)]->Increment();
}
void metrics::connection_closed(transport_kind t) {
    impl_->connections[static_cast<std::size_t>(t)]->Decrement();
}

void metrics::disconnected(int disconnect_reason) {
    const auto i = static_cast<std::size_t>(disconnect_reason);
    if (disconnect_reason > 0 && i < impl_->disconnects.size() && impl_->disconnects[i]) {
        impl_->disconnects[i]->Increment();
    }
}

void metrics::peer_closed() { impl_->peer_closed->Increment(); }
void metrics::auth_duration(std::chrono::nanoseconds took) {
    impl_->auth_duration->Observe(seconds(took));
}
void metrics::rate_limited() { impl_->rate_limited->Increment(); }
void metrics::request_error(int error_code) {
    if (const auto it = impl_->request_errors.find(error_code); it != impl_->request_errors.end()) {
        it->second->Increment();
    }
}
void metrics::outbound_queue_bytes(std::int64_t delta) {
    impl_->queue_bytes->Increment(static_cast<double>(delta));
}

void metrics::message_received() { impl_->received->Increment(); }
void metrics::messages_delivered(std::size_t pushes, std::chrono::nanoseconds since_accepted) {
    if (pushes == 0) return;
    impl_->delivered->Increment(static_cast<double>(pushes));
    // The same latency `pushes` times: one bucket, one lock.
    static const auto bounds = latency_buckets();
    const double value = seconds(since_accepted);
    std::vector<double> increments(bounds.size() + 1, 0.0);
    increments[static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                        bounds.begin())] = static_cast<double>(pushes);
    impl_->delivery_latency->ObserveMultiple(increments, value * static_cast<double>(pushes));
}
void metrics::fanout(std::size_t recipients) {
    impl_->fanout->Observe(static_cast<double>(recipients));
}

void metrics::committed(std::size_t entries, std::chrono::nanoseconds took, bool failed) {
    impl_->commit_duration->Observe(seconds(took));
    impl_->commit_entries->Observe(static_cast<double>(entries));
    if (failed) impl_->commit_failures->Increment();
}

void metrics::synced(std::chrono::nanoseconds took, bool failed) {
    impl_->sync_duration->Observe(seconds(took));
    if (failed) impl_->commit_failures->Increment();
}

void metrics::admin_request(unsigned status) {
    if (const auto it = impl_->admin_requests.find(status); it != impl_->admin_requests.end()) {
        it->second->Increment();
    }
}

void metrics::heap_released(std::uint64_t bytes) {
    impl_->heap_released->Increment(static_cast<double>(bytes));
}

void metrics::push_counted(std::string_view outcome, std::size_t n) {
    if (const auto it = impl_->pushes.find(outcome); it != impl_->pushes.end()) {
        it->second->Increment(static_cast<double>(n));
    }
}

void metrics::digest(std::string_view outcome) {
    if (const auto it = impl_->digests.find(outcome); it != impl_->digests.end()) {
        it->second->Increment();
    }
}

void metrics::push_queue_depth(std::size_t depth) {
    impl_->push_queue->Set(static_cast<double>(depth));
}

void metrics::cluster_owner_changed(bool began) {
    impl_->owner_changes[began ? 1 : 0]->Increment();
}

void metrics::cluster_appended(std::string_view outcome, std::chrono::nanoseconds took) {
    impl_->append_duration->Observe(seconds(took));
    if (const auto it = impl_->appends.find(outcome); it != impl_->appends.end()) {
        it->second->Increment();
    }
}

void metrics::cluster_bus_message(bool inbound) {
    impl_->bus_messages[inbound ? 1 : 0]->Increment();
}

void metrics::cluster_bus_error(std::string_view why) {
    if (const auto it = impl_->bus_errors.find(why); it != impl_->bus_errors.end()) {
        it->second->Increment();
    }
}

void metrics::cluster_partition(std::uint32_t partition, std::uint64_t applied,
                                std::uint64_t last_seq, bool owned, std::uint64_t refused) {
    auto& i = *impl_;
    std::lock_guard lock(i.partition_mutex);
    auto it = i.partitions.find(partition);
    if (it == i.partitions.end()) {
        const std::map<std::string, std::string> labels{{"partition", std::to_string(partition)}};
        it = i.partitions
                 .emplace(partition, std::array<prom::Gauge*, 4>{&i.partition_applied->Add(labels),
                                                                 &i.partition_lag->Add(labels),
                                                                 &i.partition_owned->Add(labels),
                                                                 &i.partition_refused->Add(labels)})
                 .first;
    }
    it->second[0]->Set(static_cast<double>(applied));
    it->second[1]->Set(last_seq > applied ? static_cast<double>(last_seq - applied) : 0.0);
    it->second[2]->Set(owned ? 1 : 0);
    it->second[3]->Set(static_cast<double>(refused));
}

void metrics::set_draining(bool draining) { impl_->draining->Set(draining ? 1 : 0); }

std::int64_t metrics::connections() const {
    double n = 0;
    for (const auto* g : impl_->connections) n += g->Value();
    return static_cast<std::int64_t>(n);
}

std::string metrics::scrape() const {
    auto families = impl_->registry->Collect();
    for (auto& f : impl_->process.Collect()) families.push_back(std::move(f));
    return prom::TextSerializer().Serialize(families);
}

}  // namespace tern::server
