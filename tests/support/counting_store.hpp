// A store that counts the reads a test cares about and forwards everything to another store: a
// unit test of the core proves what a request costs the store.
#pragma once

#include <atomic>

#include "forwarding_store.hpp"

namespace tern::test {

class counting_store final : public forwarding_store {
public:
    using forwarding_store::forwarding_store;

    mutable std::atomic<int> member_reads{
        0};  // members(), member(), members_after(), member_cursors()
    mutable std::atomic<int> conversation_reads{0};
    mutable std::atomic<int> push_token_reads{0};

    storage::result<std::vector<storage::push_registration>> push_tokens(
        storage::tenant_id t, storage::user_id u) const override {
        ++push_token_reads;
        return inner_.push_tokens(t, u);
    }

    storage::result<std::optional<storage::conv_meta>> conversation(
        storage::tenant_id t, const storage::conv_id& c) const override {
        ++conversation_reads;
        return inner_.conversation(t, c);
    }
    storage::result<std::vector<storage::member_record>> members(
        storage::tenant_id t, const storage::conv_id& c) const override {
        ++member_reads;
        return inner_.members(t, c);
    }
    storage::result<std::optional<storage::member_record>> member(
        storage::tenant_id t, const storage::conv_id& c, storage::user_id u) const override {
        ++member_reads;
        return inner_.member(t, c, u);
    }
    storage::result<std::vector<storage::member_record>> members_after(
        storage::tenant_id t, const storage::conv_id& c, storage::user_id after,
        std::size_t limit) const override {
        ++member_reads;
        return inner_.members_after(t, c, after, limit);
    }
    storage::result<std::vector<storage::member_cursor>> member_cursors(
        storage::tenant_id t, const storage::conv_id& c) const override {
        ++member_reads;
        return inner_.member_cursors(t, c);
    }
};

}  // namespace tern::test
