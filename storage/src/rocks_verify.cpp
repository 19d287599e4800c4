// verify(): a full scan that checks every derived record against the timelines and membership.
// For tests, ternctl and recovery checks; it holds per-record state in memory, so its cost grows
// with the store. checkpoint(): a consistent copy for backups and for rebuilding a cluster node.
#include "rocks_store_impl.hpp"

#include <map>

#include <rocksdb/utilities/checkpoint.h>

#include "encoding.hpp"

namespace tern::storage::detail {
namespace {

// Calls fn(key, value) for every record of a column family; false from fn means "inconsistent".
template <class Fn>
result<bool> for_each(const rocks_store& s, cf c, Fn&& fn) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.total_order_seek = true;  // the dedup family's memtable is hashed by prefix
    std::unique_ptr<rocksdb::Iterator> it(s.db().NewIterator(ro, s.handle(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!fn(std::string_view(it->key().data(), it->key().size()),
                std::string_view(it->value().data(), it->value().size()))) {
            return false;
        }
    }
    if (!it->status().ok()) return {boost::system::in_place_error, to_error(it->status())};
    return true;
}

struct conv_check {
    conv_meta meta;
    seq_t next_seq = 1;
    std::uint64_t ordinal = 0;
    std::uint32_t members = 0;
    bool owner_seen = false;
};

}  // namespace

result<void> rocks_store::verify() const {
    const auto inconsistent = make_error_code(errc::inconsistent);
    std::map<std::string, conv_check> convs;     // by conv_key
    std::map<std::string, std::uint64_t> heads;  // by user_key: inbox head

    auto ok = for_each(*this, cf_conv_meta, [&](std::string_view k, std::string_view v) {
        if (k.size() != 8 + conv_bytes) return false;
        const auto c = get_conv(k.data() + 8);
        if (!c) return false;
        auto meta = decode_meta(*c, v);
        if (!meta) return false;
        convs[std::string(k)].meta = *meta;
        return true;
    });
    // The timeline of every conversation: 1..head, no gaps, ordinals counting countable events.
    if (ok && *ok) {
        ok = for_each(*this, cf_timeline, [&](std::string_view k, std::string_view v) {
            auto it = convs.find(std::string(k.substr(0, 8 + conv_bytes)));
            if (it == convs.end()) return false;
            auto& cc = it->second;
            const seq_t seq = key_suffix64(k);
            const auto ev = decode_event(seq, v);
            if (!ev || seq != cc.next_seq++) return false;
            if (ev->event.counts_unread) ++cc.ordinal;
            return ev->ordinal == cc.ordinal;
        });
    }
    std::map<std::string, bool> member_keys;  // conv|user -> seen in receipts
    if (ok && *ok) {
        ok = for_each(*this, cf_members, [&](std::string_view k, std::string_view v) {
            auto it = convs.find(std::string(k.substr(0, 8 + conv_bytes)));
            if (it == convs.end()) return false;
            const user_id u = key_suffix64(k);
            const auto m = decode_member(u, v);
            if (!m) return false;
            auto& cc = it->second;
            ++cc.members;
            const bool is_owner = m->member_role == role::owner;
            if (cc.meta.conv.type == conv_type::group && is_owner != (cc.meta.owner == u)) {
                return false;
            }
            cc.owner_seen |= is_owner;
            member_keys[std::string(k)] = false;
            return true;
        });
    }
    if (ok && *ok) {
        for (const auto& [key, cc] : convs) {
            if (cc.next_seq != cc.meta.head_seq + 1 || cc.ordinal != cc.meta.countable ||
                cc.members != cc.meta.member_count) {
                return inconsistent;
            }
        }
        ok = for_each(*this, cf_receipts, [&](std::string_view k, std::string_view v) {
            auto m = member_keys.find(std::string(k));
            if (m == member_keys.end()) return false;
            m->second = true;
            const auto cur = decode_cursor(key_suffix64(k), v);
            const auto& meta = convs.at(std::string(k.substr(0, 8 + conv_bytes))).meta;
            return cur && cur->cursor.read_up_to <= cur->cursor.delivered_up_to &&
                   cur->cursor.delivered_up_to <= meta.head_seq &&
                   cur->read_ordinal <= meta.countable;
        });
    }
    if (ok && *ok) {
        for (const auto& [key, seen] : member_keys) {
            if (!seen) return inconsistent;
        }
        // The reverse index mirrors the members exactly.
        std::size_t reverse = 0;
        ok = for_each(*this, cf_user_convs, [&](std::string_view k, std::string_view) {
            if (k.size() != 16 + conv_bytes) return false;
            const auto c = get_conv(k.data() + 16);
            if (!c) return false;
            ++reverse;
            return member_keys.contains(
                conv_sub_key(get_be64(k.data()), *c, get_be64(k.data() + 8)));
        });
        if (ok && *ok && reverse != member_keys.size()) return inconsistent;
    }
    // Every user's inbox: 1..head without gaps, each entry naming an event that exists.
    if (ok && *ok) {
        ok = for_each(*this, cf_inbox, [&](std::string_view k, std::string_view v) {
            if (k.size() != 24) return false;
            auto& head = heads[std::string(k.substr(0, 16))];
            if (key_suffix64(k) != ++head) return false;
            const auto ref = decode_inbox(v);
            if (!ref) return false;
            auto it = convs.find(conv_key(get_be64(k.data()), ref->first));
            return it != convs.end() && ref->second >= 1 && ref->second <= it->second.meta.head_seq;
        });
    }
    if (ok && *ok) {
        ok = for_each(*this, cf_devices, [&](std::string_view k, std::string_view v) {
            const auto acked = decode_u64(v);
            auto it = heads.find(std::string(k.substr(0, 16)));
            return acked && *acked <= (it == heads.end() ? 0 : it->second);
        });
    }
    if (ok && *ok) {
        ok = for_each(*this, cf_dedup, [&](std::string_view k, std::string_view v) {
            const auto rec = decode_dedup(v);
            if (!rec || k.size() < 16) return false;
            auto it = convs.find(conv_key(get_be64(k.data()), rec->conv));
            return it != convs.end() && rec->seq >= 1 && rec->seq <= it->second.meta.head_seq;
        });
    }
    if (!ok) return ok.error();
    if (!*ok) return inconsistent;
    return {};
}

result<void> rocks_store::checkpoint(const std::string& dir) const {
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    const std::unique_ptr<rocksdb::Checkpoint> maker(raw);
    // The memtables are flushed first (log_size_for_flush 0), so the copy needs no WAL replay.
    if (s.ok()) s = maker->CreateCheckpoint(dir, 0);
    if (!s.ok()) return to_error(s);
    return {};
}

}  // namespace tern::storage::detail
