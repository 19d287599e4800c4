// The apply rules (docs/storage.md, "Applying an entry") over RocksDB.
//
// Every entry of a batch goes into one rocksdb::WriteBatch, written once and synced per the
// durability mode. Reads during apply go overlay -> cache -> RocksDB: the overlay holds what the
// batch's earlier entries changed, the cache (write_cache.hpp) what committed batches left, and
// RocksDB everything else. After a successful write the overlay is published to the cache; after
// a failed one it is dropped, so the cache never holds state that is not on disk.
#include "rocks_store_impl.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "apply_rules.hpp"
#include "encoding.hpp"

namespace tern::storage::detail {
namespace {

void note_newest(std::map<conv_id, seq_t>& newest, const conv_id& c, seq_t seq) {
    auto& n = newest[c];
    n = std::max(n, seq);
}

class apply_batch {
public:
    apply_batch(const rocks_store& s, write_cache& cache) : store_(s), cache_(cache) {}

    entry_result apply(const append_event& e);
    entry_result apply(const ack_inbox& e);
    entry_result apply(const mark_read& e);
    entry_result apply(const log_position& e);
    entry_result apply(const set_mute& e);
    entry_result apply(const put_user_settings& e);
    entry_result apply(const ack_urgent& e);
    entry_result apply(const set_push_token& e);
    entry_result apply(const put_scheduled& e);
    entry_result apply(const remove_scheduled& e);

    void put(cf c, std::string_view key, std::string_view value) {
        check(batch_.Put(store_.handle(c), rocksdb::Slice(key.data(), key.size()),
                         rocksdb::Slice(value.data(), value.size())));
    }
    [[nodiscard]] rocksdb::WriteBatch* write_batch() { return &batch_; }

    // The first read or write failure of the batch. Once set, the batch is abandoned whole: what
    // the entries computed afterwards from default values is never written.
    [[nodiscard]] boost::system::error_code failed() const noexcept { return failed_; }

    // Makes the overlay the committed state: call only after RocksDB accepted the batch.
    void publish();

private:
    void del(cf c, const std::string& key) { check(batch_.Delete(store_.handle(c), key)); }

    void check(const rocksdb::Status& s) {
        if (!s.ok() && !failed_) failed_ = to_error(s);
    }
    void fail_corrupt() {
        if (!failed_) failed_ = make_error_code(errc::corruption);
    }

    std::optional<std::string> db_get(cf c, const std::string& key) {
        std::string value;
        const auto s = store_.db().Get(rocksdb::ReadOptions{}, store_.handle(c), key, &value);
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

    // ---- state, overlay first ---------------------------------------------------------------

    conv_state* conv(const conv_ref& ref);
    cursor_value* cursor(const member_ref& ref);
    user_inbox& user(const user_ref& ref);
    std::uint64_t& device(const user_ref& ref, user_inbox& u, device_id d);
    void note_newest_on_disk(const user_ref& ref, std::uint64_t after, std::uint64_t up_to,
                             std::map<conv_id, seq_t>& newest);

    void write_conv(const conv_ref& ref, const conv_state& state) {
        put(cf_conv_meta, conv_key(ref.tenant, ref.conv), encode_meta(state.meta));
    }
    void write_member(const conv_ref& ref, const member_record& m) {
        put(cf_members, conv_sub_key(ref.tenant, ref.conv, m.user), encode_member(m));
    }
    void write_cursor(const member_ref& ref, const cursor_value& c) {
        put(cf_receipts, conv_sub_key(ref.conv.tenant, ref.conv.conv, ref.user), encode_cursor(c));
    }
    void set_cursor(const member_ref& ref, const cursor_value& c) {
        cursors_[ref] = c;
        write_cursor(ref, c);
    }

    void apply_membership(const append_event& e, const conv_ref& ref, conv_state& state,
                          const membership_change& change);
    std::optional<std::uint64_t> ordinal_of(const conv_ref& ref, seq_t seq);
    void mark_recalled(const conv_ref& ref, seq_t seq);

    const rocks_store& store_;
    write_cache& cache_;
    rocksdb::WriteBatch batch_;
    boost::system::error_code failed_;

    // The overlay: what this batch changed. nullopt marks a record that does not exist.
    std::unordered_map<conv_ref, std::optional<conv_state>, ref_hash> convs_;
    std::unordered_map<member_ref, std::optional<cursor_value>, ref_hash> cursors_;
    // Users this batch touched, taken out of the cache (put back by publish()).
    std::unordered_map<user_ref, user_inbox, ref_hash> users_;
    std::unordered_map<member_ref, std::uint64_t, ref_hash> ordinals_;  // (conv, seq) here
    std::unordered_map<std::string, event_value> staged_events_;        // written in this batch
    std::unordered_map<std::uint32_t, std::optional<log_position>> positions_;
    // Push registrations this batch wrote (the token; empty: removed), by key.
    std::unordered_map<std::string, std::string> push_tokens_;
    // Scheduled messages this batch wrote (their release time; nullopt: removed), by key.
    std::unordered_map<std::string, std::optional<std::int64_t>> scheduled_times_;

    // The release time stored (or written by this batch) under `key`; nullopt: none.
    std::optional<std::int64_t> scheduled_time(const std::string& key, user_id sender,
                                               std::uint64_t id);
};

conv_state* apply_batch::conv(const conv_ref& ref) {
    if (auto it = convs_.find(ref); it != convs_.end()) {
        return it->second ? &*it->second : nullptr;
    }
    if (auto* cached = cache_.convs.find(ref)) {
        return &*convs_.emplace(ref, *cached).first->second;
    }
    auto meta = db_get(cf_conv_meta, conv_key(ref.tenant, ref.conv));
    if (!meta) {
        convs_.emplace(ref, std::nullopt);
        return nullptr;
    }
    conv_state state{decoded(decode_meta(ref.conv, *meta)), {}};
    const auto prefix = conv_key(ref.tenant, ref.conv);
    std::unique_ptr<rocksdb::Iterator> it(
        store_.db().NewIterator(rocksdb::ReadOptions{}, store_.handle(cf_members)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const user_id u = key_suffix64({it->key().data(), it->key().size()});
        state.members.push_back(
            decoded(decode_member(u, {it->value().data(), it->value().size()})));
    }
    check(it->status());
    cache_.convs.put(ref, state);  // committed state read from disk
    return &*convs_.emplace(ref, std::move(state)).first->second;
}

cursor_value* apply_batch::cursor(const member_ref& ref) {
    if (auto it = cursors_.find(ref); it != cursors_.end()) {
        return it->second ? &*it->second : nullptr;
    }
    if (auto* cached = cache_.cursors.find(ref)) {
        return &*cursors_.emplace(ref, *cached).first->second;
    }
    auto v = db_get(cf_receipts, conv_sub_key(ref.conv.tenant, ref.conv.conv, ref.user));
    if (!v) {
        cursors_.emplace(ref, std::nullopt);
        return nullptr;
    }
    auto value = decoded(decode_cursor(ref.user, *v));
    cache_.cursors.put(ref, value);
    return &*cursors_.emplace(ref, value).first->second;
}

// The user is moved out of the cache for the batch, so that nothing the batch loads can evict
// it; a failed batch leaves it out, and it is read again from RocksDB.
user_inbox& apply_batch::user(const user_ref& ref) {
    if (auto it = users_.find(ref); it != users_.end()) return it->second;
    if (auto cached = cache_.users.take(ref)) return users_[ref] = std::move(*cached);
    auto head_or = read_inbox_head(store_.db(), rocksdb::ReadOptions{}, store_.handle(cf_inbox),
                                   ref.tenant, ref.user);
    check(head_or.status);
    auto& u = users_[ref];
    u.head = head_or.head;
    return u;
}

std::uint64_t& apply_batch::device(const user_ref& ref, user_inbox& u, device_id d) {
    if (auto* acked = u.device(d)) return *acked;
    auto v = db_get(cf_devices, user_sub_key(ref.tenant, ref.user, d));
    return u.devices.emplace_back(d, v ? decoded(decode_u64(*v)) : 0).second;
}

// Notes the newest seq per conversation among the user's entries in (after, up_to] on disk.
void apply_batch::note_newest_on_disk(const user_ref& ref, std::uint64_t after, std::uint64_t up_to,
                                      std::map<conv_id, seq_t>& newest) {
    const auto prefix = user_key(ref.tenant, ref.user);
    std::unique_ptr<rocksdb::Iterator> it(
        store_.db().NewIterator(rocksdb::ReadOptions{}, store_.handle(cf_inbox)));
    for (it->Seek(user_sub_key(ref.tenant, ref.user, after + 1));
         it->Valid() && it->key().starts_with(prefix); it->Next()) {
        if (key_suffix64({it->key().data(), it->key().size()}) > up_to) break;
        const auto [c, seq] = decoded(decode_inbox({it->value().data(), it->value().size()}));
        note_newest(newest, c, seq);
    }
    check(it->status());
}

std::optional<std::uint64_t> apply_batch::ordinal_of(const conv_ref& ref, seq_t seq) {
    if (auto it = ordinals_.find({ref, seq}); it != ordinals_.end()) return it->second;
    auto v = db_get(cf_timeline, conv_sub_key(ref.tenant, ref.conv, seq));
    if (!v) return std::nullopt;
    return decoded(decode_event(seq, *v)).ordinal;
}

// The recalled event keeps its bytes (the store never forgets); its header says it is recalled.
void apply_batch::mark_recalled(const conv_ref& ref, seq_t seq) {
    const auto key = conv_sub_key(ref.tenant, ref.conv, seq);
    std::optional<event_value> target;
    if (auto staged = staged_events_.find(key); staged != staged_events_.end()) {
        target = staged->second;
    } else if (auto v = db_get(cf_timeline, key)) {
        target = decode_event(seq, *v);
    }
    if (!target) {
        fail_corrupt();
        return;
    }
    target->event.recalled = true;
    staged_events_[key] = *target;
    put(cf_timeline, key, encode_event(target->event, target->ordinal));
}

void apply_batch::apply_membership(const append_event& e, const conv_ref& ref, conv_state& state,
                                   const membership_change& change) {
    auto& meta = state.meta;
    const member_ref mref{ref, change.user};
    auto it = state.lower(change.user);
    const bool present = it != state.members.end() && it->user == change.user;
    if (!change.new_role) {
        if (!present) return;
        state.members.erase(it);
        del(cf_members, conv_sub_key(e.tenant, e.conv, change.user));
        del(cf_receipts, conv_sub_key(e.tenant, e.conv, change.user));
        del(cf_user_convs, user_conv_key(e.tenant, change.user, e.conv));
        cursors_[mref] = std::nullopt;
        if (meta.owner == change.user) meta.owner = 0;
        return;
    }
    if (present) {
        it->member_role = *change.new_role;
        write_member(ref, *it);
    } else {
        const member_record added{change.user, *change.new_role, e.seq, {}};
        state.members.insert(it, added);
        write_member(ref, added);
        // A new member starts with everything before its joining event read.
        set_cursor(mref, {{change.user, e.seq - 1, e.seq - 1}, meta.countable});
        put(cf_user_convs, user_conv_key(e.tenant, change.user, e.conv), {});
    }
    if (*change.new_role != role::owner && meta.owner == change.user) {
        meta.owner = 0;  // demoted without a successor: the group has no owner
    }
    if (*change.new_role == role::owner && meta.owner != change.user) {
        // One owner per group: the previous owner, if still a member, becomes an admin.
        if (auto* prev = state.find(meta.owner)) {
            prev->member_role = role::admin;
            write_member(ref, *prev);
        }
        meta.owner = change.user;
    }
}

entry_result apply_batch::apply(const append_event& e) {
    if (e.tenant == 0 || !valid_conv(e.conv)) return make_error_code(errc::invalid_entry);
    const conv_ref ref{e.tenant, e.conv};
    conv_state* state = conv(ref);
    if (failed_) return failed_;
    if (!valid_append(e, state ? state->meta.head_seq : 0)) {
        return make_error_code(errc::invalid_entry);
    }
    if (!state) {
        state = &convs_[ref].emplace(
            conv_state{conv_meta{e.conv, 0, 0, 0, 0, {}, e.server_time_ms, 0}, {}});
    }

    // Recipients: the members before the event, and after it (a removed user gets the event that
    // removed it; an added one gets the event that added it).
    // Members are kept ascending, so without a membership change they are the recipients as is.
    std::vector<user_id> recipients;
    recipients.reserve(state->members.size() + e.membership.size());
    for (const auto& m : state->members) recipients.push_back(m.user);
    if (!e.membership.empty()) {
        for (const auto& change : e.membership) apply_membership(e, ref, *state, change);
        for (const auto& m : state->members) recipients.push_back(m.user);
        std::sort(recipients.begin(), recipients.end());
        recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
    }

    auto& meta = state->meta;
    if (e.new_name) meta.name = *e.new_name;
    if (e.whole_history) meta.whole_history = *e.whole_history;
    meta.head_seq = e.seq;
    if (e.counts_unread) ++meta.countable;
    meta.last_event_ms = e.server_time_ms;
    meta.member_count = static_cast<std::uint32_t>(state->members.size());
    write_conv(ref, *state);

    const stored_event ev{e.seq,           e.sender, e.server_time_ms, e.kind,
                          e.counts_unread, false,    e.bytes};
    const auto event_key = conv_sub_key(e.tenant, e.conv, e.seq);
    put(cf_timeline, event_key, encode_event(ev, meta.countable));
    staged_events_[event_key] = {ev, meta.countable};
    if (e.recalls != 0) mark_recalled(ref, e.recalls);
    ordinals_[{ref, e.seq}] = meta.countable;
    if (!e.client_msg_id.empty()) {
        put(cf_dedup, dedup_key(e.tenant, e.sender, e.client_msg_id),
            encode_dedup({e.conv, e.seq, e.dedup_expires_ms, e.dedup_kind, e.dedup_fingerprint}));
    }
    if (e.urgent) {
        put(cf_default, urgent_key(e.tenant, e.server_time_ms, e.conv, e.seq),
            encode_u64(e.sender));
    }

    // The sender has read everything up to its own event.
    apply_outcome outcome;
    const member_ref sender_ref{ref, e.sender};
    if (auto* c = state->find(e.sender) ? cursor(sender_ref) : nullptr) {
        const seq_t previous = c->cursor.read_up_to;
        c->cursor.read_up_to = c->cursor.delivered_up_to = e.seq;
        c->read_ordinal = meta.countable;
        write_cursor(sender_ref, *c);
        outcome.cursors.push_back({e.conv, c->cursor, previous});
    }

    outcome.inbox.reserve(recipients.size());
    const auto inbox_value = encode_inbox(e.conv, e.seq);
    for (user_id u : recipients) {
        const user_ref uref{e.tenant, u};
        const std::uint64_t inbox_seq = user(uref).append(e.conv, e.seq);
        put(cf_inbox, user_sub_key_in_place(e.tenant, u, inbox_seq).view(), inbox_value);
        outcome.inbox.push_back({u, inbox_seq});
    }
    if (failed_) return failed_;
    return outcome;
}

entry_result apply_batch::apply(const ack_inbox& e) {
    if (e.tenant == 0 || e.user == 0) return make_error_code(errc::invalid_entry);
    apply_outcome outcome;
    const user_ref uref{e.tenant, e.user};
    auto& u = user(uref);
    auto& acked = device(uref, u, e.device);
    const std::uint64_t up_to = std::min(e.inbox_seq, u.head);
    if (failed_) return failed_;
    if (up_to <= acked) return outcome;

    // The newest seq per conversation among inbox entries (acked, up_to]: the cached ones (which
    // include every entry this batch appended), and before them those only on disk.
    std::map<conv_id, seq_t> newest;
    if (!u.covers_after(acked)) {
        note_newest_on_disk(uref, acked, std::min(up_to, u.first_cached() - 1), newest);
    }
    u.for_each_newest(acked, up_to,
                      [&](const conv_id& c, seq_t seq) { note_newest(newest, c, seq); });

    acked = up_to;
    u.drop_acknowledged();
    put(cf_devices, user_sub_key(e.tenant, e.user, e.device), encode_u64(up_to));
    for (const auto& [c, seq] : newest) {
        const member_ref mref{{e.tenant, c}, e.user};
        auto* cur = cursor(mref);
        if (!cur || cur->cursor.delivered_up_to >= seq) continue;
        cur->cursor.delivered_up_to = seq;
        write_cursor(mref, *cur);
        outcome.cursors.push_back({c, cur->cursor, cur->cursor.read_up_to});
    }
    if (failed_) return failed_;
    return outcome;
}

entry_result apply_batch::apply(const mark_read& e) {
    if (e.tenant == 0 || !valid_conv(e.conv)) return make_error_code(errc::invalid_entry);
    const conv_ref ref{e.tenant, e.conv};
    const member_ref mref{ref, e.user};
    const conv_state* state = conv(ref);
    cursor_value* cur = state ? cursor(mref) : nullptr;
    if (failed_) return failed_;
    if (!cur) return make_error_code(errc::invalid_entry);
    apply_outcome outcome;
    const seq_t up_to = std::min(e.up_to, state->meta.head_seq);
    if (up_to <= cur->cursor.read_up_to) return outcome;

    const auto ordinal = ordinal_of(ref, up_to);
    if (!ordinal) fail_corrupt();
    if (failed_) return failed_;
    const seq_t previous = cur->cursor.read_up_to;
    cur->read_ordinal = *ordinal;
    cur->cursor.read_up_to = up_to;
    cur->cursor.delivered_up_to = std::max(cur->cursor.delivered_up_to, up_to);
    write_cursor(mref, *cur);
    outcome.cursors.push_back({e.conv, cur->cursor, previous});
    return outcome;
}

entry_result apply_batch::apply(const log_position& e) {
    auto& stored = positions_[e.partition];
    if (!stored) {
        auto on_disk = db_get(cf_default, position_key(e.partition));
        stored = on_disk ? decoded(decode_position(e.partition, *on_disk)) : log_position{};
    }
    if (failed_) return failed_;
    if (e.sequence != stored->sequence + 1) return make_error_code(errc::invalid_entry);
    stored = e;
    put(cf_default, position_key(e.partition), encode_position(e));
    return apply_outcome{};
}

entry_result apply_batch::apply(const set_mute& e) {
    if (e.tenant == 0 || !valid_conv(e.conv) || !valid_mute(e.mute)) {
        return make_error_code(errc::invalid_entry);
    }
    const conv_ref ref{e.tenant, e.conv};
    conv_state* state = conv(ref);
    if (failed_) return failed_;
    auto* member = state ? state->find(e.user) : nullptr;
    if (!member) return make_error_code(errc::invalid_entry);
    member->mute = e.mute;
    write_member(ref, *member);
    return apply_outcome{};
}

entry_result apply_batch::apply(const ack_urgent& e) {
    if (e.tenant == 0 || !valid_conv(e.conv) || e.seq == 0) {
        return make_error_code(errc::invalid_entry);
    }
    const conv_ref ref{e.tenant, e.conv};
    conv_state* state = conv(ref);
    if (failed_) return failed_;
    // A timeline has no gaps: seq names an event when it is at most the head.
    if (!state || e.seq > state->meta.head_seq || !state->find(e.user)) {
        return make_error_code(errc::invalid_entry);
    }
    put(cf_default, urgent_ack_key(e.tenant, e.conv, e.seq, e.user),
        encode_u64(static_cast<std::uint64_t>(e.at_ms)));
    return apply_outcome{};
}

entry_result apply_batch::apply(const set_push_token& e) {
    if (!valid_push(e)) return make_error_code(errc::invalid_entry);
    const auto key = push_key(e.tenant, e.user, e.device);
    if (!e.only_if_token.empty()) {
        std::string stored;
        if (auto it = push_tokens_.find(key); it != push_tokens_.end()) {
            stored = it->second;
        } else if (auto v = db_get(cf_default, key)) {
            stored = decoded(decode_push(e.device, *v)).token;
        }
        if (failed_) return failed_;
        if (stored != e.only_if_token) return apply_outcome{};  // replaced since: it stays
    }
    if (e.registration.token.empty()) {
        del(cf_default, key);
    } else {
        put(cf_default, key, encode_push(e.registration));
    }
    push_tokens_[key] = e.registration.token;
    return apply_outcome{};
}

std::optional<std::int64_t> apply_batch::scheduled_time(const std::string& key, user_id sender,
                                                        std::uint64_t id) {
    if (const auto it = scheduled_times_.find(key); it != scheduled_times_.end()) return it->second;
    const auto v = db_get(cf_default, key);
    if (!v) return std::nullopt;
    return decoded(decode_scheduled(sender, id, *v)).release_at_ms;
}

entry_result apply_batch::apply(const put_scheduled& e) {
    if (!valid_scheduled(e)) return make_error_code(errc::invalid_entry);
    const auto& m = e.message;
    const auto key = scheduled_key(e.tenant, m.sender, m.id);
    if (const auto before = scheduled_time(key, m.sender, m.id)) {
        del(cf_default, scheduled_due_key({*before, e.tenant, m.sender, m.id}));
    }
    if (failed_) return failed_;
    put(cf_default, key, encode_scheduled(m));
    put(cf_default, scheduled_due_key({m.release_at_ms, e.tenant, m.sender, m.id}), {});
    scheduled_times_[key] = m.release_at_ms;
    return apply_outcome{};
}

entry_result apply_batch::apply(const remove_scheduled& e) {
    if (e.tenant == 0) return make_error_code(errc::invalid_entry);
    const auto key = scheduled_key(e.tenant, e.sender, e.id);
    const auto before = scheduled_time(key, e.sender, e.id);
    if (failed_) return failed_;
    if (!before) return apply_outcome{};
    del(cf_default, key);
    del(cf_default, scheduled_due_key({*before, e.tenant, e.sender, e.id}));
    scheduled_times_[key] = std::nullopt;
    return apply_outcome{};
}

entry_result apply_batch::apply(const put_user_settings& e) {
    if (e.tenant == 0 || e.settings.size() > max_settings_bytes) {
        return make_error_code(errc::invalid_entry);
    }
    if (e.settings.empty()) {
        del(cf_default, settings_key(e.tenant, e.user));
    } else {
        put(cf_default, settings_key(e.tenant, e.user), e.settings);
    }
    return apply_outcome{};
}

void apply_batch::publish() {
    for (auto& [ref, state] : convs_) {
        if (state) {
            cache_.convs.put(ref, std::move(*state));
        } else {
            cache_.convs.erase(ref);
        }
    }
    for (auto& [ref, value] : cursors_) {
        if (value) {
            cache_.cursors.put(ref, *value);
        } else {
            cache_.cursors.erase(ref);
        }
    }
    for (auto& [ref, u] : users_) {
        u.keep_newest();
        cache_.users.put(ref, std::move(u));
    }
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
    auto out = write(entries, mode);
    if (out) make_visible(take_snapshot());
    return out;
}

result<store::staged> rocks_store::stage(std::span<const log_entry> entries) {
    auto out = write(entries, durability::os);
    if (!out) return out.error();
    // The snapshot is taken by the writer thread right after the write, so it holds this batch
    // and nothing staged later.
    return staged{std::move(*out), take_snapshot()};
}

result<void> rocks_store::publish(const staged_token& token, bool sync) {
    if (sync_failed_) return make_error_code(errc::io_error);
    const auto s = sync ? db_->SyncWAL() : rocksdb::Status::OK();
    if (!s.ok()) {
        // The batch is written but not durable, and later batches were applied on top of it.
        // Like a database after a failed fsync, the store stops taking writes; a restart
        // recovers exactly what reached the disk.
        sync_failed_ = true;
        return to_error(s);
    }
    make_visible(std::static_pointer_cast<const rocksdb::Snapshot>(token));
    return {};
}

result<std::vector<entry_result>> rocks_store::write(std::span<const log_entry> entries,
                                                     durability mode) {
    std::vector<entry_result> out;
    if (entries.empty()) return out;
    if (sync_failed_) return make_error_code(errc::io_error);
    if (needs_resume_) {
        // A failed write puts RocksDB in read-only mode; once the cause is gone (space freed),
        // Resume() lets writes through again without a restart.
        // Busy means RocksDB's own recovery is under way: try the write, which fails again
        // until that recovery is done.
        const auto s = db_->Resume();
        if (!s.ok() && !s.IsBusy()) return to_error(s);
        needs_resume_ = false;
    }
    out.reserve(entries.size());
    apply_batch batch(*this, cache_);
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
    batch.publish();
    applied_ += entries.size();
    return out;
}

}  // namespace tern::storage::detail
