#include "app/push_link.hpp"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

namespace tern::server::app {

namespace {

push::relay_settings relay_settings_of(const config& cfg) {
    const auto& p = cfg.push;
    push::relay_settings s;
    s.url = p.url;
    s.kind = p.contract == "matrix" ? push::contract::matrix : push::contract::webhook;
    s.secret = p.secret;
    s.timeout = std::chrono::milliseconds(p.timeout_ms);
    s.concurrency = p.concurrency;
    s.queue.capacity = p.queue;
    return s;
}

// The user's badge: the unread of every conversation of theirs, as the store has it now.
std::optional<std::uint32_t> badge_of(const storage::store& store, const push::device_key& to) {
    const auto conversations = store.conversations_of(to.tenant, to.user);
    if (!conversations) return std::nullopt;  // the push keeps the badge it was given
    std::uint64_t unread = 0;
    for (const auto& c : *conversations) unread += c.unread;
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(unread, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

push_link::push_link(const config& cfg, server::metrics& metrics, const storage::store& store) {
    push::relay_observer observer;
    observer.counted = [&metrics](push::outcome o, std::size_t n) {
        metrics.push_counted(push::to_string(o), n);
    };
    observer.token_invalid = [this](const push::device_key& d, const std::string& token) {
        if (forget_) forget_(d.tenant, d.user, d.device, token);
    };
    observer.badge = [&store](const push::device_key& to) { return badge_of(store, to); };
    sender_ = std::make_unique<push::relay_sender>(relay_settings_of(cfg), std::move(observer));
    spdlog::info("push relay: {} ({}), at most {} posts at once, a queue of {}", cfg.push.url,
                 cfg.push.contract, cfg.push.concurrency, cfg.push.queue);
}

void push_link::submit(push::push_message m, std::chrono::milliseconds delay) {
    if (sender_) sender_->submit(std::move(m), delay);
}

void push_link::read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
                     std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) {
    if (sender_) sender_->read(tenant, user, conv_type, conv_id, conv_peer, up_to);
}

std::size_t push_link::depth() const { return sender_ ? sender_->depth() : 0; }

void push_link::stop() { sender_.reset(); }

std::unique_ptr<push_link> push_link_of(const config& cfg, server::metrics& metrics,
                                        const storage::store& store) {
    if (cfg.push.url.empty()) return nullptr;
    return std::make_unique<push_link>(cfg, metrics, store);
}

}  // namespace tern::server::app
