#include "shard_pool.hpp"

#include <algorithm>
#include <string>

#include <pthread.h>

namespace tern::server::net {

shard_pool::shard_pool(unsigned count) {
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i) {
        // concurrency_hint 1: each context runs on exactly one thread, so Asio skips locking.
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

shard_pool::~shard_pool() { stop(); }

void shard_pool::start() {
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
        threads_.emplace_back([c = contexts_[i].get(), name = "tern-shard-" + std::to_string(i)] {
            // Named for top -H, perf --sort comm and gdb (15 characters at most).
            pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
            c->run();
        });
    }
}

void shard_pool::stop() {
    for (auto& g : guards_) g.reset();
    for (auto& ctx : contexts_) ctx->stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

}  // namespace tern::server::net
