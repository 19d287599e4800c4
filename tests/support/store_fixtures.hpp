// Helpers for storage tests: entry builders and the two store implementations behind one
// factory, so that every conformance test runs against both.
#pragma once

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <tern/storage/memory_store.hpp>
#include <tern/storage/rocks_store.hpp>

namespace tern::test {

namespace st = tern::storage;

// A directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
public:
    explicit temp_dir(const std::string& tag = "tern") {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                 std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

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

inline std::unique_ptr<st::store> open_rocks(const std::string& path) {
    auto s = st::open_rocks_store(small_rocks_options(path));
    REQUIRE(s.has_value());
    return std::move(*s);
}

// Factories for TEMPLATE_TEST_CASE: each owns the store and whatever it needs (a directory).
struct memory_factory {
    std::unique_ptr<st::store> store = st::make_memory_store();
    static constexpr bool durable = false;
    void reopen() {}
};

struct rocks_factory {
    temp_dir dir{"tern-store"};
    st::rocks_options options = small_rocks_options(dir.str());
    std::unique_ptr<st::store> store = open(options);
    static constexpr bool durable = true;

    rocks_factory() = default;
    // With writer caches of the given capacity (0 disables them), to exercise eviction.
    explicit rocks_factory(std::size_t cache_entries) {
        options.cached_conversations = options.cached_users = options.cached_cursors =
            cache_entries;
        reopen();
    }
    void reopen() {
        store.reset();
        store = open(options);
    }
    static std::unique_ptr<st::store> open(const st::rocks_options& o) {
        auto s = st::open_rocks_store(o);
        REQUIRE(s.has_value());
        return std::move(*s);
    }
};

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

// Applies entries as one batch and requires the batch to be written; returns per-entry results.
inline std::vector<st::entry_result> apply(st::store& s, std::vector<st::log_entry> entries,
                                           st::durability mode = st::durability::fsync) {
    auto r = s.apply(entries, mode);
    REQUIRE(r.has_value());
    return std::move(*r);
}

// Applies one entry and requires it to succeed.
inline st::apply_outcome apply_ok(st::store& s, st::log_entry entry) {
    auto results = apply(s, {std::move(entry)});
    REQUIRE(results.size() == 1);
    REQUIRE(results[0].has_value());
    return std::move(*results[0]);
}

}  // namespace tern::test
