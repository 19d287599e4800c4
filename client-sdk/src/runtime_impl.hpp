// The runtime's insides: one io_context per network thread; clients are spread over them.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <tern/client/runtime.hpp>

namespace tern::client::detail {

class runtime_impl final : public runtime {
public:
    explicit runtime_impl(std::size_t threads);
    ~runtime_impl() override;

    [[nodiscard]] std::size_t threads() const noexcept override { return contexts_.size(); }
    [[nodiscard]] std::shared_ptr<executor> network_executor() override;
    // The context for a new client (round robin).
    [[nodiscard]] boost::asio::io_context& next() noexcept;

private:
    using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<work_guard> guards_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace tern::client::detail
