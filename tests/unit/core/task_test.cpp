// The shard task: a move-only callable that keeps small captures inline and large ones on the
// heap, runs what it holds, and destroys its captures exactly once.
#include <tern/core/task.hpp>

#include <array>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

using tern::core::task;

TEST_CASE("a task runs its callable, small or large, and moves with it", "[unit][core]") {
    int ran = 0;
    task small([&ran] { ++ran; });
    std::array<char, task::inline_bytes + 64> big{};  // too large to keep inline
    big[3] = 7;
    task large([&ran, big] { ran += big[3]; });
    CHECK(static_cast<bool>(small));
    small();
    large();
    CHECK(ran == 8);

    task moved(std::move(large));
    CHECK_FALSE(static_cast<bool>(large));  // NOLINT(bugprone-use-after-move): emptied on purpose
    moved();
    CHECK(ran == 15);
    moved = std::move(small);
    moved();
    CHECK(ran == 16);
    CHECK_FALSE(static_cast<bool>(task{}));
}

TEST_CASE("a task owns its captures: move-only ones, destroyed once", "[unit][core]") {
    auto owned = std::make_shared<int>(1);
    std::weak_ptr<int> watch = owned;
    {
        task t([p = std::move(owned), u = std::make_unique<int>(2)] { *p += *u; });
        std::vector<task> queue;
        queue.push_back(std::move(t));
        queue.emplace_back([] {});
        for (auto& q : queue) q();
        CHECK(*watch.lock() == 3);
        CHECK(watch.use_count() == 1);  // one copy of the capture, in the queue
        auto& self = queue[0];
        queue[0] = std::move(self);  // a self-move keeps it
        queue[0]();
        CHECK(*watch.lock() == 5);
    }
    CHECK(watch.expired());

    std::vector<int> big(1000, 1);
    auto heavy = std::make_shared<int>(0);
    std::weak_ptr<int> heavy_watch = heavy;
    {
        std::array<std::shared_ptr<int>, 40> many;  // 640 bytes of captures: on the heap
        many.fill(heavy);
        heavy.reset();
        task t([many = std::move(many)] { *many[0] += static_cast<int>(many.size()); });
        task t2 = std::move(t);
        t2();
        CHECK(heavy_watch.use_count() == 40);
    }
    CHECK(heavy_watch.expired());
}
