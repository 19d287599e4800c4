// The apply rules (docs/storage.md, "Applying an entry") over RocksDB: every entry of a batch is
// applied into one WriteBatchWithIndex, whose reads see the entries before it in the same batch;
// the batch is written once, synced per the durability mode.
#include "rocks_store_impl.hpp"

#include <map>
#include <set>

#include <rocksdb/utilities/write_batch_with_index.h>

#include "apply_rules.hpp"
#include "encoding.hpp"

namespace tern::storage::detail {
namespace {

class apply_batch {
  public:
    explicit apply_batch(const rocks_store& s)
        : store_(s), batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

    entry_result apply(const append_event& e);
    entry_result apply(const ack_inbox& e);
    entry_result apply(const mark_read& e);

    void put(cf c, const std::string& key, const std::string& value) {
        check(batch_.Put(store_.handle(c), key, value));
    }
    [[nodiscard]] rocksdb::WriteBatch* write_batch() { return batch_.GetWriteBatch(); }

    // The first read or write failure of the batch. Once set, the batch is abandoned whole: what
    // the entries computed afterwards from default values is never written.
    [[nodiscard]] boost::system::error_code failed() const noexcept { return failed_; }

  private:
    void del(cf c, const std::string& key) { check(batch_.Delete(store_.handle(c), key)); }

    void check(const rocksdb::Status& s) {
        if (!s.ok() && !failed_) failed_ = to_error(s);
    }
    void fail_corrupt() {
        if (!failed_) failed_ = make_error_code(errc::corruption);
    }

    std::optional<std::string> get(cf c, const std::string& key) {
        std::string value;
        const auto s = batch_.GetFromBatchAndDB(&store_.db(), rocksdb::ReadOptions{},
                                                store_.handle(c), key, &value);
        if (s.IsNotFound()) return std::nullopt;
        check(s);
        if (!s.ok()) return std::nullopt;
        return value;
    }

    template <class T>
    T decoded(std::optional<T> v) {
        if (!v) {
            fail_corrupt();
            return T{};
        }
        return std::move(*v);
    }

    // Visits (key, value) of every record under `prefix`, batch and DB merged, in key order.
    template <class Fn>
    void scan(cf c, const std::string& prefix, const std::string& from, Fn&& fn) {
        std::unique_ptr<rocksdb::Iterator> it(batch_.NewIteratorWithBase(
            store_.handle(c), store_.db().NewIterator(rocksdb::ReadOptions{}, store_.handle(c))));
        for (it->Seek(from); it->Valid() && it->key().starts_with(prefix); it->Next()) {
            if (!fn(std::string_view(it->key().data(), it->key().size()),
                    std::string_view(it->value().data(), it->value().size()))) {
                break;
            }
        }
        check(it->status());
    }

    std::optional<conv_meta> load_meta(tenant_id t, const conv_id& c) {
        auto v = get(cf_conv_meta, conv_key(t, c));
        if (!v) return std::nullopt;
        return decoded(decode_meta(c, *v));
    }

    std::map<user_id, member_record> load_members(tenant_id t, const conv_id& c) {
        std::map<user_id, member_record> out;
        const auto prefix = conv_key(t, c);
        scan(cf_members, prefix, prefix, [&](std::string_view k, std::string_view v) {
            const user_id u = key_suffix64(k);
            out.emplace(u, decoded(decode_member(u, v)));
            return true;
        });
        return out;
    }

    std::optional<cursor_value> load_cursor(tenant_id t, const conv_id& c, user_id u) {
        auto v = get(cf_receipts, conv_sub_key(t, c, u));
        if (!v) return std::nullopt;
        return decoded(decode_cursor(u, *v));
    }

    std::uint64_t load_u64(cf c, const std::string& key) {
        auto v = get(c, key);
        return v ? decoded(decode_u64(*v)) : 0;
    }

    void apply_membership(const append_event& e, conv_meta& meta,
                          std::map<user_id, member_record>& members,
                          const membership_change& change);

    const rocks_store& store_;
    rocksdb::WriteBatchWithIndex batch_;
    boost::system::error_code failed_;
};

void apply_batch::apply_membership(const append_event& e, conv_meta& meta,
                                   std::map<user_id, member_record>& members,
                                   const membership_change& change) {
    const auto member_key = conv_sub_key(e.tenant, e.conv, change.user);
    if (!change.new_role) {
        if (members.erase(change.user) == 0) return;
        del(cf_members, member_key);
        del(cf_receipts, member_key);
        del(cf_user_convs, user_conv_key(e.tenant, change.user, e.conv));
        if (meta.owner == change.user) meta.owner = 0;
        return;
    }
    auto [it, added] =
        members.try_emplace(change.user, member_record{change.user, *change.new_role, e.seq});
    it->second.member_role = *change.new_role;
    put(cf_members, member_key, encode_member(it->second));
    if (added) {
        // A new member starts with everything before its joining event read.
        put(cf_receipts, member_key,
            encode_cursor({{change.user, e.seq - 1, e.seq - 1}, meta.countable}));
        put(cf_user_convs, user_conv_key(e.tenant, change.user, e.conv), {});
    }
    if (*change.new_role != role::owner && meta.owner == change.user) {
        meta.owner = 0;  // demoted without a successor: the group has no owner
    }
    if (*change.new_role == role::owner && meta.owner != change.user) {
        // One owner per group: the previous owner, if still a member, becomes an admin.
        if (auto prev = members.find(meta.owner); prev != members.end()) {
            prev->second.member_role = role::admin;
            put(cf_members, conv_sub_key(e.tenant, e.conv, meta.owner),
                encode_member(prev->second));
        }
        meta.owner = change.user;
    }
}

entry_result apply_batch::apply(const append_event& e) {
    if (e.tenant == 0 || !valid_conv(e.conv)) return make_error_code(errc::invalid_entry);
    auto existing = load_meta(e.tenant, e.conv);
    if (!valid_append(e, existing ? existing->head_seq : 0)) {
        return make_error_code(errc::invalid_entry);
    }
    conv_meta meta = existing.value_or(conv_meta{e.conv, 0, 0, 0, 0, {}, e.server_time_ms, 0});

    auto members = load_members(e.tenant, e.conv);
    std::set<user_id> recipients;
    for (const auto& [u, m] : members) recipients.insert(u);

    for (const auto& change : e.membership) apply_membership(e, meta, members, change);
    if (e.new_name) meta.name = *e.new_name;

    meta.head_seq = e.seq;
    if (e.counts_unread) ++meta.countable;
    meta.last_event_ms = e.server_time_ms;
    meta.member_count = static_cast<std::uint32_t>(members.size());
    put(cf_conv_meta, conv_key(e.tenant, e.conv), encode_meta(meta));

    const stored_event ev{e.seq, e.sender, e.server_time_ms, e.kind, e.counts_unread, e.bytes};
    put(cf_timeline, conv_sub_key(e.tenant, e.conv, e.seq), encode_event(ev, meta.countable));
    if (!e.client_msg_id.empty()) {
        put(cf_dedup, dedup_key(e.tenant, e.sender, e.client_msg_id),
            encode_dedup({e.conv, e.seq, e.dedup_expires_ms}));
    }

    // The sender has read everything up to its own event.
    if (auto cursor = load_cursor(e.tenant, e.conv, e.sender)) {
        cursor->cursor.read_up_to = cursor->cursor.delivered_up_to = e.seq;
        cursor->read_ordinal = meta.countable;
        put(cf_receipts, conv_sub_key(e.tenant, e.conv, e.sender), encode_cursor(*cursor));
    }

    for (const auto& [u, m] : members) recipients.insert(u);
    apply_outcome outcome;
    outcome.inbox.reserve(recipients.size());
    for (user_id u : recipients) {
        const auto head_key = user_key(e.tenant, u);
        const std::uint64_t inbox_seq = load_u64(cf_user_meta, head_key) + 1;
        put(cf_inbox, user_sub_key(e.tenant, u, inbox_seq), encode_inbox(e.conv, e.seq));
        put(cf_user_meta, head_key, encode_u64(inbox_seq));
        outcome.inbox.push_back({u, inbox_seq});
    }
    return outcome;
}

entry_result apply_batch::apply(const ack_inbox& e) {
    if (e.tenant == 0 || e.user == 0) return make_error_code(errc::invalid_entry);
    apply_outcome outcome;
    const auto device_key = user_sub_key(e.tenant, e.user, e.device);
    const std::uint64_t acked = load_u64(cf_devices, device_key);
    const std::uint64_t head = load_u64(cf_user_meta, user_key(e.tenant, e.user));
    const std::uint64_t up_to = std::min(e.inbox_seq, head);
    if (up_to <= acked) return outcome;

    std::map<conv_id, seq_t> newest;
    const auto prefix = user_key(e.tenant, e.user);
    scan(cf_inbox, prefix, user_sub_key(e.tenant, e.user, acked + 1),
         [&](std::string_view k, std::string_view v) {
             if (key_suffix64(k) > up_to) return false;
             const auto [c, seq] = decoded(decode_inbox(v));
             auto& n = newest[c];
             n = std::max(n, seq);
             return true;
         });
    put(cf_devices, device_key, encode_u64(up_to));
    for (const auto& [c, seq] : newest) {
        auto cursor = load_cursor(e.tenant, c, e.user);
        if (!cursor || cursor->cursor.delivered_up_to >= seq) continue;
        cursor->cursor.delivered_up_to = seq;
        put(cf_receipts, conv_sub_key(e.tenant, c, e.user), encode_cursor(*cursor));
        outcome.cursors.push_back({c, cursor->cursor});
    }
    return outcome;
}

entry_result apply_batch::apply(const mark_read& e) {
    if (e.tenant == 0 || !valid_conv(e.conv)) return make_error_code(errc::invalid_entry);
    const auto meta = load_meta(e.tenant, e.conv);
    if (!meta) return make_error_code(errc::invalid_entry);
    auto cursor = load_cursor(e.tenant, e.conv, e.user);
    if (!cursor) return make_error_code(errc::invalid_entry);
    apply_outcome outcome;
    const seq_t up_to = std::min(e.up_to, meta->head_seq);
    if (up_to <= cursor->cursor.read_up_to) return outcome;

    const auto ev = get(cf_timeline, conv_sub_key(e.tenant, e.conv, up_to));
    if (!ev) {
        fail_corrupt();
        return outcome;
    }
    cursor->read_ordinal = decoded(decode_event(up_to, *ev)).ordinal;
    cursor->cursor.read_up_to = up_to;
    cursor->cursor.delivered_up_to = std::max(cursor->cursor.delivered_up_to, up_to);
    put(cf_receipts, conv_sub_key(e.tenant, e.conv, e.user), encode_cursor(*cursor));
    outcome.cursors.push_back({e.conv, cursor->cursor});
    return outcome;
}

rocksdb::WriteOptions write_options(durability mode) {
    rocksdb::WriteOptions wo;
    wo.sync = mode == durability::fsync;
    wo.disableWAL = mode == durability::memory;
    return wo;
}

}  // namespace

result<std::vector<entry_result>> rocks_store::apply(std::span<const log_entry> entries,
                                                     durability mode) {
    std::vector<entry_result> out;
    if (entries.empty()) return out;
    if (needs_resume_) {
        // A failed write puts RocksDB in read-only mode; once the cause is gone (space freed),
        // Resume() lets writes through again without a restart.
        const auto s = db_->Resume();
        if (!s.ok()) return to_error(s);
        needs_resume_ = false;
    }
    out.reserve(entries.size());
    apply_batch batch(*this);
    for (const auto& entry : entries) {
        out.push_back(std::visit([&](const auto& e) { return batch.apply(e); }, entry));
        if (batch.failed()) return batch.failed();
    }
    batch.put(cf_default, applied_index_key, encode_u64(applied_ + entries.size()));
    if (batch.failed()) return batch.failed();
    const auto s = db_->Write(write_options(mode), batch.write_batch());
    if (!s.ok()) {
        needs_resume_ = true;
        return to_error(s);
    }
    applied_ += entries.size();
    return out;
}

}  // namespace tern::storage::detail
