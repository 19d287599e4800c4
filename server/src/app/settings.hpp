// The configuration mapped, once, onto what the gateway's parts take: the limits, the JWT
// verifier's keys and options, the store's options, the commit writer's options.
#pragma once

#include <memory>
#include <vector>

#include <tern/auth/jwt.hpp>
#include <tern/cluster/node.hpp>

#include <tern/core/limits.hpp>
#include <tern/server/config.hpp>
#include <tern/storage/commit_writer.hpp>
#include <tern/storage/rocks_store.hpp>
#include "metrics/metrics.hpp"

namespace tern::server::app {

// The [limits] section, with the protocol's fixed bounds: the one limits object of a gateway.
[[nodiscard]] core::limits limits_of(const config& cfg);

// The verifier's options and keys (throws std::runtime_error naming a key it cannot read).
[[nodiscard]] auth::jwt_verifier::options verifier_options_of(const config& cfg);
[[nodiscard]] std::vector<auth::jwt_key> load_keys(const config& cfg);

// The store at server.data_dir (throws std::runtime_error when it cannot be opened).
[[nodiscard]] std::unique_ptr<storage::store> open_store(const config& cfg);

[[nodiscard]] storage::commit_writer_options writer_options_of(const config& cfg,
                                                               storage::commit_observer observer);

// The [cluster] section (only with cluster.enabled).
[[nodiscard]] cluster::node_settings cluster_settings_of(const config& cfg, server::metrics& m);

}  // namespace tern::server::app
