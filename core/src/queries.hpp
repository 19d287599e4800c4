// Read-only requests (sync, history, who-read, conversation list, group info): answered on the
// device's shard straight from the store's published state, bounded by page sizes and the frame
// limit. Pure functions of the store and the request, tested without sockets; the request table
// (requests.hpp) names the one for each request.
#pragma once

#include <tern/core/limits.hpp>
#include <tern/core/requester.hpp>
#include <tern/storage/store.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::core {

// The reply to a read-only request of `who` (with its req_id): a page, or an Error.
using query_answer = v1::Frame (*)(const storage::store& store, const limits& limits,
                                   const requester& who, const v1::Frame& request);

[[nodiscard]] v1::Frame answer_sync(const storage::store& store, const limits& limits,
                                    const requester& who, const v1::Frame& request);
[[nodiscard]] v1::Frame answer_history(const storage::store& store, const limits& limits,
                                       const requester& who, const v1::Frame& request);
[[nodiscard]] v1::Frame answer_who_read(const storage::store& store, const limits& limits,
                                        const requester& who, const v1::Frame& request);
[[nodiscard]] v1::Frame answer_urgent_status(const storage::store& store, const limits& limits,
                                             const requester& who, const v1::Frame& request);
[[nodiscard]] v1::Frame answer_list(const storage::store& store, const limits& limits,
                                    const requester& who, const v1::Frame& request);
[[nodiscard]] v1::Frame answer_group_info(const storage::store& store, const limits& limits,
                                          const requester& who, const v1::Frame& request);

}  // namespace tern::core
