#include <tern/cluster/partition_map.hpp>

#include <stdexcept>
#include <string>

#include <tern/storage/stable_hash.hpp>

namespace tern::cluster {

partition_map::partition_map(std::uint32_t partitions,
                             std::map<storage::tenant_id, std::uint32_t> placements)
    : partitions_(partitions), placements_(std::move(placements)) {
    if (partitions_ == 0 || partitions_ > 1000) {
        throw std::invalid_argument("the partition count must be 1 to 1000");
    }
    for (const auto& [tenant, p] : placements_) {
        if (p >= partitions_) {
            throw std::invalid_argument("tenant " + std::to_string(tenant) + " is placed in " +
                                        "partition " + std::to_string(p) + ", but there are " +
                                        std::to_string(partitions_));
        }
    }
}

std::uint32_t partition_map::of(storage::tenant_id tenant) const noexcept {
    if (const auto it = placements_.find(tenant); it != placements_.end()) return it->second;
    // The same on every node and build: nodes must agree on where a tenant lives.
    return static_cast<std::uint32_t>(storage::stable_hash{}.feed(tenant).value() % partitions_);
}

}  // namespace tern::cluster
