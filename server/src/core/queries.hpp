// Read-only requests (sync, history, who-read, conversation list, group info): answered on the
// session's shard straight from the store's published state, bounded by page sizes and the
// frame limit. Pure functions of the store and the request, so they are tested without sockets.
#pragma once

#include <string>

#include <tern/storage/store.hpp>

#include "core/decide.hpp"
#include "net/connection_settings.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::server::core {

// An Error frame answering `req_id`; retryable as the code says.
[[nodiscard]] v1::Frame error_frame(std::uint64_t req_id, v1::ErrorCode code,
                                    const std::string& message);

// The protocol's code for a failed store operation (STORAGE_FULL or UNAVAILABLE).
[[nodiscard]] v1::ErrorCode code_of_storage_error(const boost::system::error_code& ec);

// Whether `frame` is one of the read-only requests answer_query serves.
[[nodiscard]] bool is_query(const v1::Frame& frame);

// The reply to a read-only request of `who` (with its req_id): a page, or an Error.
[[nodiscard]] v1::Frame answer_query(const storage::store& store,
                                     const net::connection_limits& limits, const requester& who,
                                     const v1::Frame& frame);

}  // namespace tern::server::core
