#include <tern/cluster/log_codec.hpp>

#include <stdexcept>

#include <tern/storage/stable_hash.hpp>

#include "tern/cluster/v1/log.pb.h"

namespace tern::cluster {
namespace {

namespace pb = tern::cluster::v1;
namespace st = tern::storage;

void put_conv(pb::Conv& out, const st::conv_id& c) {
    out.set_type(static_cast<std::uint32_t>(c.type));
    out.set_id(c.id);
    out.set_peer(c.peer);
}

bool get_conv(const pb::Conv& in, st::conv_id& out) {
    if (in.type() != static_cast<std::uint32_t>(st::conv_type::direct) &&
        in.type() != static_cast<std::uint32_t>(st::conv_type::group)) {
        return false;
    }
    out = {static_cast<st::conv_type>(in.type()), in.id(), in.peer()};
    return true;
}

constexpr std::uint32_t first_kind = static_cast<std::uint32_t>(st::event_kind::message);
constexpr std::uint32_t last_kind = static_cast<std::uint32_t>(st::event_kind::history_set);
constexpr std::uint32_t last_role = static_cast<std::uint32_t>(st::role::owner);

void put(pb::AppendEvent& out, const st::append_event& e) {
    out.set_tenant(e.tenant);
    put_conv(*out.mutable_conv(), e.conv);
    out.set_seq(e.seq);
    out.set_sender(e.sender);
    out.set_sender_device(e.sender_device);
    out.set_server_time_ms(e.server_time_ms);
    out.set_kind(static_cast<std::uint32_t>(e.kind));
    out.set_counts_unread(e.counts_unread);
    if (e.bytes) out.set_event(*e.bytes);
    out.set_client_msg_id(e.client_msg_id);
    out.set_dedup_expires_ms(e.dedup_expires_ms);
    out.set_dedup_kind(e.dedup_kind);
    out.set_dedup_fingerprint(e.dedup_fingerprint);
    for (const auto& m : e.membership) {
        auto& change = *out.add_membership();
        change.set_user(m.user);
        change.set_role(m.new_role ? static_cast<std::uint32_t>(*m.new_role) : 0);
    }
    if (e.new_name) out.set_new_name(*e.new_name);
    if (e.whole_history) out.set_whole_history(*e.whole_history);
    out.set_recalls(e.recalls);
    out.set_urgent(e.urgent);
}

bool get(const pb::AppendEvent& in, st::append_event& e) {
    if (!get_conv(in.conv(), e.conv)) return false;
    if (in.kind() < first_kind || in.kind() > last_kind || in.dedup_kind() > 0xff) return false;
    e.tenant = in.tenant();
    e.seq = in.seq();
    e.sender = in.sender();
    e.sender_device = in.sender_device();
    e.server_time_ms = in.server_time_ms();
    e.kind = static_cast<st::event_kind>(in.kind());
    e.counts_unread = in.counts_unread();
    e.bytes = std::make_shared<const std::string>(in.event());
    e.client_msg_id = in.client_msg_id();
    e.dedup_expires_ms = in.dedup_expires_ms();
    e.dedup_kind = static_cast<std::uint8_t>(in.dedup_kind());
    e.dedup_fingerprint = in.dedup_fingerprint();
    e.membership.reserve(static_cast<std::size_t>(in.membership_size()));
    for (const auto& m : in.membership()) {
        if (m.role() > last_role) return false;
        std::optional<st::role> role;
        if (m.role() != 0) role = static_cast<st::role>(m.role());
        e.membership.push_back({m.user(), role});
    }
    if (in.has_new_name()) e.new_name = in.new_name();
    if (in.has_whole_history()) e.whole_history = in.whole_history();
    e.recalls = in.recalls();
    e.urgent = in.urgent();
    return true;
}

// The oldest format that holds the entry, so that nodes of the previous release go on applying
// every entry they understand during a rolling upgrade.
std::uint32_t format_of(const pb::LogEntry& entry) {
    switch (entry.body_case()) {
        case pb::LogEntry::kAppend:
            return entry.append().urgent() ? 3 : 1;
        case pb::LogEntry::kMute:
        case pb::LogEntry::kUserSettings:
            return 2;
        case pb::LogEntry::kAckUrgent:
        case pb::LogEntry::kPushToken:
            return 4;
        case pb::LogEntry::kPutScheduled:
        case pb::LogEntry::kRemoveScheduled:
            return 5;
        default:
            return 1;
    }
}

std::string serialized(pb::LogEntry& entry) {
    entry.set_format(format_of(entry));
    std::string out;
    // Deterministic: the same entry gives the same bytes on every node (the digest covers them).
    {
        google::protobuf::io::StringOutputStream stream(&out);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        entry.SerializeToCodedStream(&coded);
    }
    return out;
}

boost::system::result<log_record, decode_error> decode_body(const pb::LogEntry& in) {
    switch (in.body_case()) {
        case pb::LogEntry::kGenesis:
            return log_record{genesis{in.genesis().partition(), in.genesis().partitions(),
                                      in.genesis().cluster()}};
        case pb::LogEntry::kAppend: {
            st::append_event e;
            if (!get(in.append(), e)) return decode_error::malformed;
            return log_record{st::log_entry{std::move(e)}};
        }
        case pb::LogEntry::kAck: {
            const auto& a = in.ack();
            return log_record{
                st::log_entry{st::ack_inbox{a.tenant(), a.user(), a.device(), a.inbox_seq()}}};
        }
        case pb::LogEntry::kRead: {
            const auto& r = in.read();
            st::mark_read m{r.tenant(), {}, r.user(), r.up_to()};
            if (!get_conv(r.conv(), m.conv)) return decode_error::malformed;
            return log_record{st::log_entry{m}};
        }
        case pb::LogEntry::kMute: {
            const auto& m = in.mute();
            if (m.level() > static_cast<std::uint32_t>(st::notify_level::nothing)) {
                return decode_error::malformed;
            }
            st::set_mute e{
                m.tenant(), {}, m.user(), {static_cast<st::notify_level>(m.level()), m.until_ms()}};
            if (!get_conv(m.conv(), e.conv)) return decode_error::malformed;
            return log_record{st::log_entry{e}};
        }
        case pb::LogEntry::kUserSettings: {
            const auto& u = in.user_settings();
            return log_record{
                st::log_entry{st::put_user_settings{u.tenant(), u.user(), u.settings()}}};
        }
        case pb::LogEntry::kAckUrgent: {
            const auto& a = in.ack_urgent();
            st::ack_urgent e{a.tenant(), {}, a.seq(), a.user(), a.at_ms()};
            if (!get_conv(a.conv(), e.conv)) return decode_error::malformed;
            return log_record{st::log_entry{e}};
        }
        case pb::LogEntry::kPushToken: {
            const auto& p = in.push_token();
            return log_record{
                st::log_entry{st::set_push_token{p.tenant(),
                                                 p.user(),
                                                 p.device(),
                                                 {p.device(), p.platform(), p.token(), p.app_id()},
                                                 p.only_if_token()}}};
        }
        case pb::LogEntry::kPutScheduled: {
            const auto& p = in.put_scheduled();
            st::put_scheduled e;
            e.tenant = p.tenant();
            e.message = {p.sender(),        p.id(),        {}, p.client_msg_id(), p.content(),
                         p.release_at_ms(), p.created_ms()};
            if (!get_conv(p.conv(), e.message.conv)) return decode_error::malformed;
            return log_record{st::log_entry{std::move(e)}};
        }
        case pb::LogEntry::kRemoveScheduled: {
            const auto& r = in.remove_scheduled();
            return log_record{st::log_entry{st::remove_scheduled{r.tenant(), r.sender(), r.id()}}};
        }
        case pb::LogEntry::BODY_NOT_SET:
            break;
    }
    return decode_error::malformed;
}

}  // namespace

std::string encode_entry(const st::log_entry& entry, std::optional<std::uint64_t> digest_before) {
    pb::LogEntry out;
    if (digest_before) out.set_digest_before(*digest_before);
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, st::append_event>) {
                put(*out.mutable_append(), e);
            } else if constexpr (std::is_same_v<T, st::ack_inbox>) {
                auto& a = *out.mutable_ack();
                a.set_tenant(e.tenant);
                a.set_user(e.user);
                a.set_device(e.device);
                a.set_inbox_seq(e.inbox_seq);
            } else if constexpr (std::is_same_v<T, st::mark_read>) {
                auto& r = *out.mutable_read();
                r.set_tenant(e.tenant);
                put_conv(*r.mutable_conv(), e.conv);
                r.set_user(e.user);
                r.set_up_to(e.up_to);
            } else if constexpr (std::is_same_v<T, st::set_mute>) {
                auto& m = *out.mutable_mute();
                m.set_tenant(e.tenant);
                put_conv(*m.mutable_conv(), e.conv);
                m.set_user(e.user);
                m.set_level(static_cast<std::uint32_t>(e.mute.level));
                m.set_until_ms(e.mute.until_ms);
            } else if constexpr (std::is_same_v<T, st::put_user_settings>) {
                auto& u = *out.mutable_user_settings();
                u.set_tenant(e.tenant);
                u.set_user(e.user);
                u.set_settings(e.settings);
            } else if constexpr (std::is_same_v<T, st::ack_urgent>) {
                auto& a = *out.mutable_ack_urgent();
                a.set_tenant(e.tenant);
                put_conv(*a.mutable_conv(), e.conv);
                a.set_seq(e.seq);
                a.set_user(e.user);
                a.set_at_ms(e.at_ms);
            } else if constexpr (std::is_same_v<T, st::set_push_token>) {
                auto& p = *out.mutable_push_token();
                p.set_tenant(e.tenant);
                p.set_user(e.user);
                p.set_device(e.device);
                p.set_platform(e.registration.platform);
                p.set_token(e.registration.token);
                p.set_app_id(e.registration.app_id);
                p.set_only_if_token(e.only_if_token);
            } else if constexpr (std::is_same_v<T, st::put_scheduled>) {
                auto& p = *out.mutable_put_scheduled();
                p.set_tenant(e.tenant);
                p.set_sender(e.message.sender);
                p.set_id(e.message.id);
                put_conv(*p.mutable_conv(), e.message.conv);
                p.set_client_msg_id(e.message.client_msg_id);
                p.set_content(e.message.content);
                p.set_release_at_ms(e.message.release_at_ms);
                p.set_created_ms(e.message.created_ms);
            } else if constexpr (std::is_same_v<T, st::remove_scheduled>) {
                auto& r = *out.mutable_remove_scheduled();
                r.set_tenant(e.tenant);
                r.set_sender(e.sender);
                r.set_id(e.id);
            } else {
                throw std::invalid_argument("a log_position is never logged");
            }
        },
        entry);
    return serialized(out);
}

std::string encode_genesis(const genesis& g) {
    pb::LogEntry out;
    auto& body = *out.mutable_genesis();
    body.set_partition(g.partition);
    body.set_partitions(g.partitions);
    body.set_cluster(g.cluster);
    return serialized(out);
}

boost::system::result<decoded_entry, decode_error> decode_entry(std::string_view bytes) {
    pb::LogEntry in;
    if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return decode_error::malformed;
    }
    if (in.format() > st::log_format_version) return decode_error::too_new;
    if (in.format() == 0 || in.format() < format_of(in)) return decode_error::malformed;
    auto record = decode_body(in);
    if (!record) return record.error();
    return decoded_entry{std::move(*record),
                         in.has_digest_before() ? std::optional(in.digest_before()) : std::nullopt};
}

const char* describe(decode_error e) noexcept {
    switch (e) {
        case decode_error::malformed:
            return "a malformed log entry";
        case decode_error::too_new:
            return "a log entry of a newer format than this ternd applies";
    }
    return "an undecodable log entry";
}

std::uint64_t next_digest(std::uint64_t previous, std::uint64_t sequence,
                          std::string_view entry_bytes) noexcept {
    return storage::stable_hash{}.feed(previous).feed(sequence).feed(entry_bytes).value();
}

}  // namespace tern::cluster
