// The commit writer's view of hot state: conversation metadata with members, users' inboxes
// (head, newest entries, device cursors) and receipt cursors, cached across batches so that
// applying a message or an Ack reads nothing from RocksDB in the common case (docs/benchmarks.md
// has the profiles that motivated it).
//
// The caches hold committed state only: a batch stages its changes in its own overlay and
// publishes them here after RocksDB accepted the write. Owned by the writer thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include <tern/storage/types.hpp>

#include "lru_cache.hpp"

namespace tern::storage::detail {

inline std::size_t hash_mix(std::size_t seed, std::uint64_t v) noexcept {
    return seed ^
           (std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

struct conv_ref {
    tenant_id tenant = 0;
    conv_id conv;
    friend bool operator==(const conv_ref&, const conv_ref&) = default;
};

struct user_ref {
    tenant_id tenant = 0;
    user_id user = 0;
    friend bool operator==(const user_ref&, const user_ref&) = default;
};

struct member_ref {  // a (conversation, user) pair: receipt cursors
    conv_ref conv;
    user_id user = 0;
    friend bool operator==(const member_ref&, const member_ref&) = default;
};

struct ref_hash {
    std::size_t operator()(const conv_ref& r) const noexcept {
        return hash_mix(
            hash_mix(hash_mix(r.tenant, static_cast<std::uint64_t>(r.conv.type)), r.conv.id),
            r.conv.peer);
    }
    std::size_t operator()(const user_ref& r) const noexcept {
        return hash_mix(hash_mix(0, r.tenant), r.user);
    }
    std::size_t operator()(const member_ref& r) const noexcept {
        return hash_mix((*this)(r.conv), r.user);
    }
};

// A conversation as the writer needs it: metadata and members ascending by user id.
struct conv_state {
    conv_meta meta;
    std::vector<member_record> members;

    [[nodiscard]] member_record* find(user_id u) {
        auto it = lower(u);
        return it != members.end() && it->user == u ? &*it : nullptr;
    }
    std::vector<member_record>::iterator lower(user_id u) {
        return std::lower_bound(members.begin(), members.end(), u,
                                [](const member_record& m, user_id x) { return m.user < x; });
    }
};

// The decoded value of a receipts record.
struct cursor_value {
    receipt_cursor cursor;
    std::uint64_t read_ordinal = 0;
};

// Consecutive inbox entries of one conversation with consecutive seqs: entries
// first_inbox_seq + i hold (conv, first_seq + i) for i < count. A user in a busy group gets long
// runs, so a few runs cover everything its devices have not acknowledged.
struct inbox_run {
    std::uint64_t first_inbox_seq;
    conv_id conv;
    seq_t first_seq;
    std::uint64_t count;

    [[nodiscard]] std::uint64_t last_inbox_seq() const noexcept {
        return first_inbox_seq + count - 1;
    }
    [[nodiscard]] seq_t seq_at(std::uint64_t inbox_seq) const noexcept {
        return first_seq + (inbox_seq - first_inbox_seq);
    }
    // Whether (c, s) continues the run.
    [[nodiscard]] bool continued_by(const conv_id& c, seq_t s) const noexcept {
        return conv == c && first_seq + count == s;
    }
    // Drops the run's first n entries (n < count).
    void drop_front(std::uint64_t n) noexcept {
        first_inbox_seq += n;
        first_seq += n;
        count -= n;
    }
};

// A user's inbox as the writer needs it: the head, the newest entries, and the acknowledged
// inbox_seq of the devices that acknowledged since the user was cached. A cumulative Ack moves
// delivery cursors to the newest seq per conversation among the entries it covers; when the
// device was up to date, those entries are here and the Ack reads nothing from RocksDB.
struct user_inbox {
    // The newest entries the devices may still acknowledge, as runs: every entry in
    // (first_cached() - 1, head], oldest first. Entries every cached device acknowledged are
    // dropped. While a batch is applied, runs also hold every entry the batch appended (not yet
    // on disk); between batches at most max_runs are kept, so a user whose devices are offline
    // costs a few hundred bytes however many entries its runs cover.
    static constexpr std::size_t max_runs = 8;

    std::uint64_t head = 0;
    std::vector<inbox_run> runs;
    std::vector<std::pair<device_id, std::uint64_t>> devices;  // acknowledged inbox_seq

    // The inbox_seq of the oldest cached entry (head + 1 when none is).
    [[nodiscard]] std::uint64_t first_cached() const noexcept {
        return runs.empty() ? head + 1 : runs.front().first_inbox_seq;
    }

    // Whether the runs hold every entry after `acked`.
    [[nodiscard]] bool covers_after(std::uint64_t acked) const noexcept {
        return acked + 1 >= first_cached();
    }

    // Appends the entry for (c, s) and returns its inbox_seq.
    std::uint64_t append(const conv_id& c, seq_t s) {
        ++head;
        if (!runs.empty() && runs.back().continued_by(c, s)) {
            ++runs.back().count;
        } else {
            runs.push_back({head, c, s, 1});
        }
        return head;
    }

    // Calls f(conv, seq) with the newest cached entry of each run within (after, up_to]: the
    // newest seq per conversation among them, up to repeats of a conversation.
    template <class F>
    void for_each_newest(std::uint64_t after, std::uint64_t up_to, F&& f) const {
        for (const auto& run : runs) {
            const std::uint64_t last = std::min(up_to, run.last_inbox_seq());
            if (last > after && last >= run.first_inbox_seq) f(run.conv, run.seq_at(last));
        }
    }

    // Once the batch is on disk: keeps the newest max_runs runs.
    void keep_newest() {
        if (runs.size() <= max_runs) return;
        runs.erase(runs.begin(), runs.end() - static_cast<std::ptrdiff_t>(max_runs));
    }

    // The device's acknowledged inbox_seq, or nullptr when not cached.
    [[nodiscard]] std::uint64_t* device(device_id d) noexcept {
        for (auto& [id, acked] : devices) {
            if (id == d) return &acked;
        }
        return nullptr;
    }

    // Drops the entries every cached device has acknowledged.
    void drop_acknowledged() {
        if (devices.empty() || runs.empty()) return;
        std::uint64_t all_acked = devices.front().second;
        for (const auto& [id, acked] : devices) all_acked = std::min(all_acked, acked);
        const auto first_kept = std::find_if(runs.begin(), runs.end(), [&](const inbox_run& r) {
            return r.last_inbox_seq() > all_acked;
        });
        runs.erase(runs.begin(), first_kept);
        if (!runs.empty() && runs.front().first_inbox_seq <= all_acked) {
            runs.front().drop_front(all_acked + 1 - runs.front().first_inbox_seq);
        }
    }
};

struct write_cache {
    write_cache(std::size_t conv_capacity, std::size_t user_capacity, std::size_t cursor_capacity)
        : convs(conv_capacity), users(user_capacity), cursors(cursor_capacity) {}

    lru_cache<conv_ref, conv_state, ref_hash> convs;
    lru_cache<user_ref, user_inbox, ref_hash> users;
    lru_cache<member_ref, cursor_value, ref_hash> cursors;

    void clear() {
        convs.clear();
        users.clear();
        cursors.clear();
    }
};

}  // namespace tern::storage::detail
