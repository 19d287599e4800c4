#include "receipts.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "read_counts.hpp"

namespace tern::core {

using wire::error_frame;

namespace {

// How many recent messages of a group get read counts per update: older ones are rarely on
// screen, and who-read answers for any of them.
constexpr storage::seq_t read_count_window = 200;

}  // namespace

receipts::receipts(const context& ctx, device_table& devices)
    : ctx_(ctx), devices_(devices), shards_(ctx.routes.shard_count()) {}

void receipts::on_ack(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    const auto who = device->who();
    const bool queued = ctx_.commits.try_submit(
        storage::ack_inbox{who.tenant, who.user, who.device, frame.ack().inbox_seq()},
        [this, who](storage::entry_result r) {
            if (r) announce(who.tenant, who.user, r->cursors);
        });
    // Acks are cumulative and unanswered: the device's next Ack covers this one.
    if (!queued) {
        ctx_.report.failed(failure::commit_queue_full,
                           "an ack of tenant " + std::to_string(who.tenant));
    }
}

void receipts::on_mark_read(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    auto conv = to_conv_id(frame.mark_read().conv());
    if (!conv) {
        return answer(*device, frame.req_id(),
                      error_frame(0, conv.error().code, conv.error().message));
    }
    const auto who = device->who();
    const auto here = reply_to::of(device, frame.req_id());
    const bool queued = ctx_.commits.try_submit(
        storage::mark_read{who.tenant, *conv, who.user, frame.mark_read().up_to_seq()},
        [this, here, who, direct_party = is_party(who, *conv)](storage::entry_result r) {
            if (r) {
                reply(ctx_.routes, here, ok_frame(0));
                announce(who.tenant, who.user, r->cursors);
            } else if (r.error() == storage::errc::invalid_entry && direct_party) {
                reply(ctx_.routes, here, ok_frame(0));  // a direct one not begun: nothing to read
            } else if (r.error() == storage::errc::invalid_entry) {
                reply(ctx_.routes, here, error_frame(0, v1::NOT_MEMBER, "not a member"));
            } else {
                reply(ctx_.routes, here,
                      error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
            }
        });
    if (!queued) {
        ctx_.report.failed(failure::commit_queue_full,
                           "a read mark of tenant " + std::to_string(who.tenant));
        answer(*device, frame.req_id(),
               error_frame(0, v1::UNAVAILABLE, "the server is busy; retry"));
    }
}

void receipts::announce(storage::tenant_id tenant, storage::user_id reader,
                        const std::vector<storage::delivered_change>& changes) {
    devices_.pushes().read(tenant, reader, changes);
    for (const auto& change : changes) {
        if (change.cursor.read_up_to > change.previous_read_up_to) {
            tell_reader(tenant, reader, change);
        }
        if (change.conv.type == storage::conv_type::direct) {
            tell_peer(tenant, reader, change);
            continue;
        }
        if (change.cursor.read_up_to <= change.previous_read_up_to) continue;
        const conv_key key{tenant, change.conv};
        const auto owner = ctx_.routes.owner_of(tenant, change.conv);
        ctx_.routes.post(
            owner, [this, owner, key,
                    window = read_window{change.previous_read_up_to, change.cursor.read_up_to}] {
                note_read(owner, key, window);
            });
    }
}

void receipts::announce_implicit_read(storage::tenant_id tenant, storage::user_id sender,
                                      std::vector<storage::delivered_change>& changes) {
    std::erase_if(changes, [](const storage::delivered_change& c) {
        return c.cursor.read_up_to <= c.previous_read_up_to + 1;
    });
    if (!changes.empty()) announce(tenant, sender, changes);
}

namespace {

// ReceiptUpdate{conv, cursors: [the reader's cursors after the change]}.
std::shared_ptr<const v1::Frame> cursor_frame(storage::user_id reader,
                                              const storage::delivered_change& change) {
    auto frame = std::make_shared<v1::Frame>();
    auto* update = frame->mutable_receipt_update();
    to_proto(change.conv, *update->mutable_conv());
    auto* cursor = update->add_cursors();
    cursor->set_user_id(reader);
    cursor->set_delivered_up_to(change.cursor.delivered_up_to);
    cursor->set_read_up_to(change.cursor.read_up_to);
    return frame;
}

}  // namespace

// A direct conversation: the peer's devices learn the reader's new cursors.
void receipts::tell_peer(storage::tenant_id tenant, storage::user_id reader,
                         const storage::delivered_change& change) {
    const auto peer = change.conv.id == reader ? change.conv.peer : change.conv.id;
    if (peer == reader) return;
    devices_.to_user(tenant, peer, cursor_frame(reader, change));
}

// The reader's own devices see their read cursor move, so that every screen of theirs clears the
// conversation's unread, whichever device read it (the one that did too: one small frame).
void receipts::tell_reader(storage::tenant_id tenant, storage::user_id reader,
                           const storage::delivered_change& change) {
    devices_.to_user(tenant, reader, cursor_frame(reader, change));
}

// On the group's owner shard: remember the window until the next flush.
void receipts::note_read(std::size_t shard, const conv_key& key, read_window window) {
    auto& local = shards_[shard];
    auto [it, fresh] = local.due.try_emplace(key, window);
    if (!fresh) {
        it->second.after = std::min(it->second.after, window.after);
        it->second.up_to = std::max(it->second.up_to, window.up_to);
    }
    if (local.flush_armed) return;
    local.flush_armed = true;
    ctx_.routes.post_after(shard, ctx_.limit.read_count_interval, [this, shard] { flush(shard); });
}

void receipts::flush(std::size_t shard) {
    auto& local = shards_[shard];
    auto due = std::move(local.due);
    local.due.clear();
    local.flush_armed = false;
    for (const auto& [key, window] : due) push_read_counts(key, window);
}

// One ReceiptUpdate per sender of a message in the window (its newest read_count_window seqs),
// with the counts of all of them: O(members x window) per group per interval.
void receipts::push_read_counts(const conv_key& key, const read_window& window) {
    const storage::seq_t first = std::max(
        window.after + 1, window.up_to > read_count_window ? window.up_to - read_count_window + 1
                                                           : storage::seq_t{1});
    auto events = ctx_.store.timeline(key.tenant, key.conv, first, storage::direction::forward,
                                      window.up_to - first + 1);
    auto members = ctx_.store.member_cursors(key.tenant, key.conv);
    if (!events || !members) {
        ctx_.report.failed(failure::store_read_failed,
                           "read counts of a group of tenant " + std::to_string(key.tenant));
        return;
    }
    for (const auto& sender : count_reads(*events, *members)) {
        auto frame = std::make_shared<v1::Frame>();
        auto* update = frame->mutable_receipt_update();
        to_proto(key.conv, *update->mutable_conv());
        for (const auto& c : sender.counts) {
            auto* rc = update->add_read_counts();
            rc->set_seq(c.seq);
            rc->set_read(c.read);
            rc->set_members(c.members);
        }
        devices_.to_user(key.tenant, sender.sender, std::move(frame));
    }
}

}  // namespace tern::core
