// Shards: N threads, each running its own io_context (Asio's io_context-per-thread pool). A
// connection lives on one shard for life; state owned by a shard is touched only from its
// thread, so nothing inside a shard takes a lock. Cross-shard work is posted.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tern::server::net {

// A socket bound to its shard's io_context: its executor is one pointer, where an
// any_io_executor is 56 bytes in the socket, the connection and every pending operation.
using shard_socket =
    boost::asio::ip::tcp::socket::rebind_executor<boost::asio::io_context::executor_type>::other;

class shard_pool {
public:
    // `count` 0 means one shard per core.
    explicit shard_pool(unsigned count);
    ~shard_pool();
    shard_pool(const shard_pool&) = delete;
    shard_pool& operator=(const shard_pool&) = delete;

    void start();
    // Stops every io_context and joins the threads. Idempotent.
    void stop();

    [[nodiscard]] std::size_t size() const noexcept { return contexts_.size(); }
    [[nodiscard]] boost::asio::io_context& context(std::size_t shard) { return *contexts_[shard]; }
    // Round-robin, for spreading new connections.
    [[nodiscard]] std::size_t next() noexcept { return next_++ % contexts_.size(); }

private:
    using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<work_guard> guards_;
    std::vector<std::thread> threads_;
    std::size_t next_ = 0;
};

}  // namespace tern::server::net
