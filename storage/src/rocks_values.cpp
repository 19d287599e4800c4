// Value codecs of the RocksDB store (docs/storage.md, "Column families and keys"). Each value
// is a format byte then fixed-width fields; a value that does not decode exactly is corruption.
#include "encoding.hpp"
#include "rocks_store_impl.hpp"

namespace tern::storage::detail {

std::string encode_meta(const conv_meta& m) {
    return value_writer{}
        .u64(m.head_seq)
        .u64(m.countable)
        .u32(m.member_count)
        .u64(m.owner)
        .i64(m.created_ms)
        .i64(m.last_event_ms)
        .str(m.name)
        .u8(m.whole_history ? 1 : 0)
        .take();
}

std::optional<conv_meta> decode_meta(const conv_id& c, std::string_view v) {
    value_reader r(v);
    conv_meta m;
    m.conv = c;
    m.head_seq = r.u64();
    m.countable = r.u64();
    m.member_count = r.u32();
    m.owner = r.u64();
    m.created_ms = r.i64();
    m.last_event_ms = r.i64();
    m.name = r.str();
    if (r.done()) return m;  // written before groups kept a history setting
    const auto flags = r.u8();
    if (!r.done() || flags > 1) return std::nullopt;
    m.whole_history = flags == 1;
    return m;
}

// A member who never muted the conversation keeps the short value (most members of a large group).
std::string encode_member(const member_record& m) {
    value_writer w;
    w.u8(static_cast<std::uint8_t>(m.member_role)).u64(m.joined_seq);
    if (m.mute != mute_setting{})
        w.u8(static_cast<std::uint8_t>(m.mute.level)).i64(m.mute.until_ms);
    return w.take();
}

std::optional<member_record> decode_member(user_id u, std::string_view v) {
    value_reader r(v);
    const auto role_byte = r.u8();
    const auto joined = r.u64();
    if (role_byte < 1 || role_byte > 3) return std::nullopt;
    member_record m{u, static_cast<role>(role_byte), joined, {}};
    if (r.done()) return m;
    const auto level = r.u8();
    m.mute.until_ms = r.i64();
    if (!r.done() || level > static_cast<std::uint8_t>(notify_level::nothing)) return std::nullopt;
    m.mute.level = static_cast<notify_level>(level);
    return m;
}

std::string encode_cursor(const cursor_value& c) {
    return value_writer{}
        .u64(c.cursor.delivered_up_to)
        .u64(c.cursor.read_up_to)
        .u64(c.read_ordinal)
        .take();
}

std::optional<cursor_value> decode_cursor(user_id u, std::string_view v) {
    value_reader r(v);
    cursor_value c;
    c.cursor.user = u;
    c.cursor.delivered_up_to = r.u64();
    c.cursor.read_up_to = r.u64();
    c.read_ordinal = r.u64();
    if (!r.done()) return std::nullopt;
    return c;
}

std::string encode_event(const stored_event& e, std::uint64_t ordinal) {
    return value_writer{}
        .u64(e.sender)
        .i64(e.server_time_ms)
        .u8(static_cast<std::uint8_t>(e.kind))
        .u8(static_cast<std::uint8_t>((e.counts_unread ? 1 : 0) | (e.recalled ? 2 : 0)))
        .u64(ordinal)
        .raw(e.bytes ? std::string_view(*e.bytes) : std::string_view{})
        .take();
}

std::optional<event_value> decode_event(seq_t seq, std::string_view v) {
    value_reader r(v);
    event_value out;
    out.event.seq = seq;
    out.event.sender = r.u64();
    out.event.server_time_ms = r.i64();
    const auto kind = r.u8();
    const auto flags = r.u8();
    out.event.counts_unread = (flags & 1) != 0;
    out.event.recalled = (flags & 2) != 0;
    out.ordinal = r.u64();
    const auto body = r.rest();
    if (!r.ok() || kind < 1 || kind > static_cast<std::uint8_t>(event_kind::history_set)) {
        return std::nullopt;
    }
    out.event.kind = static_cast<event_kind>(kind);
    out.event.bytes = std::make_shared<const std::string>(body);
    return out;
}

std::string encode_u64(std::uint64_t v) { return value_writer{}.u64(v).take(); }

std::optional<std::uint64_t> decode_u64(std::string_view v) {
    value_reader r(v);
    const auto out = r.u64();
    if (!r.done()) return std::nullopt;
    return out;
}

std::string encode_inbox(const conv_id& c, seq_t seq) {
    return value_writer{}.conv(c).u64(seq).take();
}

std::optional<std::pair<conv_id, seq_t>> decode_inbox(std::string_view v) {
    value_reader r(v);
    const auto c = r.conv();
    const auto seq = r.u64();
    if (!r.done()) return std::nullopt;
    return std::pair{c, seq};
}

std::string encode_dedup(const dedup_record& d) {
    return value_writer{}
        .conv(d.conv)
        .u64(d.seq)
        .i64(d.expires_ms)
        .u8(d.kind)
        .u64(d.fingerprint)
        .take();
}

std::optional<dedup_record> decode_dedup(std::string_view v) {
    value_reader r(v);
    dedup_record d;
    d.conv = r.conv();
    d.seq = r.u64();
    d.expires_ms = r.i64();
    if (r.done()) return d;  // written before records kept the request's kind
    d.kind = r.u8();
    d.fingerprint = r.u64();
    if (!r.done()) return std::nullopt;
    return d;
}

std::string position_key(std::uint32_t partition) {
    std::string k = "position/";
    for (int shift = 24; shift >= 0; shift -= 8) {
        k.push_back(static_cast<char>((partition >> shift) & 0xff));
    }
    return k;
}

std::string urgent_key(tenant_id t, std::int64_t time_ms, const conv_id& c, seq_t seq) {
    std::string k(urgent_prefix);
    put_be64(k, t);
    put_be64(k, static_cast<std::uint64_t>(std::max<std::int64_t>(time_ms, 0)));
    put_conv(k, c);
    put_be64(k, seq);
    return k;
}

std::string urgent_ack_key(tenant_id t, const conv_id& c, seq_t seq, std::optional<user_id> user) {
    std::string k(urgent_ack_prefix);
    put_be64(k, t);
    put_conv(k, c);
    put_be64(k, seq);
    if (user) put_be64(k, *user);
    return k;
}

std::string push_key(tenant_id t, user_id u, std::optional<device_id> d) {
    std::string k(push_prefix);
    put_be64(k, t);
    put_be64(k, u);
    if (d) put_be64(k, *d);
    return k;
}

std::string encode_push(const push_registration& r) {
    return value_writer{}.str(r.platform).str(r.token).str(r.app_id).take();
}

std::optional<push_registration> decode_push(device_id d, std::string_view v) {
    value_reader r(v);
    push_registration out;
    out.device = d;
    out.platform = r.str();
    out.token = r.str();
    out.app_id = r.str();
    if (!r.done()) return std::nullopt;
    return out;
}

std::string scheduled_key(tenant_id t, user_id sender, std::optional<std::uint64_t> id) {
    std::string k(scheduled_prefix);
    put_be64(k, t);
    put_be64(k, sender);
    if (id) put_be64(k, *id);
    return k;
}

std::string scheduled_due_key(const scheduled_ref& r) {
    std::string k(scheduled_due_prefix);
    put_be64(k, static_cast<std::uint64_t>(r.release_at_ms));
    put_be64(k, r.tenant);
    put_be64(k, r.sender);
    put_be64(k, r.id);
    return k;
}

std::optional<scheduled_ref> decode_scheduled_due_key(std::string_view key) {
    if (key.size() != scheduled_due_prefix.size() + 32 || !key.starts_with(scheduled_due_prefix)) {
        return std::nullopt;
    }
    const auto* p = key.data() + scheduled_due_prefix.size();
    return scheduled_ref{static_cast<std::int64_t>(get_be64(p)), get_be64(p + 8), get_be64(p + 16),
                         get_be64(p + 24)};
}

std::string encode_scheduled(const scheduled_message& m) {
    return value_writer{}
        .conv(m.conv)
        .i64(m.release_at_ms)
        .i64(m.created_ms)
        .str(m.client_msg_id)
        .str(m.content)
        .take();
}

std::optional<scheduled_message> decode_scheduled(user_id sender, std::uint64_t id,
                                                  std::string_view v) {
    value_reader r(v);
    scheduled_message out;
    out.sender = sender;
    out.id = id;
    out.conv = r.conv();
    out.release_at_ms = r.i64();
    out.created_ms = r.i64();
    out.client_msg_id = r.str();
    out.content = r.str();
    if (!r.done()) return std::nullopt;
    return out;
}

std::string settings_key(tenant_id t, user_id u) {
    std::string k = "settings/";
    for (const auto v : {t, u}) {
        for (int shift = 56; shift >= 0; shift -= 8)
            k.push_back(static_cast<char>((v >> shift) & 0xff));
    }
    return k;
}

std::string encode_position(const log_position& p) {
    return value_writer{}.u64(p.sequence).u64(p.digest).take();
}

std::optional<log_position> decode_position(std::uint32_t partition, std::string_view v) {
    value_reader r(v);
    log_position p{partition, r.u64(), r.u64()};
    if (!r.done()) return std::nullopt;
    return p;
}

}  // namespace tern::storage::detail
