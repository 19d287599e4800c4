// The in-process router (core/router.hpp): every shard is a thread of this process, running its
// own io_context (shard_pool). Conversations and users are spread over the shards by a hash; a
// post is an asio::post to the shard's io_context (FIFO per poster), a delayed post a timer on
// it. The cluster adds a second router beside this one.
#pragma once

#include <tern/core/router.hpp>

#include "shard_pool.hpp"

namespace tern::server::net {

class shard_router final : public core::router {
public:
    explicit shard_router(shard_pool& shards) : shards_(shards) {}

    [[nodiscard]] std::size_t shard_count() const noexcept override { return shards_.size(); }
    [[nodiscard]] std::size_t owner_of(storage::tenant_id tenant,
                                       const storage::conv_id& conv) const noexcept override;
    [[nodiscard]] std::size_t home_of(storage::tenant_id tenant,
                                      storage::user_id user) const noexcept override;
    void post(std::size_t shard, core::task fn) override;
    void post_after(std::size_t shard, std::chrono::milliseconds delay, core::task fn) override;

private:
    shard_pool& shards_;
};

}  // namespace tern::server::net
