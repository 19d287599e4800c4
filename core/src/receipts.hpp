// Receipts: a device's Acks and a user's read marks, applied by the commit writer by the store's
// rules, and the cursors they move told to whoever cares. In a direct conversation the peer's
// devices learn the reader's cursors at once (ReceiptUpdate.cursors); in a group, a moved read
// cursor makes the senders of the messages it passed due a read-count update, coalesced on the
// group's owner shard and sent at most once per conversation per limits.read_count_interval
// (ReceiptUpdate.read_counts, read_counts.hpp). A moved read cursor is also told to the reader's
// own devices (ReceiptUpdate with their own cursor), and to the push desk, which cancels the
// pushes it made moot and moves the badge of the devices it pushes.
//
// Threading: on_ack() and on_mark_read() run on the device's shard; announce*() from any thread
// (the writer's completions); note_read() and flush() on the group's owner shard.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "context.hpp"
#include "device_table.hpp"
#include "keys.hpp"

namespace tern::core {

class receipts {
public:
    receipts(const context& ctx, device_table& devices);

    void on_ack(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    void on_mark_read(const std::shared_ptr<device_port>& device, const v1::Frame& frame);

    // After an ack or a read mark moved `reader`'s cursors.
    void announce(storage::tenant_id tenant, storage::user_id reader,
                  const std::vector<storage::delivered_change>& changes);
    // After a send: sending reads everything before the sender's event; others learn of it when
    // that passed events of theirs (not when a sender merely follows its own previous message).
    void announce_implicit_read(storage::tenant_id tenant, storage::user_id sender,
                                std::vector<storage::delivered_change>& changes);

private:
    // Read cursors that moved in a group since its senders were last told: (after, up_to].
    struct read_window {
        storage::seq_t after = 0;
        storage::seq_t up_to = 0;
    };
    struct shard_reads {
        std::unordered_map<conv_key, read_window, key_hash> due;
        bool flush_armed = false;
    };

    void note_read(std::size_t shard, const conv_key& key, read_window window);
    void flush(std::size_t shard);
    void push_read_counts(const conv_key& key, const read_window& window);
    void tell_peer(storage::tenant_id tenant, storage::user_id reader,
                   const storage::delivered_change& change);
    void tell_reader(storage::tenant_id tenant, storage::user_id reader,
                     const storage::delivered_change& change);

    context ctx_;
    device_table& devices_;
    shard_local<shard_reads> shards_;
};

}  // namespace tern::core
