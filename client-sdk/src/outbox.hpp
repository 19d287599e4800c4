// The client's outbox, as a state machine with no I/O, timers or threads: event-appending
// requests (sends, group operations, recalls, edits) in submission order, each sent with its
// client_msg_id on every connection until a SendAck or a final error answers it. The client
// (client_impl.cpp) sends what it says is due, stores the entries, and completes the app's
// callbacks with what it hands back.
//
// - An entry is in flight on the current connection (its req_id) or waits to be sent: on a new
//   connection every waiting entry goes at once, in order; after a retryable error an entry
//   waits its delay and is sent again with the same client_msg_id, so the server's dedup
//   answers a retry with the original outcome. The delay is the error's retry_after_ms when the
//   server named one; otherwise it doubles with each retryable error of that entry, from 100 ms
//   up to 5 s, with jitter (half to all of it), so that a cluster's owner change (seconds)
//   costs a waiting send little more than the change itself, while many clients' retries
//   spread out instead of arriving together.
// - A SendAck completes an entry; a non-retryable error fails it; so does its expiry
//   (options.send_expiry), checked only while it is not in flight.
//
// Header-only: the SDK's symbols are hidden, and its unit tests compile it themselves.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <tern/client/client.hpp>
#include <tern/client/state_store.hpp>

#include "request_fit.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::client::detail {

class outbox {
public:
    using clock = std::chrono::steady_clock;

    struct pending_send {
        outbox_entry entry;  // what the state store keeps: the id, the encoded request, expiry
        v1::Frame frame;
        callback<sent> done;
        std::uint64_t req_id = 0;       // on the current connection; 0: not sent on it
        clock::time_point retry_after;  // after a retryable error
        unsigned retries = 0;           // retryable errors so far: the backoff's exponent
    };

    static constexpr std::chrono::milliseconds first_retry{100};
    static constexpr std::chrono::milliseconds longest_retry{5000};

    // `seed` drives the retry jitter (a test passes a fixed one).
    explicit outbox(std::uint32_t seed = std::random_device{}()) : jitter_(seed) {}

    enum class outcome {
        unknown,      // no entry has that client_msg_id (answered already)
        acked,        // a SendAck: the entry is done
        retry_later,  // a retryable error: the entry waits and goes again
        failed,       // a final error: the entry is done
    };
    struct answer {
        outcome what = outcome::unknown;
        std::optional<pending_send> entry;  // acked and failed: the entry, taken out
    };

    // At the back; the entry, to send at once when connected.
    pending_send& add(pending_send e) { return entries_.emplace_back(std::move(e)); }

    // Entries not in flight whose expiry (Unix ms) has passed, taken out, in order.
    [[nodiscard]] std::vector<pending_send> take_expired(std::int64_t now_ms);
    // Entries not in flight that do not fit `limits` (request_fit.hpp), taken out with the error
    // each completes with, in order.
    [[nodiscard]] std::vector<std::pair<pending_send, error>> take_oversize(
        const server_limits& limits);

    // Entries to send now, in order: not in flight, and past their retry delay unless the
    // connection is new. The client sends each and says so with sent().
    [[nodiscard]] std::vector<pending_send*> due(bool new_connection, clock::time_point now);
    static void sent(pending_send& e, std::uint64_t req_id) noexcept { e.req_id = req_id; }

    // The server's answer to the entry `client_msg_id`, at `now`.
    [[nodiscard]] answer on_reply(const std::string& client_msg_id, const v1::Frame& reply,
                                  clock::time_point now);

    // When the earliest entry waiting out a retry delay is due; nullopt when none waits.
    [[nodiscard]] std::optional<clock::time_point> next_retry() const;

    // The connection closed: nothing is in flight any more.
    void on_connection_lost() noexcept {
        for (auto& e : entries_) e.req_id = 0;
    }

    // Everything, taken out (the client is destroyed: the state store keeps the entries).
    [[nodiscard]] std::deque<pending_send> take_all() { return std::exchange(entries_, {}); }

    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    // The delay before an entry's next attempt after its `retries`-th retryable error.
    [[nodiscard]] std::chrono::milliseconds backoff(unsigned retries);

    std::deque<pending_send> entries_;
    std::minstd_rand jitter_;
};

inline std::vector<outbox::pending_send> outbox::take_expired(std::int64_t now_ms) {
    std::vector<pending_send> expired;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->req_id == 0 && it->entry.expires_ms <= now_ms) {
            expired.push_back(std::move(*it));
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return expired;
}

inline std::vector<std::pair<outbox::pending_send, error>> outbox::take_oversize(
    const server_limits& limits) {
    std::vector<std::pair<pending_send, error>> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto refused = it->req_id == 0 ? refuse_oversize(it->frame, limits) : std::nullopt;
        if (refused) {
            out.emplace_back(std::move(*it), std::move(*refused));
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

inline std::vector<outbox::pending_send*> outbox::due(bool new_connection, clock::time_point now) {
    std::vector<pending_send*> out;
    for (auto& e : entries_) {
        if (e.req_id == 0 && (new_connection || e.retry_after <= now)) out.push_back(&e);
    }
    return out;
}

inline std::optional<outbox::clock::time_point> outbox::next_retry() const {
    std::optional<clock::time_point> out;
    for (const auto& e : entries_) {
        if (e.req_id != 0 || e.retries == 0) continue;
        if (!out || e.retry_after < *out) out = e.retry_after;
    }
    return out;
}

inline std::chrono::milliseconds outbox::backoff(unsigned retries) {
    auto ceiling = first_retry;
    for (unsigned i = 1; i < retries && ceiling < longest_retry; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, longest_retry);
    std::uniform_int_distribution<std::int64_t> pick(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds(pick(jitter_));
}

inline outbox::answer outbox::on_reply(const std::string& client_msg_id, const v1::Frame& reply,
                                       clock::time_point now) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const pending_send& e) {
        return e.entry.client_msg_id == client_msg_id;
    });
    if (it == entries_.end()) return {};
    if (reply.has_error() && reply.error().retryable()) {
        // Sent again by the sweep (or on the next connection), with the same id.
        it->req_id = 0;
        ++it->retries;
        const auto named = reply.error().retry_after_ms();
        it->retry_after =
            now + (named > 0 ? std::chrono::milliseconds(named) : backoff(it->retries));
        return {outcome::retry_later, std::nullopt};
    }
    answer a{reply.has_send_ack() ? outcome::acked : outcome::failed, std::move(*it)};
    entries_.erase(it);
    return a;
}

}  // namespace tern::client::detail
