// The conversation owner, through the core's facade on a manual router and a commit port
// committed by hand: dedup (in flight and stored), decisions, commits, acknowledgements and the
// pushes they cause, back-pressure, failed commits, typing.
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "order_fence.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {}  // namespace

TEST_CASE("a send is acknowledged once durable and pushed to every member device", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob_phone = h.open({acme, 9, 90}, 1);
    auto bob_desk = h.open({acme, 9, 91}, 0);
    const auto conv = st::conv_id::direct(8, 9);

    h.submit(alice, text_send(5, conv, "hi", "c-1"));
    h.router.run();
    CHECK(h.commits.waiting() == 1);
    CHECK_FALSE(alice->reply_to(5));  // not before the entry is durable
    h.settle();

    const auto ack = alice->reply_to(5);
    REQUIRE(ack);
    REQUIRE(ack->has_send_ack());
    CHECK(ack->send_ack().seq() == 1);
    CHECK_FALSE(ack->send_ack().duplicate());
    CHECK(bob_phone->pushed() == std::vector<std::uint64_t>{1});
    CHECK(bob_desk->pushed() == std::vector<std::uint64_t>{1});
    CHECK(alice->pushed() == std::vector<std::uint64_t>{1});  // the sender's devices too
    CHECK(bob_phone->frames.back().push().event().message().content().text() == "hi");
    CHECK(h.telemetry.received == 1);
    CHECK(h.telemetry.fanouts == std::vector<std::size_t>{2});
}

TEST_CASE("the owner's shard decides, and the request hops there", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 1);
    const auto conv = st::conv_id::direct(8, 9);  // owned by shard 8 % 2 = 0
    h.router.take_posts();
    h.submit(alice, text_send(5, conv, "hi", "c-1"));
    CHECK(h.router.take_posts() == std::vector<std::size_t>{0});
    h.settle();
    CHECK(alice->reply_to(5)->send_ack().seq() == 1);
}

TEST_CASE("a retry in flight waits for the original, and a retry after it gets the stored seq",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    h.submit(alice, text_send(1, conv, "hi", "c-1"));
    h.submit(alice, text_send(2, conv, "hi", "c-1"));
    h.router.run();
    CHECK(h.commits.waiting() == 1);  // one entry for both
    h.settle();
    CHECK(alice->reply_to(1)->send_ack().seq() == 1);
    CHECK_FALSE(alice->reply_to(1)->send_ack().duplicate());
    CHECK(alice->reply_to(2)->send_ack().seq() == 1);
    CHECK(alice->reply_to(2)->send_ack().duplicate());

    h.request(alice, text_send(3, conv, "hi", "c-1"));
    CHECK(alice->reply_to(3)->send_ack().seq() == 1);
    CHECK(alice->reply_to(3)->send_ack().duplicate());
    CHECK(h.store->conversation(acme, conv).value()->head_seq == 1);

    h.request(alice, text_send(4, st::conv_id::direct(8, 10), "hi", "c-1"));
    CHECK(alice->reply_to(4)->error().code() == v1::CLIENT_MSG_ID_REUSED);
}

TEST_CASE("a full commit port refuses retryably and the owner remembers nothing of it",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    h.commits.set_full(true);
    h.request(alice, text_send(1, conv, "hi", "c-1"));
    const auto refused = alice->reply_to(1);
    REQUIRE(refused);
    CHECK(refused->error().code() == v1::UNAVAILABLE);
    CHECK(refused->error().retryable());
    CHECK(h.telemetry.count(core::failure::commit_queue_full) == 1);

    h.commits.set_full(false);
    h.request(alice, text_send(2, conv, "hi", "c-1"));
    CHECK(alice->reply_to(2)->send_ack().seq() == 1);  // not 2: the refused one took no seq
    CHECK_FALSE(alice->reply_to(2)->send_ack().duplicate());
}

TEST_CASE("a failed commit refuses every request waiting, and the next one starts afresh",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto conv = st::conv_id::direct(8, 9);
    h.submit(alice, text_send(1, conv, "one", "c-1"));
    h.submit(alice, text_send(2, conv, "one", "c-1"));  // a retry, waiting
    h.router.run();
    h.commits.fail_next(make_error_code(st::errc::no_space));
    h.settle();
    CHECK(alice->reply_to(1)->error().code() == v1::STORAGE_FULL);
    CHECK(alice->reply_to(2)->error().code() == v1::STORAGE_FULL);
    CHECK(bob->pushed().empty());
    CHECK(h.telemetry.count(core::failure::commit_failed) == 1);

    h.request(alice, text_send(3, conv, "one", "c-1"));
    CHECK(alice->reply_to(3)->send_ack().seq() == 1);
    CHECK(bob->pushed() == std::vector<std::uint64_t>{1});
}

TEST_CASE("a group is created by its owner for its members, and a retry names the same group",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto group = create_group(h, alice, {9, 10});
    CHECK(bob->pushed() == std::vector<std::uint64_t>{1});
    CHECK(bob->frames.back().push().event().has_group_created());
    CHECK(h.store->members(acme, group).value().size() == 3);
    CHECK(create_group(h, alice, {9, 10}) == group);  // answered from dedup
    CHECK(h.store->conversation(acme, group).value()->head_seq == 1);
}

TEST_CASE("typing reaches the other members' devices, from members only", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    auto carol = h.open({acme, 10, 100}, 1);
    auto mallory = h.open({acme, 11, 110}, 0);
    const auto group = create_group(h, alice, {9, 10});
    const auto typing_in = [&](std::uint64_t req_id) {
        v1::Frame f;
        f.set_req_id(req_id);
        core::to_proto(group, *f.mutable_typing()->mutable_conv());
        f.mutable_typing()->set_typing(true);
        return f;
    };
    h.request(bob, typing_in(3));
    for (const auto& d : {alice, carol}) {
        const auto seen = d->of(v1::Frame::kTyping);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].typing().user_id() == 9);
    }
    CHECK(bob->of(v1::Frame::kTyping).empty());
    CHECK(mallory->of(v1::Frame::kTyping).empty());

    h.request(mallory, typing_in(4));
    CHECK(mallory->reply_to(4)->error().code() == v1::NOT_MEMBER);
    CHECK(alice->of(v1::Frame::kTyping).size() == 1);

    carol->room = false;  // a busy device misses typing, and nothing else happens
    h.request(bob, typing_in(5));
    CHECK(carol->of(v1::Frame::kTyping).size() == 1);
    CHECK_FALSE(carol->closed_with());
}

TEST_CASE("typing costs the store nothing once the owner knows the conversation", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto bob = h.open({acme, 9, 90}, 1);
    const auto group = create_group(h, alice, {9});
    v1::Frame f;
    core::to_proto(group, *f.mutable_typing()->mutable_conv());
    f.mutable_typing()->set_typing(true);
    const auto reads = h.counted.member_reads.load() + h.counted.conversation_reads.load();
    for (int i = 0; i < 3; ++i) h.request(alice, f);
    CHECK(bob->of(v1::Frame::kTyping).size() == 3);
    // The owner's cached membership answers every typing frame.
    CHECK(h.counted.member_reads.load() + h.counted.conversation_reads.load() == reads);
}

TEST_CASE("after a refusal for back-pressure the device's requests still land in the order sent",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    auto alice_desk = h.open({acme, 8, 81}, 1);
    const auto conv = st::conv_id::direct(8, 9);
    const auto other = st::conv_id::direct(8, 10);
    h.commits.set_full(true);
    h.request(alice, text_send(1, conv, "first", "k-1"));
    CHECK(alice->reply_to(1)->error().code() == v1::UNAVAILABLE);
    h.commits.set_full(false);
    // The client pipelined k-2 behind k-1: it must not land first.
    h.request(alice, text_send(2, conv, "second", "k-2"));
    CHECK(alice->reply_to(2)->error().code() == v1::UNAVAILABLE);
    CHECK(alice->reply_to(2)->error().retryable());
    // Other conversations and other devices are not held up.
    h.request(alice, text_send(3, other, "elsewhere", "k-3"));
    CHECK(alice->reply_to(3)->send_ack().seq() == 1);
    h.request(alice_desk, text_send(4, conv, "from the desk", "d-1"));
    CHECK(alice_desk->reply_to(4)->send_ack().seq() == 1);
    // The retries, in the order the client made the sends.
    h.request(alice, text_send(5, conv, "first", "k-1"));
    h.request(alice, text_send(6, conv, "second", "k-2"));
    CHECK(alice->reply_to(5)->send_ack().seq() == 2);
    CHECK(alice->reply_to(6)->send_ack().seq() == 3);
}

TEST_CASE("a fence whose refused request never comes back falls after its hold", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    const auto conv = st::conv_id::direct(8, 9);
    h.commits.set_full(true);
    h.request(alice, text_send(1, conv, "abandoned", "k-1"));
    h.commits.set_full(false);
    h.request(alice, text_send(2, conv, "next", "k-2"));
    CHECK(alice->reply_to(2)->error().code() == v1::UNAVAILABLE);
    h.router.advance(core::order_fence::hold);
    h.request(alice, text_send(3, conv, "next", "k-2"));
    CHECK(alice->reply_to(3)->send_ack().seq() == 1);
}
