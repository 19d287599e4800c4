// Log entries as storage tests and fuzz targets build them (no test framework needed).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <tern/storage/rocks_store.hpp>
#include <tern/storage/store.hpp>

namespace tern::test {

namespace st = tern::storage;

// Event times in tests start now, so that dedup records (valid for 7 days from their event) are
// not expired by the store's compaction filter while a test runs.
inline const std::int64_t base_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count();

inline st::event_bytes bytes(std::string s) {
    return std::make_shared<const std::string>(std::move(s));
}

inline st::rocks_options small_rocks_options(const std::string& path) {
    st::rocks_options o;
    o.path = path;
    o.block_cache_bytes = 4u << 20;
    o.write_buffer_bytes = 1u << 20;
    o.background_jobs = 1;
    return o;
}

// ---- entry builders -------------------------------------------------------------------------

inline st::append_event message(st::tenant_id t, st::conv_id c, st::seq_t seq, st::user_id sender,
                                const std::string& text = "hi", std::string cmid = {}) {
    st::append_event e;
    e.tenant = t;
    e.conv = c;
    e.seq = seq;
    e.sender = sender;
    e.sender_device = 1;
    e.server_time_ms = base_time_ms + static_cast<std::int64_t>(seq) * 1000;
    e.kind = st::event_kind::message;
    e.counts_unread = true;
    e.bytes = bytes(text);
    e.client_msg_id = std::move(cmid);
    e.dedup_expires_ms = e.server_time_ms + 7 * 24 * 3600 * 1000LL;
    return e;
}

// The first event of a direct conversation brings both members.
inline st::append_event first_direct(st::tenant_id t, st::user_id sender, st::user_id peer,
                                     const std::string& text = "hello") {
    auto c = st::conv_id::direct(sender, peer);
    auto e = message(t, c, 1, sender, text);
    e.membership.push_back({c.id, st::role::member});
    if (c.peer != c.id) e.membership.push_back({c.peer, st::role::member});
    return e;
}

inline st::append_event group_created(st::tenant_id t, std::uint64_t group, st::user_id owner,
                                      const std::vector<st::user_id>& others,
                                      const std::string& name = "team") {
    st::append_event e;
    e.tenant = t;
    e.conv = st::conv_id::group(group);
    e.seq = 1;
    e.sender = owner;
    e.server_time_ms = base_time_ms;
    e.kind = st::event_kind::group_created;
    e.bytes = bytes("created " + name);
    e.membership.push_back({owner, st::role::owner});
    for (auto u : others) e.membership.push_back({u, st::role::member});
    e.new_name = name;
    return e;
}

inline st::append_event membership_event(st::tenant_id t, st::conv_id c, st::seq_t seq,
                                         st::user_id sender, st::event_kind kind,
                                         std::vector<st::membership_change> changes) {
    st::append_event e;
    e.tenant = t;
    e.conv = c;
    e.seq = seq;
    e.sender = sender;
    e.server_time_ms = base_time_ms + static_cast<std::int64_t>(seq) * 1000;
    e.kind = kind;
    e.bytes = bytes("membership");
    e.membership = std::move(changes);
    return e;
}

}  // namespace tern::test
