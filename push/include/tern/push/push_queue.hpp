// The pushes waiting for a relay (docs/notifications.md, "Push relays"): bounded, one waiting
// push per device (a newer message joins it: the push carries the newest and a count), retried
// with exponential backoff, and cancelled when the user reads what it announced elsewhere first.
// Pure logic on the time it is given: no thread, socket or clock of its own; the sender
// (relay_sender.hpp) drives it under its lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include <tern/push/push_message.hpp>

namespace tern::push {

class push_queue {
public:
    using clock = std::chrono::steady_clock;

    struct settings {
        std::size_t capacity = 10'000;  // pushes waiting or in flight, at most
        std::chrono::milliseconds first_retry{1'000};
        std::chrono::milliseconds max_retry{60'000};
        unsigned max_attempts = 6;  // then the push is given up (counted failed)
    };

    explicit push_queue(settings s) : settings_(s) {}

    enum class offered : std::uint8_t { queued, coalesced, full };
    // A push for m.to, due after `delay` (the active-device grace; 0: at once): joins the
    // device's waiting push if there is one (not one in flight; the push then goes at the earlier
    // of the two times), else waits on its own, unless the queue is full (the push is dropped:
    // counted). A push with count 0 announces nothing but the badge: joining a waiting push, it
    // changes nothing (the badge is counted when the push goes).
    offered offer(push_message m, clock::time_point now, std::chrono::milliseconds delay = {});

    struct taken {
        std::uint64_t id = 0;
        push_message message;
        unsigned attempt = 1;  // 1 the first time
    };
    // The next push due at `now`, now in flight; nullopt when none is due.
    std::optional<taken> take(clock::time_point now);
    // The outcome of a push in flight: done (delivered, refused, or its token dead), or to be
    // tried again after the backoff. False: its attempts are spent and it is given up.
    void done(std::uint64_t id);
    bool retry_later(std::uint64_t id, clock::time_point now);

    // The user read `conv` up to `up_to` on some device: what the waiting pushes of the user's
    // devices announced there up to it is dropped; a push left announcing nothing goes. Returns
    // the messages dropped. A push also announcing other conversations stays, without preview.
    std::size_t read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
                     std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to);
    // The device's token is dead: its waiting pushes go. Returns how many.
    std::size_t forget(const device_key& device);

    [[nodiscard]] std::optional<clock::time_point> next_due() const;
    [[nodiscard]] std::size_t depth() const noexcept { return entries_.size(); }

private:
    using conv_key = std::tuple<std::string, std::uint64_t, std::uint64_t>;  // type, id, peer
    struct part {
        std::uint64_t newest = 0;  // seq
        std::uint32_t count = 0;
    };
    struct entry {
        push_message message;
        std::map<conv_key, part> parts;  // what it announces, per conversation
        clock::time_point due;
        unsigned attempt = 0;  // attempts made
        bool in_flight = false;
    };
    void unqueue(std::uint64_t id, entry& e);
    std::chrono::milliseconds backoff(unsigned attempts) const;

    settings settings_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, entry> entries_;
    std::map<device_key, std::uint64_t> waiting_;                // the device's push not in flight
    std::set<std::pair<clock::time_point, std::uint64_t>> due_;  // waiting pushes by due time
};

}  // namespace tern::push
