// The store: every conversation timeline, membership, inbox, receipt cursor, dedup record and
// device cursor of every tenant.
//
// Writes: apply() takes log entries (see log_entry.hpp) and applies them in order as one atomic
// batch, durable under the given mode before it returns. Exactly one thread applies at a time
// (the commit_writer); apply() must not be called concurrently with itself.
//
// Reads are safe from any thread, concurrently with apply(); each read sees a state that some
// committed batch left (never half a batch) but two reads may see different batches.
//
// Errors: no method throws. An I/O failure fails the whole batch (nothing of it is applied, the
// store stays usable and the same entries may be applied again); an entry that breaks the apply
// rules fails alone with errc::invalid_entry and the other entries still apply.
//
// Implementations: open_rocks_store() (rocks_store.hpp) and make_memory_store()
// (memory_store.hpp). Both pass the same conformance suite.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include <tern/storage/errors.hpp>
#include <tern/storage/log_entry.hpp>
#include <tern/storage/types.hpp>

namespace tern::storage {

template <class T>
using result = boost::system::result<T>;

using entry_result = result<apply_outcome>;

class store {
public:
    virtual ~store() = default;

    // ---- writes (one writer) -------------------------------------------------------------

    // Applies `entries` in order as one atomic batch. The outer result fails only if nothing
    // could be written; otherwise it holds one entry_result per entry, in order.
    [[nodiscard]] virtual result<std::vector<entry_result>> apply(
        std::span<const log_entry> entries, durability mode) = 0;

    // Makes everything applied so far durable against power loss (syncs the write-ahead log).
    [[nodiscard]] virtual result<void> sync() = 0;

    // Pipelined group commit, for the commit_writer in fsync mode: while one batch is being
    // synced, the next is applied. stage() applies entries like apply() in `os` mode but keeps
    // them invisible to readers; publish(token, true) then syncs everything staged so far and
    // makes the state the token names visible (publish(token, false) only makes it visible: for
    // entries a restart can fetch again, a standby's copy of the replicated log). Tokens are
    // published in staging order; stage() and apply() are called from one thread, publish() may be
    // called from another. A writer uses one path or the other: apply() makes everything written so
    // far visible, staged or not.
    //
    // Readers therefore never see an event that a power loss could take back (a device that
    // pulled seq N must never meet a different seq N after a restart). If a sync fails, the
    // store refuses every later write (errc::io_error) until it is reopened: what was staged on
    // top of the unsynced batch cannot be taken back, and recovery on open keeps what reached
    // the disk.
    using staged_token = std::shared_ptr<const void>;
    struct staged {
        std::vector<entry_result> results;
        staged_token token;
    };
    [[nodiscard]] virtual result<staged> stage(std::span<const log_entry> entries) = 0;
    [[nodiscard]] virtual result<void> publish(const staged_token& token, bool sync) = 0;

    // ---- reads (any thread) ----------------------------------------------------------------

    [[nodiscard]] virtual result<std::optional<conv_meta>> conversation(tenant_id,
                                                                        const conv_id&) const = 0;

    // Up to `limit` events starting at `from` (inclusive) in `dir`. from = 0 going backward means
    // "from the head".
    [[nodiscard]] virtual result<std::vector<stored_event>> timeline(tenant_id, const conv_id&,
                                                                     seq_t from, direction dir,
                                                                     std::size_t limit) const = 0;

    // Members ascending by user id.
    [[nodiscard]] virtual result<std::vector<member_record>> members(tenant_id,
                                                                     const conv_id&) const = 0;
    [[nodiscard]] virtual result<std::optional<member_record>> member(tenant_id, const conv_id&,
                                                                      user_id) const = 0;

    // Up to `limit` members with user ids above `after`, ascending.
    [[nodiscard]] virtual result<std::vector<member_record>> members_after(
        tenant_id, const conv_id&, user_id after, std::size_t limit) const = 0;

    // The user's conversations with unread counts, newest activity first (ties by conversation).
    [[nodiscard]] virtual result<std::vector<conv_summary>> conversations_of(tenant_id,
                                                                             user_id) const = 0;
    // One page of that list: up to `limit` conversations after `after` (from the first when
    // none), from one snapshot. Reads every conversation's head to order them, and the member
    // and cursor records only of those on the page.
    [[nodiscard]] virtual result<conv_summary_page> conversation_page(
        tenant_id, user_id, const std::optional<conv_position>& after, std::size_t limit) const = 0;

    [[nodiscard]] virtual result<std::optional<receipt_cursor>> receipt(tenant_id, const conv_id&,
                                                                        user_id) const = 0;

    // Members ascending by user id, each with its receipt cursors (empty for no conversation).
    [[nodiscard]] virtual result<std::vector<member_cursor>> member_cursors(
        tenant_id, const conv_id&) const = 0;

    // Who has and has not read `seq`; nullopt if the conversation or the event does not exist.
    [[nodiscard]] virtual result<std::optional<who_read>> readers(tenant_id, const conv_id&,
                                                                  seq_t seq) const = 0;

    // Who has and has not acknowledged `seq` (ack_urgent); nullopt if the conversation or the
    // event does not exist. Whether the event is urgent is the caller's to check.
    [[nodiscard]] virtual result<std::optional<urgent_roll>> urgent_acks(tenant_id, const conv_id&,
                                                                         seq_t seq) const = 0;

    // When `user` acknowledged `seq` (ack_urgent); nullopt: not (or no such event).
    [[nodiscard]] virtual result<std::optional<std::int64_t>> urgent_acked(tenant_id,
                                                                           const conv_id&,
                                                                           seq_t seq,
                                                                           user_id user) const = 0;

    // The push registrations of a user's devices, ascending by device.
    [[nodiscard]] virtual result<std::vector<push_registration>> push_tokens(tenant_id,
                                                                             user_id) const = 0;

    // A sender's scheduled messages, ascending by id; one of them (nullopt: none).
    [[nodiscard]] virtual result<std::vector<scheduled_message>> scheduled_of(
        tenant_id, user_id sender) const = 0;
    [[nodiscard]] virtual result<std::optional<scheduled_message>> scheduled(
        tenant_id, user_id sender, std::uint64_t id) const = 0;
    // The scheduled messages of every tenant due at or before `up_to_ms`, in release order (time,
    // then tenant, sender, id), at most `limit`.
    [[nodiscard]] virtual result<std::vector<scheduled_ref>> scheduled_due(
        std::int64_t up_to_ms, std::size_t limit) const = 0;

    // The newest inbox_seq of a user (0 when empty).
    [[nodiscard]] virtual result<std::uint64_t> inbox_head(tenant_id, user_id) const = 0;

    // Up to `limit` inbox entries after `after`, ascending, with their events.
    [[nodiscard]] virtual result<std::vector<inbox_item>> inbox_after(tenant_id, user_id,
                                                                      std::uint64_t after,
                                                                      std::size_t limit) const = 0;

    // The head, and up to `limit` entries after min(after, head) with their events, from one
    // snapshot. Costs less than inbox_head and inbox_after apart when the page reaches the head.
    [[nodiscard]] virtual result<inbox_page> inbox_page_after(tenant_id, user_id,
                                                              std::uint64_t after,
                                                              std::size_t limit) const = 0;

    // The last inbox_seq the device acknowledged (0 for a device never seen).
    [[nodiscard]] virtual result<std::uint64_t> device_cursor(tenant_id, user_id,
                                                              device_id) const = 0;

    [[nodiscard]] virtual result<std::optional<dedup_record>> find_dedup(
        tenant_id, user_id sender, std::string_view client_msg_id) const = 0;

    // A user's notification settings as put_user_settings left them (nullopt: none); for user
    // tenant_policy_record, the tenant's policy.
    [[nodiscard]] virtual result<std::optional<std::string>> user_settings(tenant_id,
                                                                           user_id) const = 0;

    // The tenants with a notification policy (a tenant_policy_record), ascending, after `after`,
    // at most `limit`: what the core looks at after a restart (urgent escalations).
    [[nodiscard]] virtual result<std::vector<tenant_id>> policy_tenants(
        tenant_id after, std::size_t limit) const = 0;

    // The tenant's urgent messages sent at or after `from_ms`, oldest first (then by conversation
    // and seq), at most `limit`; only `sender`'s when given.
    [[nodiscard]] virtual result<std::vector<urgent_send>> urgent_sends(
        tenant_id, std::int64_t from_ms, std::size_t limit,
        std::optional<user_id> sender = std::nullopt) const = 0;

    // How many entries have been applied since the store was created (the log position).
    [[nodiscard]] virtual result<std::uint64_t> applied_index() const = 0;

    // The last log_position applied for a partition (nullopt: none yet).
    [[nodiscard]] virtual result<std::optional<log_position>> position(
        std::uint32_t partition) const = 0;

    // Checks that every derived record agrees with the timelines and membership (heads, gaps,
    // reverse index, inbox, cursors). Slow: for tests, tools and after recovery.
    [[nodiscard]] virtual result<void> verify() const = 0;

    // Writes a consistent copy of the store into `dir`, which must not exist yet: everything
    // written so far, synced or not, as one point in time (for a cluster node, each partition's
    // log position is in it, so a node restored from it reads its logs on from there). On the
    // store's file system the table files are hard links: a checkpoint costs little space until
    // compactions replace them. Any thread; writes go on meanwhile.
    [[nodiscard]] virtual result<void> checkpoint(const std::string& dir) const {
        (void)dir;
        return make_error_code(errc::unsupported);
    }
};

}  // namespace tern::storage
