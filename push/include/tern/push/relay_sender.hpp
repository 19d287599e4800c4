// Posts pushes to the configured relay (docs/notifications.md, "Push relays") on a thread of its
// own, so that a relay that is slow or hangs never slows message delivery: submit() queues and
// returns; at most `concurrency` posts are open at once, each bounded by `timeout`; the queue
// (push_queue.hpp) is bounded, coalesces per device, retries with backoff and drops what a read
// made moot. Outcomes are counted through the observer (metrics) and dead tokens reported so
// that their registration goes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <tern/push/push_message.hpp>
#include <tern/push/push_queue.hpp>
#include <tern/push/relay_format.hpp>

namespace tern::push {

struct relay_settings {
    std::string url;  // http:// or https:// host[:port] /path (the Matrix path for matrix)
    contract kind = contract::webhook;
    std::string secret;  // the webhook's HMAC key
    std::chrono::milliseconds timeout{5'000};
    std::size_t concurrency = 4;
    push_queue::settings queue;
};

// What happened to pushes, for metrics: one call per push (or per message, for `cancelled`).
enum class outcome : std::uint8_t {
    sent,       // the relay took it
    coalesced,  // joined the device's waiting push
    cancelled,  // read on another device before it went
    failed,     // refused by the relay, or given up after its retries
    dropped,    // the queue was full
    retried,    // the relay could not take it now: asked again later
    token_invalid,
};
[[nodiscard]] const char* to_string(outcome o) noexcept;

struct relay_observer {
    std::function<void(outcome, std::size_t n)> counted;
    // The device's `token` is dead (its registration should go); on the sender's thread.
    std::function<void(const device_key&, const std::string& token)> token_invalid;
    // The user's badge (total unread) as it is when a push goes, on the sender's thread; unset,
    // or nullopt (it could not be counted), keeps the badge the push was submitted with.
    std::function<std::optional<std::uint32_t>(const device_key&)> badge;
};

class relay_sender {
public:
    // Throws std::invalid_argument for a URL it cannot use (docs: the relay's URL).
    relay_sender(relay_settings settings, relay_observer observer);
    ~relay_sender();  // stops: what is still queued is not sent
    relay_sender(const relay_sender&) = delete;
    relay_sender& operator=(const relay_sender&) = delete;

    // Any thread; never waits on the network. `delay`: push_queue::offer.
    void submit(push_message m, std::chrono::milliseconds delay = {});
    // Any thread: the user read `conv` up to `up_to` somewhere (push_queue::read).
    void read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
              std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to);
    [[nodiscard]] std::size_t depth() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace tern::push
