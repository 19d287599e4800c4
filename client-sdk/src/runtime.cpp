#include "runtime_impl.hpp"

#include <boost/asio/post.hpp>

namespace tern::client {

std::shared_ptr<runtime> runtime::create(std::size_t threads) {
    return std::make_shared<detail::runtime_impl>(threads == 0 ? 1 : threads);
}

namespace detail {
namespace {

// Posts to one io_context run by one thread: in order, one at a time.
class io_executor final : public executor {
public:
    explicit io_executor(boost::asio::io_context& io) : io_(io) {}
    void post(std::function<void()> task) override { boost::asio::post(io_, std::move(task)); }
    [[nodiscard]] bool runs_in_order() const noexcept override { return true; }

private:
    boost::asio::io_context& io_;
};

}  // namespace

runtime_impl::runtime_impl(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) {
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
    for (auto& context : contexts_) {
        threads_.emplace_back([&io = *context] { io.run(); });
    }
}

runtime_impl::~runtime_impl() {
    // Clients hold the runtime: when it goes, no client is left. Let posted work finish.
    guards_.clear();
    for (auto& context : contexts_) context->stop();
    for (auto& t : threads_) t.join();
}

std::shared_ptr<executor> runtime_impl::network_executor() {
    return std::make_shared<io_executor>(*contexts_.front());
}

boost::asio::io_context& runtime_impl::next() noexcept {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace detail
}  // namespace tern::client
