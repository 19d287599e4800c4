// Where the core hands its decided entries to be made durable ("decide, then apply",
// DESIGN.md): on one node the store's group-commit writer (writer_commit_port below); in a
// cluster, the partition's replicated log. Tests give the core a port they commit by hand.
//
// Contract, for every implementation: try_submit() is called from any thread and never blocks on
// I/O; a full port refuses (false, and `done` is neither run nor kept) rather than grow without
// bound; `done` runs exactly once per accepted entry, after the entry is durable (or failed),
// with completions in submission order on one thread of the port's. A completion must be short
// and only post (router::post).
#pragma once

#include <functional>

#include <tern/storage/commit_writer.hpp>

namespace tern::core {

class commit_port {
public:
    using completion = std::function<void(storage::entry_result)>;

    virtual ~commit_port() = default;
    [[nodiscard]] virtual bool try_submit(storage::log_entry entry, completion done) = 0;
};

// The single node's port: the store's group-commit writer (storage/commit_writer.hpp).
class writer_commit_port final : public commit_port {
public:
    explicit writer_commit_port(storage::commit_writer& writer) : writer_(writer) {}
    [[nodiscard]] bool try_submit(storage::log_entry entry, completion done) override {
        return writer_.try_submit(std::move(entry), std::move(done));
    }

private:
    storage::commit_writer& writer_;
};

}  // namespace tern::core
