// Scheduled messages (docs/notifications.md, "Scheduled messages"): a message stored now and
// released into its conversation later, at a time or at a member's next work start.
//
// ScheduleSend, EditScheduled and CancelScheduled are checked on the device's shard, then done on
// the sender's home shard (router::home_of), which serializes everything about one sender's
// scheduled messages: each is written through the log (put_scheduled, remove_scheduled), answered
// once durable, and told to the sender's devices (ScheduledUpdate).
//
// The release clock is the store's release order, read on shard 0 (poll): at start, so that a
// restart or a cluster term's start releases what came due meanwhile; when a message's time
// comes (each schedule and edit arms a poll for its time); and every second while anything is
// due, at least once a minute otherwise. A due message goes to its sender's home shard, which
// submits it to the conversation's owner as an ordinary Send from the sender (device 0) with the
// scheduled client_msg_id, so that it takes its seq at release and a release repeated after a
// crash is answered by the owner's dedup with the same seq. Once the owner acknowledged it, the
// record goes (remove_scheduled) and the sender's devices hear RELEASED with the seq; a refusal
// that retrying cannot cure (the sender left the group) removes it as FAILED; a busy or failing
// store leaves it for the next poll.
//
// While an edit or cancel of a message is being written its release waits; while it is being
// released, edits and cancels are refused (SCHEDULED_RELEASING): what is sent is what was stored.
//
// Threading: on_*() on the device's shard; the home shard's table is touched only there; poll()
// on shard 0; commit completions on the writer's thread post onward.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "context.hpp"
#include "device_table.hpp"

namespace tern::core {

class conversation_owner;

class schedule_desk {
public:
    schedule_desk(const context& ctx, device_table& devices, conversation_owner& owner);

    // ScheduleSend, EditScheduled, CancelScheduled.
    void on_request(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    // Starts the release clock (a first poll at once).
    void start();

    // The schedule id of (tenant, sender, client_msg_id): a retry names the same message. 63
    // bits, never 0.
    [[nodiscard]] static std::uint64_t id_for(storage::tenant_id tenant, storage::user_id sender,
                                              const std::string& client_msg_id);

private:
    using key = std::tuple<storage::tenant_id, storage::user_id, std::uint64_t>;
    enum class doing : std::uint8_t { writing, releasing };
    struct home_table {
        std::map<key, doing> busy;
        // The release's stand-in device, kept alive until the owner answers it.
        std::map<key, std::shared_ptr<device_port>> releases;
    };

    // On the sender's home shard.
    void schedule(std::size_t home, const requester& who, const reply_to& to, v1::Frame frame);
    void edit(std::size_t home, const requester& who, const reply_to& to, v1::Frame frame);
    void cancel(std::size_t home, const requester& who, const reply_to& to, v1::Frame frame);
    // Answers SCHEDULED_RELEASING or UNAVAILABLE (retry) when `k` is being released or changed.
    bool answered_busy(std::size_t home, const key& k, const reply_to& to);
    // The stored message `k` when it may be changed now; else the reason is answered.
    std::optional<storage::scheduled_message> changeable(std::size_t home, const key& k,
                                                         const reply_to& to);
    // Once `m` is durable: answer it, tell the sender's devices, wake the clock for its time.
    std::function<void(const storage::entry_result&)> stored_then(const reply_to& to,
                                                                  storage::tenant_id tenant,
                                                                  storage::scheduled_message m,
                                                                  v1::ScheduledState state);
    // Writes `entry` with the key busy until it is durable or refused; `done` gets the outcome
    // (on the writer's thread, or here when the commit queue is full).
    void write(std::size_t home, const key& k, storage::log_entry entry,
               std::function<void(const storage::entry_result&)> done);

    // On shard 0: releases what is due; `loop`: this poll arms the next one.
    void poll(bool loop);
    // A poll when a message's time comes.
    void wake_at(std::int64_t release_at_ms);
    // On the sender's home shard.
    void release(std::size_t home, const storage::scheduled_ref& due);
    void released(std::size_t home, const storage::scheduled_message& m, storage::tenant_id tenant,
                  const v1::Frame& answer);
    void finish(std::size_t home, storage::tenant_id tenant, const storage::scheduled_message& m,
                v1::ScheduledState state, std::uint64_t seq, const v1::Error* why);

    // ScheduledUpdate to the sender's devices.
    void tell(storage::tenant_id tenant, const storage::scheduled_message& m,
              v1::ScheduledState state, std::uint64_t seq = 0, const v1::Error* why = nullptr);

    context ctx_;
    device_table& devices_;
    conversation_owner& owner_;
    shard_local<home_table> homes_;
};

// ListScheduled: the caller's scheduled messages, earliest release first (a query).
[[nodiscard]] v1::Frame answer_scheduled(const storage::store& store, const limits& limit,
                                         const requester& who, const v1::Frame& frame);

// A stored scheduled message as the protocol shows it.
void to_proto(const storage::scheduled_message& m, v1::ScheduledMessage& out);

}  // namespace tern::core
