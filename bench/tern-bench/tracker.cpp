#include "tracker.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <random>
#include <utility>

namespace tern::bench {
namespace tc = tern::client;

std::int64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

constexpr std::size_t header_bytes = 28;

std::uint64_t since(std::int64_t from, std::int64_t now) noexcept {
    return now > from ? static_cast<std::uint64_t>(now - from) : 0;
}

}  // namespace

tc::content encode(const payload& p, std::size_t size) {
    tc::content c;
    c.custom_type = payload_type;
    c.custom_data.resize(std::max(size, header_bytes), 'x');
    // Host byte order: writer and readers are tern-bench processes on one machine.
    auto* at = c.custom_data.data();
    std::memcpy(at, &p.run, 4);
    std::memcpy(at + 4, &p.stream, 4);
    std::memcpy(at + 8, &p.number, 4);
    std::memcpy(at + 12, &p.intended_ns, 8);
    std::memcpy(at + 20, &p.sent_ns, 8);
    return c;
}

std::optional<payload> decode(const tc::content& c, std::uint32_t run) {
    if (c.custom_type != payload_type || c.custom_data.size() < header_bytes) return {};
    payload p;
    const auto* at = c.custom_data.data();
    std::memcpy(&p.run, at, 4);
    if (p.run != run) return {};
    std::memcpy(&p.stream, at + 4, 4);
    std::memcpy(&p.number, at + 8, 4);
    std::memcpy(&p.intended_ns, at + 12, 8);
    std::memcpy(&p.sent_ns, at + 20, 8);
    return p;
}

tracker::tracker() : run_(static_cast<std::uint32_t>(std::random_device{}())) {}

std::uint32_t tracker::add_stream(std::uint32_t writer, std::uint32_t devices) {
    streams_.push_back({writer, devices, 0});
    return static_cast<std::uint32_t>(streams_.size() - 1);
}

void tracker::on_ack(const payload& p, bool ok, bool duplicate, std::int64_t now) {
    if (!ok) {
        failed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    ++streams_[p.stream].acked;
    acked.fetch_add(1, std::memory_order_relaxed);
    if (duplicate) retried.fetch_add(1, std::memory_order_relaxed);
    if (p.intended_ns < measure_from_.load(std::memory_order_relaxed)) return;
    ack.record(since(p.intended_ns, now));
    ack_raw.record(since(p.sent_ns, now));
}

bool tracker::accept(reader_state& r, std::uint32_t number) {
    if (number == r.next) {
        ++r.next;
        return true;
    }
    if (number > r.next) {
        for (auto n = r.next; n < number; ++n) r.skipped.push_back(n);
        r.next = number + 1;
        return true;
    }
    auto late = std::find(r.skipped.begin(), r.skipped.end(), number);
    if (late == r.skipped.end()) {
        ++r.duplicated;
        return false;
    }
    r.skipped.erase(late);
    ++r.reordered;
    return true;
}

void tracker::on_event(std::uint32_t device, const tc::event& e, std::int64_t now) {
    const auto p = e.kind == tc::event_kind::message ? decode(e.content, run_) : std::nullopt;
    if (!p || p->stream >= streams_.size()) {
        foreign.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto& stream = streams_[p->stream];
    if (!accept(readers_[key(device, p->stream)], p->number)) return;
    if (device == stream.writer) {
        echoed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    delivered.fetch_add(1, std::memory_order_relaxed);
    if (p->number < first_numbers_.load(std::memory_order_relaxed))
        delivered_first.fetch_add(1, std::memory_order_relaxed);
    recent_e2e_.record(since(p->intended_ns, now));
    if (p->intended_ns < measure_from_.load(std::memory_order_relaxed)) return;
    e2e.record(since(p->intended_ns, now));
    e2e_raw.record(since(p->sent_ns, now));

    // Fan-out completes when the last other member device has it.
    const auto others = stream.devices - 1;
    if (others <= 1) {
        fanout.record(since(p->intended_ns, now));
        return;
    }
    auto [it, first] = fanout_.try_emplace(key(p->stream, p->number));
    if (first) it->second = {p->intended_ns, others};
    if (--it->second.remaining == 0) {
        fanout.record(since(it->second.intended_ns, now));
        fanout_.erase(it);
    }
}

histogram tracker::take_recent_e2e() { return std::exchange(recent_e2e_, histogram{}); }

std::uint64_t tracker::expected_deliveries() const noexcept {
    std::uint64_t n = 0;
    for (const auto& s : streams_) n += std::uint64_t{s.acked} * s.devices;
    return n;
}

correctness tracker::check() const {
    correctness c;
    // Per stream: what its readers have, against what was acked times its devices.
    std::vector<std::uint64_t> have(streams_.size(), 0);
    for (const auto& [k, r] : readers_) {
        have[k & 0xffffffffu] += r.next - r.skipped.size();
        c.duplicated += r.duplicated;
        c.reordered += r.reordered;
    }
    for (std::size_t s = 0; s < streams_.size(); ++s) {
        const auto want = std::uint64_t{streams_[s].acked} * streams_[s].devices;
        if (want > have[s]) c.lost += want - have[s];
    }
    return c;
}

}  // namespace tern::bench
