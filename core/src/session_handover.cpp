#include "session_handover.hpp"

#include <algorithm>

#include "keys.hpp"

namespace tern::core {

std::size_t device_key_hash::operator()(const device_key& k) const noexcept {
    return mix(mix(k.tenant, k.user), k.device);
}

void session_handover::departed(const device_key& key, std::uint64_t acked, std::int64_t now_ms) {
    auto& entry = floors_[key];
    entry.acked = std::max(entry.acked, acked);
    entry.at_ms = now_ms;
    if (floors_.size() >= sweep_at_) sweep(now_ms);
}

std::uint64_t session_handover::take_floor(const device_key& key) {
    const auto it = floors_.find(key);
    if (it == floors_.end()) return 0;
    const auto acked = it->second.acked;
    floors_.erase(it);
    return acked;
}

void session_handover::sweep(std::int64_t now_ms) {
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(floor_ttl).count();
    std::erase_if(floors_, [&](const auto& kv) { return now_ms - kv.second.at_ms > ttl; });
    sweep_at_ = std::max<std::size_t>(1024, 2 * floors_.size());
}

std::optional<waiting_admission> session_handover::park(const device_key& key,
                                                        waiting_admission w) {
    std::optional<waiting_admission> displaced;
    if (auto it = waiting_.find(key); it != waiting_.end()) {
        displaced = std::move(it->second);
        waiting_.erase(it);
        // The newcomer replaced the connection that was waiting: it waits for what that one
        // waited for, the last connection that was open.
        if (w.predecessor.same(displaced->successor)) w.predecessor = displaced->predecessor;
    }
    waiting_.emplace(key, std::move(w));
    return displaced;
}

const waiting_admission* session_handover::waiting(const device_key& key,
                                                   std::uint64_t ticket) const {
    const auto it = waiting_.find(key);
    return it != waiting_.end() && it->second.ticket == ticket ? &it->second : nullptr;
}

std::optional<waiting_admission> session_handover::release(const device_key& key,
                                                           const endpoint& ended) {
    const auto it = waiting_.find(key);
    if (it == waiting_.end() || !it->second.predecessor.same(ended)) return std::nullopt;
    auto w = std::move(it->second);
    waiting_.erase(it);
    return w;
}

std::optional<waiting_admission> session_handover::expire(const device_key& key,
                                                          std::uint64_t ticket) {
    const auto it = waiting_.find(key);
    if (it == waiting_.end() || it->second.ticket != ticket) return std::nullopt;
    auto w = std::move(it->second);
    waiting_.erase(it);
    return w;
}

std::optional<waiting_admission> session_handover::cancel(const device_key& key) {
    const auto it = waiting_.find(key);
    if (it == waiting_.end()) return std::nullopt;
    auto w = std::move(it->second);
    waiting_.erase(it);
    return w;
}

}  // namespace tern::core
