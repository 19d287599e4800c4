// The client's inbox, as a state machine with no I/O, timers or threads: which pushes go to the
// app (in inbox order, never a gap, never a repeat), when to ask the server for what is missing,
// and when to acknowledge. The client (client_impl.cpp) does what it decides: it sends the
// SyncRequests and Acks, posts events to the app, and stores the cursor.
//
// - cursor(): the newest inbox_seq handed to the app's queue. A push that follows it is handed
//   over; an older one is dropped; a newer one is held while a sync fills the gap (held pushes
//   are bounded: past the bound they are dropped and the sync reads them from the store).
// - A sync page is the store's truth: its entries follow the cursor (an entry without an event
//   was deleted and only moves the cursor).
// - The app sees each (conversation, seq) once: an event the app already had (the server's data
//   was reset behind the cursor, and it resent) moves the cursor but is not handed over as new.
// - app_done(): what the app's callbacks have returned. The cumulative Ack follows it, once per
//   position per connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>

#include "tern/v1/messaging.pb.h"

namespace tern::client::detail {

class inbox {
public:
    static constexpr std::size_t default_max_held = 10'000;

    explicit inbox(std::uint64_t cursor, std::size_t max_held = default_max_held)
        : cursor_(cursor), app_done_(cursor), max_held_(max_held) {}

    // ---- receiving: `hand(const v1::Push&, bool fresh)` gets each entry that now follows the
    // cursor, in order; `fresh` is false for an event the app already had. A true return asks
    // the client to send SyncRequest{after_inbox_seq: cursor()}.

    // A live push.
    template <class Hand>
    [[nodiscard]] bool on_push(v1::Push& push, Hand&& hand) {
        const auto seq = push.inbox_seq();
        if (seq <= cursor_) return false;  // seen already (a catch-up overlapping a live push)
        if (seq == cursor_ + 1 && !syncing_) {
            deliver(push, hand);
            return false;
        }
        // A gap: pull the missing entries, and keep what arrives meanwhile.
        if (held_.size() < max_held_) held_.emplace(seq, std::move(push));
        return start_sync();
    }

    // The answer to the sync in flight. True: sync again (more pages, or still a gap before
    // what is held).
    template <class Hand>
    [[nodiscard]] bool on_sync_page(const v1::SyncPage& page, Hand&& hand) {
        for (const auto& push : page.events()) {
            if (push.inbox_seq() > cursor_) deliver(push, hand);
        }
        while (!held_.empty() && held_.begin()->first <= cursor_ + 1) {
            auto node = held_.extract(held_.begin());
            if (node.key() == cursor_ + 1) deliver(node.mapped(), hand);
        }
        syncing_ = false;
        if (page.has_more() && !page.events().empty()) return start_sync();
        if (!held_.empty()) return start_sync();
        return false;
    }

    // The sync in flight ended without a page (an error, a timeout): the next push or pull
    // tries again.
    void on_sync_failed() noexcept { syncing_ = false; }

    // The app asks for everything now. True: start a sync.
    [[nodiscard]] bool on_pull() noexcept { return start_sync(); }

    // The connection closed: the sync and what was held go with it (the next connection
    // resumes from the cursor), and nothing is acknowledged on the next one yet.
    void on_connection_lost() noexcept {
        syncing_ = false;
        held_.clear();
        acked_ = 0;
    }

    // The server's inbox is behind the cursor (its data was reset): follow it. The app is not
    // handed again what it had (by conversation and seq).
    void reset_to(std::uint64_t resume_from) noexcept { cursor_ = app_done_ = resume_from; }

    // ---- the app's pace, and the Ack ---------------------------------------------------------

    // The app's callbacks returned for everything up to `inbox_seq`. True when that is news
    // (the client stores it as the persistent cursor).
    [[nodiscard]] bool on_app_done(std::uint64_t inbox_seq) noexcept {
        if (inbox_seq <= app_done_) return false;
        app_done_ = inbox_seq;
        return true;
    }

    // The cumulative Ack due now, if any; it then counts as sent on this connection.
    [[nodiscard]] std::optional<std::uint64_t> take_ack() noexcept {
        if (app_done_ <= acked_) return std::nullopt;
        acked_ = app_done_;
        return acked_;
    }

    [[nodiscard]] std::uint64_t cursor() const noexcept { return cursor_; }
    [[nodiscard]] std::uint64_t app_done() const noexcept { return app_done_; }
    // Handed to the app's queue and not yet returned from its callbacks.
    [[nodiscard]] std::uint64_t backlog() const noexcept { return cursor_ - app_done_; }
    [[nodiscard]] bool syncing() const noexcept { return syncing_; }
    [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

private:
    struct conv_key {
        int type = 0;
        std::uint64_t id = 0;
        std::uint64_t peer = 0;
        friend bool operator==(const conv_key&, const conv_key&) = default;
    };
    struct conv_hash {
        std::size_t operator()(const conv_key& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.id * 0x9e3779b97f4a7c15ULL ^ k.peer) ^
                   static_cast<std::size_t>(k.type);
        }
    };

    bool start_sync() noexcept {
        if (syncing_) return false;
        syncing_ = true;
        return true;
    }

    template <class Hand>
    void deliver(const v1::Push& push, Hand& hand) {
        cursor_ = push.inbox_seq();
        bool fresh = false;
        if (push.has_event()) {
            const auto& c = push.event().conv();
            auto& last = delivered_[conv_key{c.type(), c.id(), c.peer()}];
            if (push.event().seq() > last) {
                last = push.event().seq();
                fresh = true;
            }
        }
        hand(push, fresh);
    }

    std::uint64_t cursor_;
    std::uint64_t app_done_;
    std::uint64_t acked_ = 0;  // sent in an Ack on this connection
    std::size_t max_held_;
    bool syncing_ = false;
    std::map<std::uint64_t, v1::Push> held_;  // pushes after a gap, while syncing
    // The newest seq the app had, per conversation.
    std::unordered_map<conv_key, std::uint64_t, conv_hash> delivered_;
};

}  // namespace tern::client::detail
