#include "rocks_store_impl.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <tuple>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include "apply_rules.hpp"
#include "encoding.hpp"
#include "rocks_open.hpp"

namespace tern::storage {
namespace detail {
namespace {

// Dedup records promise duplicate detection for at least their lifetime; compactions drop them
// once expired so the column family does not grow for ever.
class dedup_expiry_filter final : public rocksdb::CompactionFilter {
public:
    bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
                std::string* /*new_value*/, bool* /*value_changed*/) const override {
        const auto rec = decode_dedup({value.data(), value.size()});
        if (!rec || rec->expires_ms == 0) return false;
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        return rec->expires_ms < now;
    }
    const char* Name() const override { return "tern.dedup_expiry"; }
};

const dedup_expiry_filter dedup_filter;

boost::system::error_code corrupt() { return make_error_code(errc::corruption); }

std::string_view as_view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// The key prefix within which inserts are ordered, for memtable insert hints; 0 for none.
std::size_t insert_hint_prefix(cf c) {
    switch (c) {
        case cf_timeline:
        case cf_conv_meta:
            return 8 + conv_bytes;
        case cf_receipts:
            return 8 + conv_bytes + 8;
        case cf_devices:
            return 24;  // tenant, user, device: the whole key, rewritten by every Ack
        case cf_inbox:
        case cf_dedup:  // tenant, sender: the SDK's client_msg_ids ascend as a device sends
            return 16;
        default:
            return 0;
    }
}

// Lowers the CPU priority of the pools flushes (HIGH) and compactions (LOW) run in. A flush or
// compaction sharing a core with the shard and the writer used to take their turns on it for
// tens of milliseconds at a time: e2e p99 at 18,000 messages/s went from about 11 to 6 ms at
// nice 19 (docs/benchmarks.md). RocksDB's write stalls remain the back-pressure when the
// background falls behind.
void lower_background_priority(rocksdb::Env& env, background_priority priority) {
    if (priority == background_priority::normal) return;
    const auto cpu = priority == background_priority::idle ? rocksdb::CpuPriority::kIdle
                                                           : rocksdb::CpuPriority::kLow;
    env.LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH, cpu);
    env.LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, cpu);
}

}  // namespace

inbox_head_read read_inbox_head(rocksdb::DB& db, const rocksdb::ReadOptions& ro,
                                rocksdb::ColumnFamilyHandle* inbox, tenant_id t, user_id u) {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro, inbox));
    return seek_inbox_head(*it, t, u);
}

inbox_head_read seek_inbox_head(rocksdb::Iterator& it, tenant_id t, user_id u) {
    it.SeekForPrev(user_sub_key(t, u, ~std::uint64_t{0}));
    if (it.Valid() && it.key().starts_with(user_key(t, u))) {
        return {key_suffix64(as_view(it.key())), it.status()};
    }
    return {0, it.status()};
}

boost::system::error_code to_error(const rocksdb::Status& s) noexcept {
    if (s.IsNoSpace()) return make_error_code(errc::no_space);
    if (s.IsCorruption()) return make_error_code(errc::corruption);
    if (s.IsShutdownInProgress()) return make_error_code(errc::closed);
    return make_error_code(errc::io_error);
}

// ---- opening ------------------------------------------------------------------------------

result<std::unique_ptr<store>> open_rocks_store(const rocks_options& options,
                                                std::shared_ptr<rocksdb::FileSystem> file_system) {
    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing;
    db_options.create_missing_column_families = true;
    db_options.max_background_jobs = options.background_jobs;
    db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    // Writes come from one thread (the commit writer) in large batches.
    db_options.enable_pipelined_write = false;
    db_options.avoid_unnecessary_blocking_io = true;

    // One writer thread: memtable inserts need no concurrency, and insert hints require that.
    db_options.allow_concurrent_memtable_write = false;

    std::unique_ptr<rocksdb::Env> env;
    if (file_system) {
        env = rocksdb::NewCompositeEnv(file_system);
        db_options.env = env.get();
    }
    lower_background_priority(*db_options.env, options.background);

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    // Indexes and filters in 4 KiB partitions under a small pinned top level. A whole-file index
    // or filter of a large SST (megabytes for the inbox family) is bigger than a shard of the
    // block cache, so it was never kept: every Seek or Get into the file read it and unpacked
    // it again (with ZSTD at the bottom level), and under sustained fan-out that took two
    // thirds of ternd (docs/benchmarks.md).
    table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
    table.partition_filters = true;
    table.metadata_block_size = 4096;
    table.pin_top_level_index_and_filter = true;
    auto table_factory =
        std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));

    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (std::size_t i = 0; i < cf_count; ++i) {
        rocksdb::ColumnFamilyOptions cf_options;
        cf_options.table_factory = table_factory;
        cf_options.write_buffer_size = options.write_buffer_bytes;
        cf_options.compression = rocksdb::kLZ4Compression;
        cf_options.bottommost_compression = rocksdb::kZSTD;
        if (i == cf_dedup) {
            cf_options.compaction_filter = &dedup_filter;
            // Every send looks up its client_msg_id, and nearly every lookup misses: a bloom
            // filter on the memtable answers most misses without a skip-list search.
            cf_options.memtable_prefix_bloom_size_ratio = 0.02;
            cf_options.memtable_whole_key_filtering = true;
            cf_options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
        }
        // Keys of these families arrive in order within a prefix (a conversation's timeline, a
        // user's inbox) or repeat (heads, cursors): a per-prefix insert hint turns most memtable
        // inserts from a skip-list search into a step (docs/benchmarks.md has the profile).
        if (const std::size_t prefix = insert_hint_prefix(static_cast<cf>(i))) {
            cf_options.memtable_insert_with_hint_prefix_extractor.reset(
                rocksdb::NewFixedPrefixTransform(prefix));
        }
        descriptors.emplace_back(cf_names[i], cf_options);
    }

    if (options.create_if_missing) {
        std::error_code ec;
        std::filesystem::create_directories(options.path, ec);
        if (ec) return make_error_code(errc::io_error);
    }

    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    const auto status = rocksdb::DB::Open(rocksdb::DBOptions(db_options), options.path, descriptors,
                                          &handles, &raw);
    if (!status.ok()) return to_error(status);
    std::unique_ptr<rocksdb::DB> db(raw);

    // Refuse data written under other apply rules; stamp a new store with ours. The records of
    // versions 1 to 3 are valid under version 4: each version only added to the one before.
    std::string format;
    const auto fs = db->Get(rocksdb::ReadOptions{}, handles[cf_default], format_key, &format);
    const auto stored_version = fs.ok() ? decode_u64(format) : std::nullopt;
    if (fs.IsNotFound() ||
        (stored_version && *stored_version >= 1 && *stored_version < log_format_version)) {
        const auto ws = db->Put(rocksdb::WriteOptions{}, handles[cf_default], format_key,
                                encode_u64(log_format_version));
        if (!ws.ok()) return to_error(ws);
    } else if (!fs.ok()) {
        return to_error(fs);
    } else if (decode_u64(format) != log_format_version) {
        for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
        return make_error_code(errc::incompatible);
    }
    return std::unique_ptr<store>(
        std::make_unique<rocks_store>(options, std::move(env), std::move(db), std::move(handles)));
}

rocks_store::rocks_store(const rocks_options& options, std::unique_ptr<rocksdb::Env> env,
                         std::unique_ptr<rocksdb::DB> db,
                         std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : env_(std::move(env)),
      db_(std::move(db)),
      handles_(std::move(handles)),
      cache_(options.cached_conversations, options.cached_users, options.cached_cursors) {
    std::string v;
    if (db_->Get(rocksdb::ReadOptions{}, handles_[cf_default], applied_index_key, &v).ok()) {
        applied_ = decode_u64(v).value_or(0);
    }
}

rocks_store::~rocks_store() {
    visible_.store(nullptr);
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
}

std::shared_ptr<const rocksdb::Snapshot> rocks_store::take_snapshot() const {
    rocksdb::DB* db = db_.get();
    return {db->GetSnapshot(), [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); }};
}

void rocks_store::make_visible(std::shared_ptr<const rocksdb::Snapshot> snapshot) {
    visible_.store(std::move(snapshot), std::memory_order_release);
}

rocks_store::read_view rocks_store::view() const {
    read_view v;
    v.snapshot = visible_.load(std::memory_order_acquire);
    v.options.snapshot = v.snapshot.get();
    return v;
}

result<void> rocks_store::sync() {
    const auto s = db_->SyncWAL();
    if (!s.ok()) return to_error(s);
    return {};
}

// ---- reads --------------------------------------------------------------------------------

result<std::optional<std::string>> rocks_store::get(const rocksdb::ReadOptions& ro, cf c,
                                                    const std::string& key) const {
    std::string value;
    const auto s = db_->Get(ro, handles_[c], key, &value);
    if (s.IsNotFound()) return std::optional<std::string>{};
    if (!s.ok()) return to_error(s);
    return std::optional<std::string>{std::move(value)};
}

namespace {

// Reads one record and decodes it: nullopt when absent, corruption when undecodable.
template <class Decode>
auto get_decoded(const result<std::optional<std::string>>& v, Decode&& decode)
    -> result<std::optional<typename decltype(decode(std::string_view{}))::value_type>> {
    using value = typename decltype(decode(std::string_view{}))::value_type;
    if (!v) return v.error();
    if (!*v) return std::optional<value>{};
    auto decoded = decode(**v);
    if (!decoded) return corrupt();
    return decoded;
}

// The same for the u64 records, whose absence means 0.
result<std::uint64_t> get_u64(const result<std::optional<std::string>>& v) {
    auto decoded = get_decoded(v, decode_u64);
    if (!decoded) return decoded.error();
    return decoded->value_or(0);
}

}  // namespace

result<std::optional<conv_meta>> rocks_store::conversation(tenant_id t, const conv_id& c) const {
    return get_decoded(get(view().options, cf_conv_meta, conv_key(t, c)),
                       [&](std::string_view v) { return decode_meta(c, v); });
}

result<std::vector<stored_event>> rocks_store::timeline(tenant_id t, const conv_id& c, seq_t from,
                                                        direction dir, std::size_t limit) const {
    std::vector<stored_event> out;
    if (limit == 0) return out;
    const std::string prefix = conv_key(t, c);
    const auto v = view();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(v.options, handles_[cf_timeline]));
    const auto in_conv = [&] {
        return it->Valid() && it->key().starts_with(rocksdb::Slice(prefix));
    };
    if (dir == direction::forward) {
        it->Seek(conv_sub_key(t, c, std::max<seq_t>(from, 1)));
    } else {
        it->SeekForPrev(conv_sub_key(t, c, from == 0 ? ~seq_t{0} : from));
    }
    for (; in_conv() && out.size() < limit; dir == direction::forward ? it->Next() : it->Prev()) {
        auto ev = decode_event(key_suffix64(as_view(it->key())), as_view(it->value()));
        if (!ev) return corrupt();
        out.push_back(std::move(ev->event));
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::vector<member_record>> rocks_store::members(tenant_id t, const conv_id& c) const {
    std::vector<member_record> out;
    const std::string prefix = conv_key(t, c);
    const auto v = view();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(v.options, handles_[cf_members]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto m = decode_member(key_suffix64(as_view(it->key())), as_view(it->value()));
        if (!m) return corrupt();
        out.push_back(*m);
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::vector<member_record>> rocks_store::members_after(tenant_id t, const conv_id& c,
                                                              user_id after,
                                                              std::size_t limit) const {
    std::vector<member_record> out;
    if (after == std::numeric_limits<user_id>::max() || limit == 0) return out;
    const std::string prefix = conv_key(t, c);
    const auto v = view();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(v.options, handles_[cf_members]));
    for (it->Seek(conv_sub_key(t, c, after + 1));
         it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
        auto m = decode_member(key_suffix64(as_view(it->key())), as_view(it->value()));
        if (!m) return corrupt();
        out.push_back(*m);
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::optional<member_record>> rocks_store::member(tenant_id t, const conv_id& c,
                                                         user_id u) const {
    return get_decoded(get(view().options, cf_members, conv_sub_key(t, c, u)),
                       [&](std::string_view v) { return decode_member(u, v); });
}

result<std::optional<receipt_cursor>> rocks_store::receipt(tenant_id t, const conv_id& c,
                                                           user_id u) const {
    return get_decoded(get(view().options, cf_receipts, conv_sub_key(t, c, u)),
                       [&](std::string_view v) -> std::optional<receipt_cursor> {
                           auto cur = decode_cursor(u, v);
                           if (!cur) return std::nullopt;
                           return cur->cursor;
                       });
}

// The whole list is the page that holds everything: one walk, one order.
result<std::vector<conv_summary>> rocks_store::conversations_of(tenant_id t, user_id u) const {
    auto page = conversation_page(t, u, std::nullopt, std::numeric_limits<std::size_t>::max());
    if (!page) return page.error();
    return std::move(page->items);
}

result<conv_summary_page> rocks_store::conversation_page(tenant_id t, user_id u,
                                                         const std::optional<conv_position>& after,
                                                         std::size_t limit) const {
    const auto snap = view();
    // First every conversation's head, to order them; then the user's own records of the page.
    std::vector<conv_meta> metas;
    const std::string prefix = user_key(t, u);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_user_convs]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const auto key = as_view(it->key());
        if (key.size() != prefix.size() + conv_bytes) return corrupt();
        const auto c = get_conv(key.data() + prefix.size());
        if (!c) return corrupt();
        auto meta_v = get(snap.options, cf_conv_meta, conv_key(t, *c));
        if (!meta_v) return meta_v.error();
        if (!*meta_v) return corrupt();
        auto meta = decode_meta(*c, **meta_v);
        if (!meta) return corrupt();
        if (!after || conv_position::before(*after, conv_position::of(*meta))) {
            metas.push_back(std::move(*meta));
        }
    }
    if (!it->status().ok()) return to_error(it->status());
    const auto by_position = [](const conv_meta& a, const conv_meta& b) {
        return conv_position::before(conv_position::of(a), conv_position::of(b));
    };
    conv_summary_page page;
    page.has_more = metas.size() > limit;
    if (page.has_more) {
        std::partial_sort(metas.begin(), metas.begin() + static_cast<std::ptrdiff_t>(limit),
                          metas.end(), by_position);
        metas.resize(limit);
    } else {
        std::sort(metas.begin(), metas.end(), by_position);
    }
    for (auto& meta : metas) {
        auto member_v = get(snap.options, cf_members, conv_sub_key(t, meta.conv, u));
        auto cursor_v = get(snap.options, cf_receipts, conv_sub_key(t, meta.conv, u));
        if (!member_v || !cursor_v) return make_error_code(errc::io_error);
        if (!*member_v || !*cursor_v) return corrupt();
        auto m = decode_member(u, **member_v);
        auto cur = decode_cursor(u, **cursor_v);
        if (!m || !cur) return corrupt();
        const auto unread = meta.countable - cur->read_ordinal;
        page.items.push_back({std::move(meta), m->member_role, cur->cursor, unread, m->mute});
    }
    return page;
}

// Members and receipts share the key layout tenant|conv|user: one walk over both, in step.
result<std::vector<member_cursor>> rocks_store::member_cursors(tenant_id t,
                                                               const conv_id& c) const {
    const auto snap = view();
    return walk_member_cursors(snap.options, t, c);
}

result<std::vector<member_cursor>> rocks_store::walk_member_cursors(
    const rocksdb::ReadOptions& options, tenant_id t, const conv_id& c) const {
    const std::string prefix = conv_key(t, c);
    std::unique_ptr<rocksdb::Iterator> mit(db_->NewIterator(options, handles_[cf_members]));
    std::unique_ptr<rocksdb::Iterator> rit(db_->NewIterator(options, handles_[cf_receipts]));
    std::vector<member_cursor> out;
    rit->Seek(prefix);
    for (mit->Seek(prefix); mit->Valid() && mit->key().starts_with(prefix); mit->Next()) {
        const user_id u = key_suffix64(as_view(mit->key()));
        const auto m = decode_member(u, as_view(mit->value()));
        if (!m) return corrupt();
        while (rit->Valid() && rit->key().compare(mit->key()) < 0) rit->Next();
        if (!rit->Valid() || rit->key() != mit->key()) return corrupt();
        const auto cur = decode_cursor(u, as_view(rit->value()));
        if (!cur) return corrupt();
        out.push_back({*m, cur->cursor});
    }
    if (!mit->status().ok()) return to_error(mit->status());
    if (!rit->status().ok()) return to_error(rit->status());
    return out;
}

result<std::optional<who_read>> rocks_store::readers(tenant_id t, const conv_id& c,
                                                     seq_t seq) const {
    const auto snap = view();
    auto ev_v = get(snap.options, cf_timeline, conv_sub_key(t, c, seq));
    if (!ev_v) return ev_v.error();
    if (!*ev_v) return std::optional<who_read>{};
    const auto ev = decode_event(seq, **ev_v);
    if (!ev) return corrupt();
    auto members = walk_member_cursors(snap.options, t, c);
    if (!members) return members.error();
    who_read out;
    for (const auto& [m, cursor] : *members) {
        if (m.user == ev->event.sender || m.joined_seq > seq) continue;
        (cursor.read_up_to >= seq ? out.read : out.unread).push_back(m.user);
    }
    return std::optional<who_read>{std::move(out)};
}

result<std::optional<urgent_roll>> rocks_store::urgent_acks(tenant_id t, const conv_id& c,
                                                            seq_t seq) const {
    const auto snap = view();
    auto ev_v = get(snap.options, cf_timeline, conv_sub_key(t, c, seq));
    if (!ev_v) return ev_v.error();
    if (!*ev_v) return std::optional<urgent_roll>{};
    const auto ev = decode_event(seq, **ev_v);
    if (!ev) return corrupt();
    auto members = walk_member_cursors(snap.options, t, c);
    if (!members) return members.error();
    // The event's acknowledgements, ascending by user like the members.
    const auto prefix = urgent_ack_key(t, c, seq, std::nullopt);
    std::vector<urgent_ack> acks;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const auto key = as_view(it->key());
        const auto at = decode_u64(as_view(it->value()));
        if (key.size() != prefix.size() + 8 || !at) return corrupt();
        acks.push_back({get_be64(key.data() + prefix.size()), static_cast<std::int64_t>(*at)});
    }
    if (!it->status().ok()) return to_error(it->status());
    urgent_roll out;
    auto ack = acks.begin();
    for (const auto& [m, cursor] : *members) {
        while (ack != acks.end() && ack->user < m.user) ++ack;
        if (m.user == ev->event.sender || m.joined_seq > seq) continue;
        if (ack != acks.end() && ack->user == m.user) {
            out.acknowledged.push_back(*ack);
        } else {
            out.awaiting.push_back(m.user);
        }
    }
    return std::optional<urgent_roll>{std::move(out)};
}

result<std::optional<std::int64_t>> rocks_store::urgent_acked(tenant_id t, const conv_id& c,
                                                              seq_t seq, user_id u) const {
    auto v = get(view().options, cf_default, urgent_ack_key(t, c, seq, u));
    if (!v) return v.error();
    if (!*v) return std::optional<std::int64_t>{};
    const auto at = decode_u64(**v);
    if (!at) return corrupt();
    return std::optional<std::int64_t>{static_cast<std::int64_t>(*at)};
}

result<std::vector<push_registration>> rocks_store::push_tokens(tenant_id t, user_id u) const {
    const auto snap = view();
    const auto prefix = push_key(t, u, std::nullopt);
    std::vector<push_registration> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const auto key = as_view(it->key());
        if (key.size() != prefix.size() + 8) return corrupt();
        auto r = decode_push(get_be64(key.data() + prefix.size()), as_view(it->value()));
        if (!r) return corrupt();
        out.push_back(std::move(*r));
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::vector<scheduled_message>> rocks_store::scheduled_of(tenant_id t,
                                                                 user_id sender) const {
    const auto snap = view();
    const auto prefix = scheduled_key(t, sender, std::nullopt);
    std::vector<scheduled_message> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const auto key = as_view(it->key());
        if (key.size() != prefix.size() + 8) return corrupt();
        auto m =
            decode_scheduled(sender, get_be64(key.data() + prefix.size()), as_view(it->value()));
        if (!m) return corrupt();
        out.push_back(std::move(*m));
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::optional<scheduled_message>> rocks_store::scheduled(tenant_id t, user_id sender,
                                                                std::uint64_t id) const {
    std::string value;
    const auto s =
        db_->Get(view().options, handles_[cf_default], scheduled_key(t, sender, id), &value);
    if (s.IsNotFound()) return std::optional<scheduled_message>{};
    if (!s.ok()) return to_error(s);
    auto m = decode_scheduled(sender, id, value);
    if (!m) return corrupt();
    return std::optional<scheduled_message>{std::move(*m)};
}

result<std::vector<scheduled_ref>> rocks_store::scheduled_due(std::int64_t up_to_ms,
                                                              std::size_t limit) const {
    const auto snap = view();
    const std::string prefix(scheduled_due_prefix);
    std::vector<scheduled_ref> out;
    if (up_to_ms < 0) return out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
         it->Next()) {
        const auto ref = decode_scheduled_due_key(as_view(it->key()));
        if (!ref) return corrupt();
        if (ref->release_at_ms > up_to_ms) break;
        out.push_back(*ref);
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::uint64_t> rocks_store::inbox_head(tenant_id t, user_id u) const {
    const auto r = read_inbox_head(*db_, view().options, handles_[cf_inbox], t, u);
    if (!r.status.ok()) return to_error(r.status);
    return r.head;
}

result<std::vector<inbox_item>> rocks_store::inbox_after(tenant_id t, user_id u,
                                                         std::uint64_t after,
                                                         std::size_t limit) const {
    const auto snap = view();
    std::vector<inbox_item> out;
    if (limit == 0 || after == ~std::uint64_t{0}) return out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_inbox]));
    it->Seek(user_sub_key(t, u, after + 1));
    if (const auto ec = read_entries(*it, user_key(t, u), limit, out)) return ec;
    if (const auto ec = join_events(snap.options, t, out)) return ec;
    return out;
}

result<inbox_page> rocks_store::inbox_page_after(tenant_id t, user_id u, std::uint64_t after,
                                                 std::size_t limit) const {
    const auto snap = view();
    inbox_page page;
    const std::string prefix = user_key(t, u);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_inbox]));
    // Positioned on `after` itself (a device's cursor is an entry it has), a page that runs out
    // of entries before the limit also tells the head: its last entry, or `after` when empty.
    // Only otherwise does the head cost a second seek.
    it->Seek(user_sub_key(t, u, after));
    const bool at_after =
        it->Valid() && it->key().starts_with(prefix) && key_suffix64(as_view(it->key())) == after;
    if (at_after) it->Next();
    if (const auto ec = read_entries(*it, prefix, limit, page.items)) return ec;
    const bool past_the_end = !it->Valid() || !it->key().starts_with(prefix);
    if (past_the_end && !page.items.empty()) {
        page.head = page.items.back().inbox_seq;
    } else if (past_the_end && (at_after || after == 0)) {
        page.head = after;
    } else {
        const auto head = seek_inbox_head(*it, t, u);
        if (!head.status.ok()) return to_error(head.status);
        page.head = head.head;
    }
    // After a head below `after` (a cursor from elsewhere), the page is empty: no entry is newer.
    page.after = std::min(after, page.head);
    if (const auto ec = join_events(snap.options, t, page.items)) return ec;
    return page;
}

boost::system::error_code rocks_store::read_entries(rocksdb::Iterator& it,
                                                    const std::string& user_prefix,
                                                    std::size_t limit,
                                                    std::vector<inbox_item>& out) const {
    for (; it.Valid() && it.key().starts_with(user_prefix) && out.size() < limit; it.Next()) {
        const auto ref = decode_inbox(as_view(it.value()));
        if (!ref) return corrupt();
        out.push_back({key_suffix64(as_view(it.key())), ref->first, ref->second, nullptr});
    }
    return it.status().ok() ? boost::system::error_code{} : to_error(it.status());
}

namespace {

// The shortest run of consecutive events of one conversation that join_events reads with an
// iterator. A Seek positions in every memtable and sorted run, where a point lookup's Bloom
// filters skip most of them; from a handful of events on, one Seek and Next()s cost less.
constexpr std::size_t min_iterated_run = 4;

// Entries of `items` ordered by conversation, then seq.
std::vector<std::size_t> by_conversation(const std::vector<inbox_item>& items) {
    std::vector<std::size_t> order(items.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(items[a].conv, items[a].seq) < std::tie(items[b].conv, items[b].seq);
    });
    return order;
}

}  // namespace

boost::system::error_code rocks_store::join_events(const rocksdb::ReadOptions& ro, tenant_id t,
                                                   std::vector<inbox_item>& items) const {
    // A device that was away mostly missed stretches of a few conversations, and a stretch is
    // contiguous in the conversation's timeline: read each such run with one Seek and Next()s,
    // and the scattered rest in one MultiGet.
    const auto order = by_conversation(items);
    std::vector<std::size_t> scattered;
    std::unique_ptr<rocksdb::Iterator> it;
    for (std::size_t begin = 0; begin < order.size();) {
        std::size_t end = begin + 1;
        while (end < order.size() && items[order[end]].conv == items[order[begin]].conv &&
               items[order[end]].seq == items[order[end - 1]].seq + 1) {
            ++end;
        }
        if (end - begin < min_iterated_run) {
            scattered.insert(scattered.end(), order.begin() + begin, order.begin() + end);
        } else {
            if (!it) it.reset(db_->NewIterator(ro, handles_[cf_timeline]));
            const std::span<const std::size_t> run(order.data() + begin, end - begin);
            if (const auto ec = read_run(*it, t, run, items)) return ec;
        }
        begin = end;
    }
    return multi_get_events(ro, t, scattered, items);
}

boost::system::error_code rocks_store::read_run(rocksdb::Iterator& it, tenant_id t,
                                                std::span<const std::size_t> run,
                                                std::vector<inbox_item>& items) const {
    const auto& first = items[run.front()];
    const std::string prefix = conv_key(t, first.conv);
    it.Seek(conv_sub_key(t, first.conv, first.seq));
    for (std::size_t i = 0; i < run.size(); ++i) {
        auto& item = items[run[i]];
        // An event no longer stored leaves a gap: its entry keeps null bytes.
        if (!it.Valid() || !it.key().starts_with(prefix) ||
            key_suffix64(as_view(it.key())) != item.seq) {
            continue;
        }
        auto ev = decode_event(item.seq, as_view(it.value()));
        if (!ev) return corrupt();
        item.bytes = std::move(ev->event.bytes);
        if (i + 1 < run.size()) it.Next();
    }
    return it.status().ok() ? boost::system::error_code{} : to_error(it.status());
}

boost::system::error_code rocks_store::multi_get_events(const rocksdb::ReadOptions& ro, tenant_id t,
                                                        std::span<const std::size_t> which,
                                                        std::vector<inbox_item>& items) const {
    if (which.empty()) return {};
    std::vector<std::string> keys;
    keys.reserve(which.size());
    for (const auto i : which) keys.push_back(conv_sub_key(t, items[i].conv, items[i].seq));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(ro, handles_[cf_timeline], keys.size(), slices.data(), values.data(),
                  statuses.data());
    for (std::size_t k = 0; k < which.size(); ++k) {
        if (statuses[k].IsNotFound()) continue;
        if (!statuses[k].ok()) return to_error(statuses[k]);
        auto& item = items[which[k]];
        auto ev = decode_event(item.seq, as_view(values[k]));
        if (!ev) return corrupt();
        item.bytes = std::move(ev->event.bytes);
    }
    return {};
}

result<std::uint64_t> rocks_store::device_cursor(tenant_id t, user_id u, device_id d) const {
    return get_u64(get(view().options, cf_devices, user_sub_key(t, u, d)));
}

result<std::optional<dedup_record>> rocks_store::find_dedup(tenant_id t, user_id sender,
                                                            std::string_view cmid) const {
    return get_decoded(get(view().options, cf_dedup, dedup_key(t, sender, cmid)), decode_dedup);
}

result<std::uint64_t> rocks_store::applied_index() const {
    return get_u64(get(view().options, cf_default, applied_index_key));
}

result<std::optional<log_position>> rocks_store::position(std::uint32_t partition) const {
    return get_decoded(get(view().options, cf_default, position_key(partition)),
                       [partition](std::string_view v) { return decode_position(partition, v); });
}

result<std::optional<std::string>> rocks_store::user_settings(tenant_id t, user_id u) const {
    return get(view().options, cf_default, settings_key(t, u));
}

result<std::vector<tenant_id>> rocks_store::policy_tenants(tenant_id after,
                                                           std::size_t limit) const {
    // A tenant's policy is its settings record of user 0, the first key of the tenant: one seek
    // per tenant that has settings at all.
    const auto snap = view();
    const std::string prefix = "settings/";
    std::vector<tenant_id> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (tenant_id next = after; next != UINT64_MAX && out.size() < limit;) {
        it->Seek(settings_key(next + 1, 0));
        if (!it->Valid() || !it->key().starts_with(prefix)) break;
        const auto key = as_view(it->key());
        if (key.size() != prefix.size() + 16) return corrupt();
        next = get_be64(key.data() + prefix.size());
        if (get_be64(key.data() + prefix.size() + 8) == tenant_policy_record) out.push_back(next);
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

result<std::vector<urgent_send>> rocks_store::urgent_sends(tenant_id t, std::int64_t from_ms,
                                                           std::size_t limit,
                                                           std::optional<user_id> sender) const {
    const auto snap = view();
    std::string prefix(urgent_prefix);
    put_be64(prefix, t);
    std::string start = prefix;
    put_be64(start, static_cast<std::uint64_t>(std::max<std::int64_t>(from_ms, 0)));
    constexpr std::size_t key_bytes = urgent_prefix.size() + 8 + 8 + conv_bytes + 8;
    std::vector<urgent_send> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snap.options, handles_[cf_default]));
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
         it->Next()) {
        const auto key = as_view(it->key());
        const auto who = decode_u64(as_view(it->value()));
        if (key.size() != key_bytes || !who) return corrupt();
        if (sender && *who != *sender) continue;
        const char* p = key.data() + prefix.size();
        const auto c = get_conv(p + 8);
        if (!c) return corrupt();
        out.push_back(
            {static_cast<std::int64_t>(get_be64(p)), *c, get_be64(p + 8 + conv_bytes), *who});
    }
    if (!it->status().ok()) return to_error(it->status());
    return out;
}

}  // namespace detail

result<std::unique_ptr<store>> open_rocks_store(const rocks_options& options) {
    return detail::open_rocks_store(options, nullptr);
}

}  // namespace tern::storage
