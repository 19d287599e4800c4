#include "shard_router.hpp"

#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tern::server::net {
namespace {

// splitmix64's finalizer: consecutive ids land on different shards.
std::uint64_t mix(std::uint64_t h) noexcept {
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

}  // namespace

std::size_t shard_router::owner_of(storage::tenant_id tenant,
                                   const storage::conv_id& conv) const noexcept {
    const auto h =
        mix(mix(mix(tenant) ^ static_cast<std::uint64_t>(conv.type)) ^ conv.id) ^ mix(conv.peer);
    return static_cast<std::size_t>(h % shards_.size());
}

std::size_t shard_router::home_of(storage::tenant_id tenant, storage::user_id user) const noexcept {
    return static_cast<std::size_t>(mix(mix(tenant) ^ user) % shards_.size());
}

void shard_router::post(std::size_t shard, core::task fn) {
    boost::asio::post(shards_.context(shard), std::move(fn));
}

void shard_router::post_after(std::size_t shard, std::chrono::milliseconds delay, core::task fn) {
    auto timer = std::make_shared<boost::asio::steady_timer>(shards_.context(shard), delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) mutable {
        if (!ec) fn();
    });
}

}  // namespace tern::server::net
