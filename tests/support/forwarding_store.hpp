// A store that forwards everything to another store: the base of the test stores that count,
// delay or fail some calls (each overrides only those).
#pragma once

#include <tern/storage/store.hpp>

namespace tern::test {

class forwarding_store : public storage::store {
public:
    explicit forwarding_store(storage::store& inner) : inner_(inner) {}

    storage::result<std::vector<storage::entry_result>> apply(
        std::span<const storage::log_entry> entries, storage::durability mode) override {
        return inner_.apply(entries, mode);
    }
    storage::result<void> sync() override { return inner_.sync(); }
    storage::result<staged> stage(std::span<const storage::log_entry> entries) override {
        return inner_.stage(entries);
    }
    storage::result<void> publish(const staged_token& token, bool sync) override {
        return inner_.publish(token, sync);
    }
    storage::result<std::optional<storage::conv_meta>> conversation(
        storage::tenant_id t, const storage::conv_id& c) const override {
        return inner_.conversation(t, c);
    }
    storage::result<std::vector<storage::stored_event>> timeline(storage::tenant_id t,
                                                                 const storage::conv_id& c,
                                                                 storage::seq_t from,
                                                                 storage::direction dir,
                                                                 std::size_t limit) const override {
        return inner_.timeline(t, c, from, dir, limit);
    }
    storage::result<std::vector<storage::member_record>> members(
        storage::tenant_id t, const storage::conv_id& c) const override {
        return inner_.members(t, c);
    }
    storage::result<std::optional<storage::member_record>> member(
        storage::tenant_id t, const storage::conv_id& c, storage::user_id u) const override {
        return inner_.member(t, c, u);
    }
    storage::result<std::vector<storage::conv_summary>> conversations_of(
        storage::tenant_id t, storage::user_id u) const override {
        return inner_.conversations_of(t, u);
    }
    storage::result<storage::conv_summary_page> conversation_page(
        storage::tenant_id t, storage::user_id u,
        const std::optional<storage::conv_position>& after, std::size_t limit) const override {
        return inner_.conversation_page(t, u, after, limit);
    }
    storage::result<std::vector<storage::member_record>> members_after(
        storage::tenant_id t, const storage::conv_id& c, storage::user_id after,
        std::size_t limit) const override {
        return inner_.members_after(t, c, after, limit);
    }
    storage::result<std::optional<storage::receipt_cursor>> receipt(
        storage::tenant_id t, const storage::conv_id& c, storage::user_id u) const override {
        return inner_.receipt(t, c, u);
    }
    storage::result<std::vector<storage::member_cursor>> member_cursors(
        storage::tenant_id t, const storage::conv_id& c) const override {
        return inner_.member_cursors(t, c);
    }
    storage::result<std::optional<storage::who_read>> readers(storage::tenant_id t,
                                                              const storage::conv_id& c,
                                                              storage::seq_t seq) const override {
        return inner_.readers(t, c, seq);
    }
    storage::result<std::optional<storage::urgent_roll>> urgent_acks(
        storage::tenant_id t, const storage::conv_id& c, storage::seq_t seq) const override {
        return inner_.urgent_acks(t, c, seq);
    }
    storage::result<std::optional<std::int64_t>> urgent_acked(storage::tenant_id t,
                                                              const storage::conv_id& c,
                                                              storage::seq_t seq,
                                                              storage::user_id u) const override {
        return inner_.urgent_acked(t, c, seq, u);
    }
    storage::result<std::vector<storage::push_registration>> push_tokens(
        storage::tenant_id t, storage::user_id u) const override {
        return inner_.push_tokens(t, u);
    }
    storage::result<std::vector<storage::tenant_id>> policy_tenants(
        storage::tenant_id after, std::size_t limit) const override {
        return inner_.policy_tenants(after, limit);
    }
    storage::result<std::vector<storage::scheduled_message>> scheduled_of(
        storage::tenant_id t, storage::user_id sender) const override {
        return inner_.scheduled_of(t, sender);
    }
    storage::result<std::optional<storage::scheduled_message>> scheduled(
        storage::tenant_id t, storage::user_id sender, std::uint64_t id) const override {
        return inner_.scheduled(t, sender, id);
    }
    storage::result<std::vector<storage::scheduled_ref>> scheduled_due(
        std::int64_t up_to_ms, std::size_t limit) const override {
        return inner_.scheduled_due(up_to_ms, limit);
    }
    storage::result<std::uint64_t> inbox_head(storage::tenant_id t,
                                              storage::user_id u) const override {
        return inner_.inbox_head(t, u);
    }
    storage::result<std::vector<storage::inbox_item>> inbox_after(
        storage::tenant_id t, storage::user_id u, std::uint64_t after,
        std::size_t limit) const override {
        return inner_.inbox_after(t, u, after, limit);
    }
    storage::result<storage::inbox_page> inbox_page_after(storage::tenant_id t, storage::user_id u,
                                                          std::uint64_t after,
                                                          std::size_t limit) const override {
        return inner_.inbox_page_after(t, u, after, limit);
    }
    storage::result<std::uint64_t> device_cursor(storage::tenant_id t, storage::user_id u,
                                                 storage::device_id d) const override {
        return inner_.device_cursor(t, u, d);
    }
    storage::result<std::optional<storage::dedup_record>> find_dedup(
        storage::tenant_id t, storage::user_id sender,
        std::string_view client_msg_id) const override {
        return inner_.find_dedup(t, sender, client_msg_id);
    }
    storage::result<std::uint64_t> applied_index() const override { return inner_.applied_index(); }
    storage::result<std::optional<std::string>> user_settings(storage::tenant_id t,
                                                              storage::user_id u) const override {
        return inner_.user_settings(t, u);
    }
    storage::result<std::vector<storage::urgent_send>> urgent_sends(
        storage::tenant_id t, std::int64_t from_ms, std::size_t limit,
        std::optional<storage::user_id> sender) const override {
        return inner_.urgent_sends(t, from_ms, limit, sender);
    }
    storage::result<std::optional<storage::log_position>> position(
        std::uint32_t partition) const override {
        return inner_.position(partition);
    }
    storage::result<void> verify() const override { return inner_.verify(); }

protected:
    storage::store& inner_;
};

}  // namespace tern::test
