// A commit port (core/commit_port.hpp) for unit tests of the core: entries wait until the test
// commits them, then are applied to the store in one batch and completed in order, on the test's
// thread. It can refuse (full), or fail the next commit, on demand.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <tern/core/commit_port.hpp>
#include <tern/storage/store.hpp>

namespace tern::test {

class manual_commits final : public core::commit_port {
public:
    explicit manual_commits(storage::store& store) : store_(store) {}

    [[nodiscard]] bool try_submit(storage::log_entry entry, completion done) override {
        if (full_) return false;
        entries_.push_back(std::move(entry));
        completions_.push_back(std::move(done));
        return true;
    }

    // Applies everything waiting as one batch and runs the completions in order; with
    // fail_next(ec), completes them all with that error instead. Returns how many.
    std::size_t commit() {
        auto entries = std::exchange(entries_, {});
        auto completions = std::exchange(completions_, {});
        if (entries.empty()) return 0;
        if (fail_) {
            const auto ec = std::exchange(fail_, {});
            for (auto& done : completions) {
                if (done) done(ec);
            }
            return completions.size();
        }
        auto results = store_.apply(entries, storage::durability::memory);
        for (std::size_t i = 0; i < completions.size(); ++i) {
            if (!completions[i]) continue;
            completions[i](results ? std::move((*results)[i])
                                   : storage::entry_result(results.error()));
        }
        return completions.size();
    }

    void set_full(bool full) { full_ = full; }
    void fail_next(boost::system::error_code ec) { fail_ = ec; }
    [[nodiscard]] std::size_t waiting() const noexcept { return entries_.size(); }

private:
    storage::store& store_;
    std::vector<storage::log_entry> entries_;
    std::vector<completion> completions_;
    bool full_ = false;
    boost::system::error_code fail_;
};

}  // namespace tern::test
