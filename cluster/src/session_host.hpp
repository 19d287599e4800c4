// The owner's side of relayed sessions: devices connected to other nodes (or to this one), whose
// tenants' partitions this node owns. Each session is a remote_device port of the partition's
// term core; what the core hands it goes back to the device's gateway over NATS. All sessions of
// one gateway live on one shard here, so the pushes of one event to that gateway's devices are
// made in one task and leave as one bus message (never one per device). A session's port has
// room while less than a flow_window of what it sent is unconsumed at the gateway.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <tern/cluster/partition_map.hpp>
#include <tern/core/notice.hpp>
#include <tern/core/router.hpp>
#include "bus.hpp"
#include "flow_control.hpp"

#include "term.hpp"

namespace tern::cluster::v1 {
class GatewayToOwner;
}

namespace tern::cluster::detail {

class remote_device;

class session_host {
public:
    // The term serving a partition now (null when this node does not own it).
    using term_lookup = std::function<std::shared_ptr<term>(std::uint32_t partition)>;

    session_host(std::string node, bus& link, core::router& shards, const partition_map& partitions,
                 term_lookup terms, flow_window window = {});
    ~session_host();

    // A GatewayToOwner message from the bus (a libnats thread).
    void on_message(std::string_view bytes);

    // A term ended: its sessions are dropped, and their gateways told to find the new owner.
    void term_ended(const std::shared_ptr<term>& ended);

    // For remote_device: publishes to a gateway (flushing its pending pushes first, to keep
    // the order in which the core handed things over).
    void publish(std::size_t shard, const std::string& gateway, const std::string& bytes);
    void queue_push(std::size_t shard, const std::string& gateway, std::uint64_t connection,
                    std::uint64_t inbox_seq, const storage::event_bytes& event,
                    core::notice announce);

    [[nodiscard]] std::size_t shard_of(const std::string& gateway) const noexcept;

private:
    struct shard_state;
    void handle(std::size_t shard, const v1::GatewayToOwner& m);
    void flush(std::size_t shard, const std::string& gateway);
    void flush_all(std::size_t shard);
    void not_owner(const std::string& gateway, std::uint64_t connection, std::uint32_t partition);

    const std::string node_;
    bus& link_;
    core::router& shards_;
    const partition_map& partitions_;
    term_lookup terms_;
    flow_window window_;
    std::vector<std::unique_ptr<shard_state>> state_;  // one per shard, touched on it only
    std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace tern::cluster::detail
