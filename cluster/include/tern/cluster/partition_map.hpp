// Which partition holds a tenant's data: a stable hash of the tenant id modulo the partition
// count, unless the operator placed the tenant (a large tenant alone in a partition). All of a
// tenant's conversations, users and devices live in its partition, so one send is one log entry
// and one WriteBatch, and a device's whole session is served by one owner.
//
// The count is fixed when the cluster is created (the streams are named by partition); placing a
// tenant that already has data moves nothing, so placements are made before a tenant's first
// message (docs/cluster.md).
#pragma once

#include <cstdint>
#include <map>

#include <tern/storage/types.hpp>

namespace tern::cluster {

class partition_map {
public:
    // Throws std::invalid_argument for no partitions, more than 1,000, or a placement outside
    // [0, partitions).
    partition_map(std::uint32_t partitions,
                  std::map<storage::tenant_id, std::uint32_t> placements = {});

    [[nodiscard]] std::uint32_t of(storage::tenant_id tenant) const noexcept;
    [[nodiscard]] std::uint32_t count() const noexcept { return partitions_; }

private:
    std::uint32_t partitions_;
    std::map<storage::tenant_id, std::uint32_t> placements_;
};

}  // namespace tern::cluster
