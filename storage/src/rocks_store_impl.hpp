// The RocksDB store's class, shared by its translation units: rocks_store.cpp (opening, reads,
// verify) and rocks_apply.cpp (the apply rules over one WriteBatchWithIndex).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/status.h>

#include <tern/storage/rocks_store.hpp>

#include "write_cache.hpp"

namespace tern::storage::detail {

// Column families, in the order they are opened (docs/storage.md describes each).
enum cf : std::size_t {
    cf_default,     // store metadata: format version, applied index
    cf_timeline,    // tenant|conv|seq           -> event header + encoded tern.v1.Event
    cf_conv_meta,   // tenant|conv               -> conv_meta
    cf_members,     // tenant|conv|user          -> role, joined_seq
    cf_user_convs,  // tenant|user|conv          -> (empty): the reverse membership index
    cf_inbox,       // tenant|user|inbox_seq     -> conv, seq
    cf_receipts,    // tenant|conv|user          -> delivered_up_to, read_up_to, read ordinal
    cf_dedup,       // tenant|user|client_msg_id -> conv, seq, expiry
    cf_devices,     // tenant|user|device        -> acknowledged inbox_seq
    cf_count,
};

inline constexpr std::array<const char*, cf_count> cf_names{"default",  "timeline",   "conv_meta",
                                                            "members",  "user_convs", "inbox",
                                                            "receipts", "dedup",      "devices"};

// Keys of cf_default.
inline constexpr const char* format_key = "format_version";
inline constexpr const char* applied_index_key = "applied_index";
// "position/" + the partition (4 bytes, big-endian) -> log_position.
[[nodiscard]] std::string position_key(std::uint32_t partition);
// "settings/" · tenant · user (big-endian): a user's notification settings.
[[nodiscard]] std::string settings_key(tenant_id t, user_id u);
// "urgent/" · tenant · time (ms) · conv · seq (big-endian) -> the sender (u64): the urgent index.
inline constexpr std::string_view urgent_prefix = "urgent/";
[[nodiscard]] std::string urgent_key(tenant_id t, std::int64_t time_ms, const conv_id& c,
                                     seq_t seq);

// "uack/" · tenant · conv · seq · user (big-endian) -> the time acknowledged (u64): ack_urgent.
inline constexpr std::string_view urgent_ack_prefix = "uack/";
// The key of one acknowledgement, or with `user` absent the prefix of all of one event's.
[[nodiscard]] std::string urgent_ack_key(tenant_id t, const conv_id& c, seq_t seq,
                                         std::optional<user_id> user);

// "push/" · tenant · user · device (big-endian) -> platform, token, app id (strings): a device's
// push registration (set_push_token).
inline constexpr std::string_view push_prefix = "push/";
[[nodiscard]] std::string push_key(tenant_id t, user_id u, std::optional<device_id> d);
[[nodiscard]] std::string encode_push(const push_registration& r);
[[nodiscard]] std::optional<push_registration> decode_push(device_id d, std::string_view v);

// "sched/" · tenant · sender · id (big-endian) -> the scheduled message (put_scheduled);
// "sdue/" · release time · tenant · sender · id (big-endian) -> empty: the release order across
// tenants (scheduled_due). Times are unix ms, never negative here (the core refuses them).
inline constexpr std::string_view scheduled_prefix = "sched/";
inline constexpr std::string_view scheduled_due_prefix = "sdue/";
[[nodiscard]] std::string scheduled_key(tenant_id t, user_id sender,
                                        std::optional<std::uint64_t> id);
[[nodiscard]] std::string scheduled_due_key(const scheduled_ref& r);
[[nodiscard]] std::optional<scheduled_ref> decode_scheduled_due_key(std::string_view key);
[[nodiscard]] std::string encode_scheduled(const scheduled_message& m);
[[nodiscard]] std::optional<scheduled_message> decode_scheduled(user_id sender, std::uint64_t id,
                                                                std::string_view v);

// The decoded value of a timeline record.
struct event_value {
    stored_event event;
    std::uint64_t ordinal = 0;
};

[[nodiscard]] boost::system::error_code to_error(const rocksdb::Status& s) noexcept;

// A user's inbox head is its last inbox key (0 when the inbox is empty): no separate record has
// to be written for every event a user receives.
struct inbox_head_read {
    std::uint64_t head = 0;
    rocksdb::Status status;
};
[[nodiscard]] inbox_head_read read_inbox_head(rocksdb::DB& db, const rocksdb::ReadOptions& ro,
                                              rocksdb::ColumnFamilyHandle* inbox, tenant_id t,
                                              user_id u);
// The same with an iterator over the inbox family (repositioned).
[[nodiscard]] inbox_head_read seek_inbox_head(rocksdb::Iterator& inbox, tenant_id t, user_id u);

// Value codecs (encoding.hpp has the primitives).
[[nodiscard]] std::string encode_meta(const conv_meta& m);
[[nodiscard]] std::optional<conv_meta> decode_meta(const conv_id& c, std::string_view v);
[[nodiscard]] std::string encode_member(const member_record& m);
[[nodiscard]] std::optional<member_record> decode_member(user_id u, std::string_view v);
[[nodiscard]] std::string encode_cursor(const cursor_value& c);
[[nodiscard]] std::optional<cursor_value> decode_cursor(user_id u, std::string_view v);
[[nodiscard]] std::string encode_event(const stored_event& e, std::uint64_t ordinal);
[[nodiscard]] std::optional<event_value> decode_event(seq_t seq, std::string_view v);
[[nodiscard]] std::string encode_u64(std::uint64_t v);
[[nodiscard]] std::optional<std::uint64_t> decode_u64(std::string_view v);
[[nodiscard]] std::string encode_inbox(const conv_id& c, seq_t seq);
[[nodiscard]] std::optional<std::pair<conv_id, seq_t>> decode_inbox(std::string_view v);
[[nodiscard]] std::string encode_dedup(const dedup_record& d);
[[nodiscard]] std::optional<dedup_record> decode_dedup(std::string_view v);
[[nodiscard]] std::string encode_position(const log_position& p);
[[nodiscard]] std::optional<log_position> decode_position(std::uint32_t partition,
                                                          std::string_view v);

class rocks_store final : public store {
public:
    rocks_store(const rocks_options& options, std::unique_ptr<rocksdb::Env> env,
                std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles);
    ~rocks_store() override;
    rocks_store(const rocks_store&) = delete;
    rocks_store& operator=(const rocks_store&) = delete;

    result<std::vector<entry_result>> apply(std::span<const log_entry> entries,
                                            durability mode) override;
    result<void> sync() override;
    result<staged> stage(std::span<const log_entry> entries) override;
    result<void> publish(const staged_token& token, bool sync) override;

    result<std::optional<conv_meta>> conversation(tenant_id, const conv_id&) const override;
    result<std::vector<stored_event>> timeline(tenant_id, const conv_id&, seq_t from, direction dir,
                                               std::size_t limit) const override;
    result<std::vector<member_record>> members(tenant_id, const conv_id&) const override;
    result<std::vector<member_record>> members_after(tenant_id, const conv_id&, user_id after,
                                                     std::size_t limit) const override;
    result<conv_summary_page> conversation_page(tenant_id, user_id,
                                                const std::optional<conv_position>& after,
                                                std::size_t limit) const override;
    result<std::optional<member_record>> member(tenant_id, const conv_id&, user_id) const override;
    result<std::vector<conv_summary>> conversations_of(tenant_id, user_id) const override;
    result<std::optional<receipt_cursor>> receipt(tenant_id, const conv_id&,
                                                  user_id) const override;
    result<std::vector<member_cursor>> member_cursors(tenant_id, const conv_id&) const override;
    result<std::optional<who_read>> readers(tenant_id, const conv_id&, seq_t) const override;
    result<std::optional<urgent_roll>> urgent_acks(tenant_id, const conv_id&, seq_t) const override;
    result<std::optional<std::int64_t>> urgent_acked(tenant_id, const conv_id&, seq_t,
                                                     user_id) const override;
    result<std::vector<push_registration>> push_tokens(tenant_id, user_id) const override;
    result<std::vector<scheduled_message>> scheduled_of(tenant_id, user_id) const override;
    result<std::optional<scheduled_message>> scheduled(tenant_id, user_id,
                                                       std::uint64_t) const override;
    result<std::vector<scheduled_ref>> scheduled_due(std::int64_t, std::size_t) const override;
    result<std::vector<tenant_id>> policy_tenants(tenant_id, std::size_t) const override;
    result<std::uint64_t> inbox_head(tenant_id, user_id) const override;
    result<std::vector<inbox_item>> inbox_after(tenant_id, user_id, std::uint64_t after,
                                                std::size_t limit) const override;
    result<inbox_page> inbox_page_after(tenant_id, user_id, std::uint64_t after,
                                        std::size_t limit) const override;
    result<std::uint64_t> device_cursor(tenant_id, user_id, device_id) const override;
    result<std::optional<dedup_record>> find_dedup(tenant_id, user_id,
                                                   std::string_view) const override;
    result<std::uint64_t> applied_index() const override;
    result<std::optional<log_position>> position(std::uint32_t partition) const override;
    result<std::optional<std::string>> user_settings(tenant_id t, user_id u) const override;
    result<std::vector<urgent_send>> urgent_sends(tenant_id t, std::int64_t from_ms,
                                                  std::size_t limit,
                                                  std::optional<user_id> sender) const override;
    result<void> verify() const override;
    result<void> checkpoint(const std::string& dir) const override;

    [[nodiscard]] rocksdb::DB& db() const noexcept { return *db_; }
    [[nodiscard]] rocksdb::ColumnFamilyHandle* handle(cf c) const noexcept { return handles_[c]; }

private:
    // Appends the entries from `it` on, up to `limit` in all, while they are the user's.
    boost::system::error_code read_entries(rocksdb::Iterator& it, const std::string& user_prefix,
                                           std::size_t limit, std::vector<inbox_item>& out) const;
    // Fills each inbox entry's event bytes (left null for an event no longer stored).
    boost::system::error_code join_events(const rocksdb::ReadOptions& ro, tenant_id,
                                          std::vector<inbox_item>& items) const;
    // Reads the events of `run` (indices into items: one conversation, consecutive seqs).
    boost::system::error_code read_run(rocksdb::Iterator& it, tenant_id,
                                       std::span<const std::size_t> run,
                                       std::vector<inbox_item>& items) const;
    boost::system::error_code multi_get_events(const rocksdb::ReadOptions& ro, tenant_id,
                                               std::span<const std::size_t> which,
                                               std::vector<inbox_item>& items) const;
    result<std::vector<member_cursor>> walk_member_cursors(const rocksdb::ReadOptions& options,
                                                           tenant_id, const conv_id&) const;

    // What readers see: the state of the last applied or published batch, as a RocksDB snapshot,
    // so that staged (written, not yet synced) batches stay invisible. Null before any write:
    // readers then see the latest state, which is what was recovered on open.
    struct read_view {
        std::shared_ptr<const rocksdb::Snapshot> snapshot;
        rocksdb::ReadOptions options;
    };
    [[nodiscard]] read_view view() const;
    [[nodiscard]] std::shared_ptr<const rocksdb::Snapshot> take_snapshot() const;
    void make_visible(std::shared_ptr<const rocksdb::Snapshot> snapshot);

    // Applies entries into one WriteBatch and writes it; readers do not see it yet.
    [[nodiscard]] result<std::vector<entry_result>> write(std::span<const log_entry> entries,
                                                          durability mode);

    // Reads one key; nullopt when absent.
    [[nodiscard]] result<std::optional<std::string>> get(const rocksdb::ReadOptions& ro, cf c,
                                                         const std::string& key) const;

    std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first, destroyed last)
    std::unique_ptr<rocksdb::DB> db_;
    std::vector<rocksdb::ColumnFamilyHandle*> handles_;
    // Owned by the writer thread (the one calling apply()).
    write_cache cache_;
    std::uint64_t applied_ = 0;
    bool needs_resume_ = false;  // a write failed: try DB::Resume() before the next one
    bool sync_failed_ = false;   // a staged batch could not be synced: see publish()

    // Published by the writer (or syncer), read by every read without a lock.
    std::atomic<std::shared_ptr<const rocksdb::Snapshot>> visible_;
};

}  // namespace tern::storage::detail
