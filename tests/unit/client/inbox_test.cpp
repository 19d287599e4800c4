// The SDK's inbox as a state machine: every entry reaches the app once, in order, with no gap,
// whatever order pushes and sync pages arrive in; and the Ack follows what the app has done.
#include "inbox.hpp"

#include <random>
#include <vector>

#include <catch2/catch.hpp>

using tern::client::detail::inbox;
namespace v1 = tern::v1;

namespace {

// Entry `inbox_seq` of a direct conversation, carrying its event `seq`.
v1::Push entry(std::uint64_t inbox_seq, std::uint64_t seq = 0, std::uint64_t conv = 7) {
    v1::Push p;
    p.set_inbox_seq(inbox_seq);
    auto* e = p.mutable_event();
    e->mutable_conv()->set_type(v1::CONV_TYPE_DIRECT);
    e->mutable_conv()->set_id(1);
    e->mutable_conv()->set_peer(conv);
    e->set_seq(seq == 0 ? inbox_seq : seq);
    return p;
}

// What the app was handed: inbox_seqs, and which of them were fresh events.
struct app {
    std::vector<std::uint64_t> handed;
    std::vector<std::uint64_t> fresh;
    auto hand() {
        return [this](const v1::Push& p, bool is_fresh) {
            handed.push_back(p.inbox_seq());
            if (is_fresh) fresh.push_back(p.inbox_seq());
        };
    }
};

v1::SyncPage page(std::vector<std::uint64_t> seqs, bool more) {
    v1::SyncPage out;
    for (auto s : seqs) *out.add_events() = entry(s);
    out.set_has_more(more);
    return out;
}

}  // namespace

TEST_CASE("pushes that follow the cursor go to the app, older ones are dropped", "[unit][client]") {
    inbox in(0);
    app a;
    for (std::uint64_t s : {1, 2, 2, 1, 3}) {
        auto p = entry(s);
        CHECK_FALSE(in.on_push(p, a.hand()));
    }
    CHECK(a.handed == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(in.cursor() == 3);
}

TEST_CASE("a gap holds later pushes and asks for one sync, whose page fills it in order",
          "[unit][client]") {
    inbox in(10);
    app a;
    auto p13 = entry(13);
    CHECK(in.on_push(p13, a.hand()));  // 11 and 12 are missing: sync after 10
    auto p14 = entry(14);
    CHECK_FALSE(in.on_push(p14, a.hand()));  // already syncing
    CHECK(in.held() == 2);
    CHECK(a.handed.empty());
    CHECK_FALSE(in.on_sync_page(page({11, 12, 13}, false), a.hand()));
    CHECK(a.handed == std::vector<std::uint64_t>{11, 12, 13, 14});
    CHECK(in.held() == 0);
    CHECK_FALSE(in.syncing());
}

TEST_CASE("a sync goes on page after page while the server has more", "[unit][client]") {
    inbox in(0);
    app a;
    CHECK(in.on_pull());
    CHECK_FALSE(in.on_pull());  // one at a time
    CHECK(in.on_sync_page(page({1, 2}, true), a.hand()));
    CHECK(in.on_sync_page(page({3, 4}, true), a.hand()));
    CHECK_FALSE(in.on_sync_page(page({5}, false), a.hand()));
    CHECK(a.handed == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE(
    "a sync that fails is tried again by the next push, and a lost connection forgets "
    "what it held",
    "[unit][client]") {
    inbox in(0);
    app a;
    auto p3 = entry(3);
    REQUIRE(in.on_push(p3, a.hand()));
    in.on_sync_failed();
    auto p4 = entry(4);
    CHECK(in.on_push(p4, a.hand()));  // a new sync
    in.on_connection_lost();
    CHECK(in.held() == 0);
    CHECK_FALSE(in.syncing());
    CHECK(in.cursor() == 0);  // the next connection resumes from here
}

TEST_CASE("any order of pushes and pages hands every entry once, in order", "[unit][client]") {
    std::mt19937_64 rng(42);
    for (int run = 0; run < 200; ++run) {
        inbox in(0, 8);  // few held: overflowing pushes are read again by the sync
        app a;
        std::uint64_t head = 0;
        bool sync_asked = false;
        for (int step = 0; step < 200; ++step) {
            if (rng() % 3 != 0) {
                ++head;
                if (rng() % 4 == 0) continue;  // this push is lost
                auto p = entry(head);
                sync_asked |= in.on_push(p, a.hand());
            } else if (sync_asked) {
                // The server answers with a page from the cursor, at most 5 entries.
                std::vector<std::uint64_t> seqs;
                for (auto s = in.cursor() + 1; s <= head && seqs.size() < 5; ++s) seqs.push_back(s);
                const bool more = seqs.empty() ? false : seqs.back() < head;
                sync_asked = in.on_sync_page(page(seqs, more), a.hand());
            }
        }
        // Drain: the sync catches up with everything.
        if (!sync_asked) sync_asked = in.on_pull();
        for (int i = 0; sync_asked && i < 100; ++i) {
            std::vector<std::uint64_t> seqs;
            for (auto s = in.cursor() + 1; s <= head && seqs.size() < 5; ++s) seqs.push_back(s);
            sync_asked = in.on_sync_page(page(seqs, !seqs.empty() && seqs.back() < head), a.hand());
        }
        std::vector<std::uint64_t> all(head);
        for (std::uint64_t i = 0; i < head; ++i) all[i] = i + 1;
        REQUIRE(a.handed == all);
    }
}

TEST_CASE("an event the app had is not handed as new again, even after the cursor went back",
          "[unit][client]") {
    inbox in(0);
    app a;
    for (std::uint64_t s = 1; s <= 3; ++s) {
        auto p = entry(s);
        REQUIRE_FALSE(in.on_push(p, a.hand()));
    }
    in.reset_to(1);  // the server's inbox was reset behind the cursor
    auto again = entry(2, 2);
    REQUIRE_FALSE(in.on_push(again, a.hand()));
    auto next = entry(3, 4);  // the conversation's next event, at the server's new inbox_seq
    REQUIRE_FALSE(in.on_push(next, a.hand()));
    CHECK(a.fresh == std::vector<std::uint64_t>{1, 2, 3, 3});
    CHECK(a.handed == std::vector<std::uint64_t>{1, 2, 3, 2, 3});
}

TEST_CASE("the Ack follows what the app has done, once per position per connection",
          "[unit][client]") {
    inbox in(0);
    app a;
    for (std::uint64_t s = 1; s <= 4; ++s) {
        auto p = entry(s);
        REQUIRE_FALSE(in.on_push(p, a.hand()));
    }
    CHECK(in.backlog() == 4);
    CHECK_FALSE(in.take_ack());
    CHECK(in.on_app_done(2));
    CHECK_FALSE(in.on_app_done(1));  // never backwards
    CHECK(in.take_ack() == 2u);
    CHECK_FALSE(in.take_ack());
    CHECK(in.on_app_done(4));
    CHECK(in.take_ack() == 4u);
    CHECK(in.backlog() == 0);
    in.on_connection_lost();
    CHECK(in.take_ack() == 4u);  // said again on the next connection
}
