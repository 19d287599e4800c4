// The gateway's side of relayed sessions: every device connected to this node is served by the
// owner of its tenant's partition, wherever that is; this node passes its frames on, in order,
// and hands back what the owner sends (admission, replies, pushes, a close).
//
// When the partition's owner changes (its node failed, drained, or lost its term), the session
// is opened again at the new owner, from the newest inbox_seq this node sent the device, and
// the device sees no disconnect: requests that were waiting at the old owner are answered with a
// retryable UNAVAILABLE (a retried send is found by its client_msg_id), and frames that arrive
// while the session re-opens wait for it.
//
// It also tells the owner how far each device read (SessionConsumed), so that the owner's
// catch-up waits for a slow device instead of overflowing its connection here.
//
// Threading: on_open, on_request and on_close run on the device's shard; on_message on a libnats
// thread; leader_changed and retry_waiting on the node's control thread. A session is touched
// only on its device's shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <tern/cluster/partition_map.hpp>
#include <tern/core/frame_handler.hpp>
#include <tern/core/router.hpp>
#include "bus.hpp"
#include "flow_control.hpp"

namespace tern::cluster::v1 {
class OwnerToGateway;
}

namespace tern::cluster::detail {

class relay final : public core::frame_handler {
public:
    // The node that leads a partition's stream now (empty: none known).
    using leader_lookup = std::function<std::string(std::uint32_t partition)>;

    relay(std::string node, bus& link, core::router& shards, const partition_map& partitions,
          leader_lookup leaders);
    ~relay() override;

    void on_open(const std::shared_ptr<core::device_port>& device, const tern::v1::Hello& hello,
                 tern::v1::Frame welcome) override;
    void on_request(const std::shared_ptr<core::device_port>& device,
                    tern::v1::Frame& frame) override;
    void on_close(const std::shared_ptr<core::device_port>& device) override;

    // An OwnerToGateway message from the bus.
    void on_message(std::string_view bytes);
    // The partition's leader is now `leader`: sessions opened elsewhere open again there.
    void leader_changed(std::uint32_t partition);
    // Sessions that wait for an owner (none was known, or it said it is not) try again.
    void retry_waiting();

    // This node's connections with an id above `after_id`, ascending, at most `limit` (connz);
    // `done` runs once every shard has answered, on the last one's thread.
    void list_devices(std::uint64_t after_id, std::size_t limit,
                      std::function<void(std::vector<core::device_info>)> done);

    // Refuses new devices (DISCONNECT_SERVER_DRAINING) and closes the connected ones in even
    // batches over `window`, so that they reconnect to other nodes, not all at once.
    void drain(std::chrono::milliseconds window);

private:
    struct session;
    struct shard_state;

    void send_open(session& s);
    void reopen(session& s);
    void forward(session& s, const tern::v1::Frame& frame);
    void handle(std::size_t shard, const v1::OwnerToGateway& m);
    // Tells the session's owner how many of its frames the device's connection wrote, once
    // enough did (flow control: the owner's catch-up waits on it).
    void report_consumed(std::size_t shard, session& s);
    [[nodiscard]] std::optional<std::size_t> shard_of(std::uint64_t connection) const;

    const std::string node_;
    bus& link_;
    core::router& shards_;
    const partition_map& partitions_;
    leader_lookup leaders_;
    std::vector<std::unique_ptr<shard_state>> state_;
    mutable std::mutex where_mutex_;
    std::unordered_map<std::uint64_t, std::size_t> where_;  // connection -> shard
    std::atomic<bool> draining_{false};
};

}  // namespace tern::cluster::detail
