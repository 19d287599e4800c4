// The core: serves every request after the handshake, on the shards.
//
// - Requests that append an event (send, group operations) hop to the conversation's owner shard
//   (a hash of tenant and conversation). The owner dedups by client_msg_id (the store's records
//   and the requests still in flight), decides (decide.hpp), and submits the entry to the commit
//   writer. When the entry is durable the writer's completion posts, in commit order, one
//   delivery batch to every shard (each pushes to its own sessions of the recipients) and the
//   outcome to the owner, which acknowledges the sender with SendAck.
// - Acks and read marks are entries too, applied by the writer without an owner: the store's rules
//   decide them.
// - Reads (sync, history, who-read, conversation list, group info) are served on the session's
//   shard from the store, bounded by page sizes.
// - Every session resumes from its inbox cursor: it is caught up from the store page by page, then
//   takes live pushes; a push that does not follow its cursor sends it back to the store, so a
//   lost or reordered push never leaves a gap.
//
// Threading: per-shard state is touched only on its shard's thread; cross-shard work is posted.
// The commit writer's completions run on the writer's thread and only post.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <tern/storage/commit_writer.hpp>
#include <tern/storage/store.hpp>

#include "core/decide.hpp"
#include "net/connection_settings.hpp"
#include "net/shard_pool.hpp"

namespace tern::server::core {

class service final : public net::frame_handler {
public:
    service(net::shard_pool& shards, storage::store& store, storage::commit_writer& writer,
            decide_limits decide, net::connection_limits limits, server::metrics& metrics);
    ~service() override;
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    void on_open(const std::shared_ptr<net::session>& s, const v1::Hello& hello,
                 v1::Frame welcome) override;
    void on_request(const std::shared_ptr<net::session>& s, v1::Frame& frame) override;
    void on_close(const std::shared_ptr<net::session>& s) override;

    // ---- administration: from a thread that is not a shard's (the admin listener's) ----------
    // These ask every shard and wait for all of them, at most `wait`: nullopt when a shard did
    // not answer in time (a shard stuck in a long store read, say), so that the admin listener,
    // which also serves /metrics, answers rather than hangs. The late shard still does its part
    // when it gets to it (a kick still closes the connections).
    static constexpr std::chrono::milliseconds admin_wait{5'000};

    // Authenticated connections with an id above `after_id`, ascending, at most `limit`.
    [[nodiscard]] std::optional<std::vector<net::session_info>> sessions(
        std::uint64_t after_id, std::size_t limit, std::chrono::milliseconds wait = admin_wait);
    // Closes a user's connections (or one device's) with DISCONNECT_KICKED; how many.
    std::optional<std::size_t> kick(storage::tenant_id tenant, storage::user_id user,
                                    std::optional<storage::device_id> device,
                                    std::chrono::milliseconds wait = admin_wait);
    // From now on refuses new devices (DISCONNECT_SERVER_DRAINING) and closes the connected ones
    // in even batches over `window`, so that they reconnect elsewhere, not all at once.
    void drain(std::chrono::milliseconds window);

private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace tern::server::core
