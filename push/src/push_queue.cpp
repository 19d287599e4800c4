#include <tern/push/push_queue.hpp>

#include <algorithm>

namespace tern::push {

push_queue::offered push_queue::offer(push_message m, clock::time_point now,
                                      std::chrono::milliseconds delay) {
    const conv_key conv{m.conv_type, m.conv_id, m.conv_peer};
    const auto due = now + delay;
    if (const auto w = waiting_.find(m.to); w != waiting_.end()) {
        auto& e = entries_.at(w->second);
        if (m.count == 0) return offered::coalesced;  // the badge: counted when it goes
        if (due < e.due) {
            due_.erase({e.due, w->second});
            e.due = due;
            due_.emplace(due, w->second);
        }
        auto& p = e.parts[conv];
        p.newest = std::max(p.newest, m.seq);
        p.count += m.count;
        const auto count = e.message.count + m.count;
        const bool urgent = e.message.urgent || m.urgent;
        const bool alert = e.message.alert || m.alert;
        auto digest = m.digest ? m.digest : e.message.digest;  // a digest stays one
        e.message = std::move(m);  // the newest message, the latest badge
        e.message.count = count;
        e.message.urgent = urgent;
        e.message.alert = alert;
        e.message.digest = digest;
        return offered::coalesced;
    }
    if (entries_.size() >= settings_.capacity) return offered::full;
    const auto id = next_id_++;
    entry e;
    e.parts[conv] = {m.seq, m.count};
    e.message = std::move(m);
    e.due = due;
    waiting_.emplace(e.message.to, id);
    due_.emplace(due, id);
    entries_.emplace(id, std::move(e));
    return offered::queued;
}

std::optional<push_queue::taken> push_queue::take(clock::time_point now) {
    if (due_.empty() || due_.begin()->first > now) return std::nullopt;
    const auto id = due_.begin()->second;
    due_.erase(due_.begin());
    auto& e = entries_.at(id);
    waiting_.erase(e.message.to);
    e.in_flight = true;
    ++e.attempt;
    return taken{id, e.message, e.attempt};
}

void push_queue::done(std::uint64_t id) { entries_.erase(id); }

std::chrono::milliseconds push_queue::backoff(unsigned attempts) const {
    auto wait = settings_.first_retry;
    for (unsigned i = 1; i < attempts && wait < settings_.max_retry; ++i) wait *= 2;
    return std::min(wait, settings_.max_retry);
}

bool push_queue::retry_later(std::uint64_t id, clock::time_point now) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    auto& e = it->second;
    if (e.attempt >= settings_.max_attempts) {
        entries_.erase(it);
        return false;
    }
    e.in_flight = false;
    if (const auto w = waiting_.find(e.message.to); w != waiting_.end()) {
        // A newer push for the device waits already: it carries this one's messages too.
        auto& newer = entries_.at(w->second);
        for (const auto& [conv, p] : e.parts) {
            auto& q = newer.parts[conv];
            q.newest = std::max(q.newest, p.newest);
            q.count += p.count;
        }
        newer.message.count += e.message.count;
        newer.message.urgent = newer.message.urgent || e.message.urgent;
        newer.message.alert = newer.message.alert || e.message.alert;
        if (!newer.message.digest) newer.message.digest = e.message.digest;
        entries_.erase(it);
        return true;
    }
    e.due = now + backoff(e.attempt);
    waiting_.emplace(e.message.to, id);
    due_.emplace(e.due, id);
    return true;
}

void push_queue::unqueue(std::uint64_t id, entry& e) {
    due_.erase({e.due, id});
    waiting_.erase(e.message.to);
    entries_.erase(id);
}

std::size_t push_queue::read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
                             std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) {
    const conv_key conv{conv_type, conv_id, conv_peer};
    std::size_t dropped = 0;
    for (auto w = waiting_.lower_bound({tenant, user, 0});
         w != waiting_.end() && w->first.tenant == tenant && w->first.user == user;) {
        const auto id = (w++)->second;
        auto& e = entries_.at(id);
        const auto p = e.parts.find(conv);
        if (p == e.parts.end() || p->second.newest > up_to) continue;
        dropped += p->second.count;
        e.message.count -= std::min(e.message.count, p->second.count);
        e.message.badge -= std::min(e.message.badge, p->second.count);
        e.parts.erase(p);
        if (e.parts.empty()) {
            unqueue(id, e);
            continue;
        }
        // What is left announces other conversations: the newest of them, without the preview
        // of a message read already.
        const auto newest = std::max_element(
            e.parts.begin(), e.parts.end(),
            [](const auto& a, const auto& b) { return a.second.newest < b.second.newest; });
        std::tie(e.message.conv_type, e.message.conv_id, e.message.conv_peer) = newest->first;
        e.message.seq = newest->second.newest;
        e.message.preview.clear();
        e.message.sender = 0;
    }
    return dropped;
}

std::size_t push_queue::forget(const device_key& device) {
    const auto w = waiting_.find(device);
    if (w == waiting_.end()) return 0;
    unqueue(w->second, entries_.at(w->second));
    return 1;
}

std::optional<push_queue::clock::time_point> push_queue::next_due() const {
    if (due_.empty()) return std::nullopt;
    return due_.begin()->first;
}

}  // namespace tern::push
