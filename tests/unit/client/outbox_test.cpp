// The SDK's outbox as a state machine: entries go in order on every connection until answered,
// wait out a retryable error, end on an ack, a final error or their expiry.
#include "outbox.hpp"

#include <catch2/catch.hpp>

using tern::client::detail::outbox;
namespace v1 = tern::v1;
using namespace std::chrono_literals;

namespace {

outbox::pending_send entry(std::string id, std::int64_t expires_ms = 1'000'000) {
    outbox::pending_send e;
    e.entry.client_msg_id = std::move(id);
    e.entry.expires_ms = expires_ms;
    return e;
}

std::vector<std::string> ids(const std::vector<outbox::pending_send*>& due) {
    std::vector<std::string> out;
    for (const auto* e : due) out.push_back(e->entry.client_msg_id);
    return out;
}

v1::Frame ack(std::uint64_t seq) {
    v1::Frame f;
    f.mutable_send_ack()->set_seq(seq);
    return f;
}

v1::Frame error(v1::ErrorCode code, bool retryable, std::uint32_t retry_after_ms = 0) {
    v1::Frame f;
    f.mutable_error()->set_code(code);
    f.mutable_error()->set_retryable(retryable);
    f.mutable_error()->set_retry_after_ms(retry_after_ms);
    return f;
}

const auto t0 = outbox::clock::time_point{} + 1h;

}  // namespace

TEST_CASE("entries go in order, once per connection, until answered", "[unit][client]") {
    outbox box;
    box.add(entry("a"));
    box.add(entry("b"));
    auto due = box.due(true, t0);
    REQUIRE(ids(due) == std::vector<std::string>{"a", "b"});
    outbox::sent(*due[0], 1);
    outbox::sent(*due[1], 2);
    CHECK(box.due(true, t0).empty());  // in flight
    const auto a = box.on_reply("a", ack(5), t0);
    CHECK(a.what == outbox::outcome::acked);
    REQUIRE(a.entry);
    CHECK(a.entry->entry.client_msg_id == "a");
    box.on_connection_lost();
    CHECK(ids(box.due(true, t0)) == std::vector<std::string>{"b"});  // sent again
    CHECK(box.on_reply("a", ack(5), t0).what == outbox::outcome::unknown);
}

TEST_CASE("a retryable error with a named delay waits exactly that, then the entry goes again",
          "[unit][client]") {
    outbox box;
    box.add(entry("a"));
    box.add(entry("b"));
    for (auto* e : box.due(true, t0)) outbox::sent(*e, 1);
    CHECK(box.on_reply("a", error(v1::RATE_LIMITED, true, 200), t0).what ==
          outbox::outcome::retry_later);
    CHECK(box.on_reply("b", error(v1::UNAVAILABLE, true, 5000), t0).what ==
          outbox::outcome::retry_later);
    CHECK(box.next_retry() == t0 + 200ms);
    CHECK(box.due(false, t0 + 199ms).empty());
    CHECK(ids(box.due(false, t0 + 200ms)) == std::vector<std::string>{"a"});
    CHECK(ids(box.due(false, t0 + 5s)) == std::vector<std::string>{"a", "b"});
    CHECK(ids(box.due(true, t0)) == std::vector<std::string>{"a", "b"});  // a new connection
    CHECK(box.size() == 2);
}

TEST_CASE("without a named delay, an entry's retries back off from 100 ms to 5 s, jittered",
          "[unit][client]") {
    outbox box(7);
    box.add(entry("a"));
    auto now = t0;
    std::chrono::milliseconds ceiling = outbox::first_retry;
    for (int round = 1; round <= 10; ++round) {
        INFO("retryable error " << round);
        const auto due = box.due(false, now);
        REQUIRE(due.size() == 1);
        outbox::sent(*due[0], static_cast<std::uint64_t>(round));
        CHECK_FALSE(box.next_retry());  // in flight: nothing waits
        REQUIRE(box.on_reply("a", error(v1::UNAVAILABLE, true), now).what ==
                outbox::outcome::retry_later);
        const auto wait = *box.next_retry() - now;
        CHECK(wait >= ceiling / 2);
        CHECK(wait <= ceiling);
        CHECK(box.due(false, now + wait - 1ms).empty());
        now += wait;
        ceiling = std::min(ceiling * 2, outbox::longest_retry);
    }
    CHECK(ceiling == outbox::longest_retry);  // the cap was reached within the ten rounds
}

TEST_CASE("many entries failing at once retry at spread-out times", "[unit][client]") {
    outbox box(11);
    for (int i = 0; i < 100; ++i) box.add(entry("e" + std::to_string(i)));
    for (auto* e : box.due(true, t0)) outbox::sent(*e, 1);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(box.on_reply("e" + std::to_string(i), error(v1::UNAVAILABLE, true), t0).what ==
                outbox::outcome::retry_later);
    }
    // Due over 50..100 ms, not all at one instant.
    CHECK(box.due(false, t0 + 49ms).empty());
    const auto early = box.due(false, t0 + 75ms).size();
    CHECK(early > 10);
    CHECK(early < 90);
    CHECK(box.due(false, t0 + 100ms).size() == 100);
}

TEST_CASE("a final error or an unexpected answer ends the entry", "[unit][client]") {
    outbox box;
    box.add(entry("a"));
    box.add(entry("b"));
    const auto failed = box.on_reply("a", error(v1::NOT_MEMBER, false), t0);
    CHECK(failed.what == outbox::outcome::failed);
    REQUIRE(failed.entry);
    v1::Frame odd;
    odd.mutable_ok();
    CHECK(box.on_reply("b", odd, t0).what == outbox::outcome::failed);
    CHECK(box.empty());
}

TEST_CASE("entries expire only while not in flight", "[unit][client]") {
    outbox box;
    box.add(entry("old", 100));
    box.add(entry("young", 10'000));
    box.add(entry("flying", 100));
    outbox::sent(*box.due(true, t0)[2], 7);
    const auto expired = box.take_expired(500);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].entry.client_msg_id == "old");
    CHECK(box.size() == 2);
    box.on_connection_lost();
    CHECK(box.take_expired(500).size() == 1);  // "flying" is no longer in flight
    CHECK(box.take_all().size() == 1);
}

TEST_CASE("a request that cannot fit the server's limits is refused before it is sent",
          "[unit][client]") {
    using tern::client::detail::refuse_oversize;
    using tern::client::detail::server_limits;
    namespace tc = tern::client;
    const server_limits defaults;  // before the first Welcome: the protocol's defaults
    const auto send_of = [](std::size_t text, std::size_t custom) {
        v1::Frame f;
        auto* s = f.mutable_send();
        s->mutable_conv()->set_type(v1::CONV_TYPE_DIRECT);
        s->mutable_conv()->set_id(1);
        s->mutable_conv()->set_peer(2);
        s->set_client_msg_id(std::string(64, 'c'));
        if (custom > 0) {
            s->mutable_content()->mutable_custom()->set_type("file/v1");
            s->mutable_content()->mutable_custom()->set_data(std::string(custom, 'd'));
        } else {
            s->mutable_content()->set_text(std::string(text, 't'));
        }
        return f;
    };
    CHECK_FALSE(refuse_oversize(send_of(16 * 1024, 0), defaults));
    const auto big_text = refuse_oversize(send_of(16 * 1024 + 1, 0), defaults);
    REQUIRE(big_text);
    CHECK(big_text->code == tc::error_code::content_too_large);
    CHECK_FALSE(big_text->retryable);
    // A 100 KiB payload: over the content limit, and over the frame limit too.
    const auto payload = refuse_oversize(send_of(0, 100 * 1024), defaults);
    REQUIRE(payload);
    CHECK(payload->code == tc::error_code::content_too_large);
    const auto frame = refuse_oversize(send_of(0, 100 * 1024), {64 * 1024, 1024 * 1024});
    REQUIRE(frame);
    CHECK(frame->code == tc::error_code::frame_too_large);

    // Queued before a Welcome with smaller limits: taken out there, with its error, in order.
    outbox box;
    auto small = entry("small");
    small.frame = send_of(100, 0);
    auto large = entry("large");
    large.frame = send_of(10 * 1024, 0);
    auto in_flight = entry("in flight");
    in_flight.frame = send_of(10 * 1024, 0);
    box.add(std::move(small));
    box.add(std::move(large));
    outbox::sent(box.add(std::move(in_flight)), 7);  // answered by the server, not here
    auto refused = box.take_oversize({64 * 1024, 4 * 1024});
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].first.entry.client_msg_id == "large");
    CHECK(refused[0].second.code == tc::error_code::content_too_large);
    CHECK(box.size() == 2);
}
