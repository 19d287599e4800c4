#include <tern/storage/commit_writer.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "forwarding_store.hpp"
#include "store_fixtures.hpp"

using namespace tern::test;

namespace {

constexpr st::tenant_id tenant = 1;

// A store decorator whose writes fail on demand, as a full disk would make them, or wait at a
// gate, as a stalled disk would.
class failing_store final : public forwarding_store {
public:
    using forwarding_store::forwarding_store;
    std::atomic<bool> fail{false};
    std::atomic<int> synced{0};     // publish() calls that synced
    std::shared_future<void> gate;  // when valid, apply() waits for it
    std::promise<void> at_gate;     // set when the first apply() waits there

    st::result<std::vector<st::entry_result>> apply(std::span<const st::log_entry> entries,
                                                    st::durability mode) override {
        if (gate.valid()) {
            if (!waited_) {
                waited_ = true;
                at_gate.set_value();
            }
            gate.wait();
        }
        if (fail) return make_error_code(st::errc::no_space);
        return inner_.apply(entries, mode);
    }
    st::result<staged> stage(std::span<const st::log_entry> entries) override {
        if (fail) return make_error_code(st::errc::no_space);
        return inner_.stage(entries);
    }
    st::result<void> publish(const staged_token& token, bool sync) override {
        if (sync) ++synced;
        return inner_.publish(token, sync);
    }

private:
    bool waited_ = false;  // the writer's thread only
};

// Submits n messages for conversation (1, peer) in one call and returns their futures.
std::vector<std::future<st::entry_result>> submit_messages(st::commit_writer& w, st::user_id peer,
                                                           st::seq_t from, st::seq_t n) {
    std::vector<st::commit_writer::request> requests;
    std::vector<std::future<st::entry_result>> futures;
    for (st::seq_t seq = from; seq < from + n; ++seq) {
        auto p = std::make_shared<std::promise<st::entry_result>>();
        futures.push_back(p->get_future());
        st::log_entry e =
            seq == 1 ? first_direct(tenant, 1, peer)
                     : st::log_entry{message(tenant, st::conv_id::direct(1, peer), seq, 1)};
        requests.push_back({std::move(e), [p](st::entry_result r) { p->set_value(std::move(r)); }});
    }
    w.submit(std::move(requests));
    return futures;
}

}  // namespace

TEST_CASE("entries submitted together commit as one batch, in order", "[unit][storage][writer]") {
    rocks_factory f;
    st::commit_writer w(*f.store, {st::durability::fsync, 4096});
    auto futures = submit_messages(w, 2, 1, 100);
    std::uint64_t inbox = 0;
    for (auto& fut : futures) {
        auto r = fut.get();
        REQUIRE(r.has_value());
        REQUIRE(r->inbox.at(0).inbox_seq == ++inbox);
    }
    const auto stats = w.stats();
    CHECK(stats.commits == 1);
    CHECK(stats.entries == 100);
    CHECK(stats.max_batch == 100);
}

TEST_CASE("batches respect the entry limit", "[unit][storage][writer]") {
    auto s = st::make_memory_store();
    st::commit_writer w(*s, {st::durability::memory, 3});
    auto futures = submit_messages(w, 2, 1, 10);
    for (auto& fut : futures) REQUIRE(fut.get().has_value());
    CHECK(w.stats().commits == 4);
    CHECK(w.stats().max_batch == 3);
}

TEST_CASE("an entry kept with the next one never ends a batch", "[unit][storage][writer]") {
    auto s = st::make_memory_store();
    std::mutex m;
    std::vector<std::size_t> sizes;
    st::commit_observer observer;
    observer.committed = [&](std::size_t entries, std::chrono::nanoseconds, bool) {
        std::lock_guard lock(m);
        sizes.push_back(entries);
    };
    std::vector<st::commit_writer::request> requests;
    std::vector<std::future<st::entry_result>> futures;
    // Ten positions of one partition; the third and fourth are each kept with the next, so the
    // first batch (limit 3) runs on to the fifth.
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
        auto p = std::make_shared<std::promise<st::entry_result>>();
        futures.push_back(p->get_future());
        requests.push_back({st::log_position{1, seq, seq},
                            [p](st::entry_result r) { p->set_value(std::move(r)); },
                            seq == 3 || seq == 4});
    }
    {
        st::commit_writer w(*s, {st::durability::memory, 3, 0, observer});
        w.submit(std::move(requests));
        for (auto& fut : futures) REQUIRE(fut.get().has_value());
    }
    CHECK(sizes == std::vector<std::size_t>{5, 3, 2});
    CHECK(s->position(1).value()->sequence == 10);
}

TEST_CASE("a completion sees its entry applied", "[unit][storage][writer]") {
    const auto mode = GENERATE(st::durability::os, st::durability::fsync);
    CAPTURE(static_cast<int>(mode));
    rocks_factory f;
    auto& s = *f.store;
    st::commit_writer w(s, {mode, 64});
    std::promise<st::seq_t> head;
    w.submit(first_direct(tenant, 1, 2), [&](st::entry_result r) {
        REQUIRE(r.has_value());
        head.set_value(s.conversation(tenant, st::conv_id::direct(1, 2)).value()->head_seq);
    });
    CHECK(head.get_future().get() == 1);
}

TEST_CASE("entries that need no durability are published without an fsync",
          "[unit][storage][writer]") {
    rocks_factory f;
    failing_store s(*f.store);
    st::commit_writer w(s, {st::durability::fsync, 4096});
    // A standby's positions: visible when complete, not synced.
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        std::promise<std::uint64_t> seen;
        w.submit({{st::log_position{7, seq, seq},
                   [&](st::entry_result r) {
                       REQUIRE(r.has_value());
                       seen.set_value(s.position(7).value()->sequence);
                   },
                   false, false}});
        CHECK(seen.get_future().get() == seq);
    }
    CHECK(s.synced == 0);
    CHECK(w.stats().syncs == 0);
    // One durable request in a batch makes the batch, and what came before it, synced.
    std::promise<void> done;
    w.submit({{st::log_position{7, 4, 4}, {}, false, false},
              {st::log_position{8, 1, 1}, [&](st::entry_result) { done.set_value(); }}});
    done.get_future().get();
    CHECK(s.synced == 1);
    CHECK(w.stats().syncs == 1);
}

TEST_CASE("concurrent submitters all complete, each conversation in order",
          "[unit][storage][writer]") {
    rocks_factory f;
    st::commit_writer w(*f.store, {st::durability::fsync, 512});
    constexpr int threads = 4;
    constexpr st::seq_t per_thread = 200;
    std::vector<std::thread> pool;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const st::user_id peer = 10 + static_cast<st::user_id>(t);
            std::vector<std::future<st::entry_result>> futures;
            for (st::seq_t seq = 1; seq <= per_thread; ++seq) {
                auto batch = submit_messages(w, peer, seq, 1);
                futures.push_back(std::move(batch[0]));
            }
            for (auto& fut : futures) {
                if (!fut.get()) ++failures;
            }
        });
    }
    for (auto& t : pool) t.join();
    CHECK(failures == 0);
    for (int t = 0; t < threads; ++t) {
        CHECK(f.store->conversation(tenant, st::conv_id::direct(1, 10 + t)).value()->head_seq ==
              per_thread);
    }
    CHECK(w.stats().entries == threads * per_thread);
    REQUIRE(f.store->verify().has_value());
}

TEST_CASE("a failed commit fails every entry of its batch and applies none",
          "[unit][storage][writer]") {
    rocks_factory f;
    failing_store s(*f.store);
    st::commit_writer w(s, {st::durability::fsync, 64});
    for (auto& fut : submit_messages(w, 2, 1, 3)) REQUIRE(fut.get().has_value());

    s.fail = true;
    for (auto& fut : submit_messages(w, 2, 4, 5)) {
        auto r = fut.get();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == st::errc::no_space);
    }
    CHECK(f.store->conversation(tenant, st::conv_id::direct(1, 2)).value()->head_seq == 3);
    CHECK(w.stats().failed_commits >= 1);

    // Once writes work again, the same entries go through.
    s.fail = false;
    for (auto& fut : submit_messages(w, 2, 4, 5)) REQUIRE(fut.get().has_value());
    CHECK(f.store->conversation(tenant, st::conv_id::direct(1, 2)).value()->head_seq == 8);
}

TEST_CASE("stopping commits what is pending, then refuses new entries", "[unit][storage][writer]") {
    rocks_factory f;
    auto w = std::make_unique<st::commit_writer>(*f.store,
                                                 st::commit_writer_options{st::durability::os, 8});
    auto futures = submit_messages(*w, 2, 1, 50);
    w->stop();
    for (auto& fut : futures) {
        REQUIRE(fut.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
        REQUIRE(fut.get().has_value());
    }
    std::promise<st::entry_result> late;
    w->submit(message(tenant, st::conv_id::direct(1, 2), 51, 1),
              [&](st::entry_result r) { late.set_value(std::move(r)); });
    auto r = late.get_future().get();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == st::errc::closed);
}

TEST_CASE("a full queue refuses try_submit, counts it, and completes everything it took",
          "[unit][storage][writer]") {
    rocks_factory f;
    failing_store s(*f.store);
    std::promise<void> open;
    s.gate = open.get_future().share();
    st::commit_writer w(s, {st::durability::os, 64, 2});
    std::vector<std::future<st::entry_result>> done;
    const auto try_message = [&](st::seq_t seq) {
        auto p = std::make_shared<std::promise<st::entry_result>>();
        auto fut = p->get_future();
        st::log_entry e = seq == 1
                              ? first_direct(tenant, 1, 2)
                              : st::log_entry{message(tenant, st::conv_id::direct(1, 2), seq, 1)};
        const bool taken =
            w.try_submit(std::move(e), [p](st::entry_result r) { p->set_value(std::move(r)); });
        if (taken) done.push_back(std::move(fut));
        return taken;
    };
    REQUIRE(try_message(1));
    s.at_gate.get_future().wait();  // the writer holds entry 1 and waits at the gate
    CHECK(try_message(2));
    CHECK(try_message(3));
    CHECK_FALSE(try_message(4));  // two wait already: the bound
    CHECK(w.stats().refused_full == 1);
    open.set_value();
    for (auto& fut : done) REQUIRE(fut.get().has_value());
    CHECK(f.store->conversation(tenant, st::conv_id::direct(1, 2)).value()->head_seq == 3);
    CHECK(try_message(4));  // room again
    REQUIRE(done.back().get().has_value());
}
