// One ownership term of a partition on this node: the fenced commit port, the router whose
// tasks stop with the term, and the core that serves the partition's devices meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <tern/cluster/owner_log.hpp>
#include <tern/cluster/term_router.hpp>
#include <tern/core/service.hpp>

namespace tern::cluster::detail {

struct term {
    term(std::uint32_t partition_, std::uint64_t number_, core::router& shards,
         std::shared_ptr<owner_log> log_, storage::store& store, const core::limits& limits,
         core::telemetry& telemetry, const core::clock& clock, core::push_port* pushes,
         std::function<bool(storage::tenant_id)> serves)
        : partition(partition_),
          number(number_),
          routes(shards, std::move(serves)),
          log(std::move(log_)),
          service(routes, store, *log, limits, telemetry, clock, pushes) {}

    [[nodiscard]] bool serving() const noexcept { return routes.open(); }

    const std::uint32_t partition;
    const std::uint64_t number;  // this node's count of terms, for logs
    term_router routes;
    std::shared_ptr<owner_log> log;
    core::service service;
};

}  // namespace tern::cluster::detail
