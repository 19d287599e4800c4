// Scheduled messages through the core (docs/notifications.md, "Scheduled messages"): stored
// durably, listed to the sender's devices, edited or cancelled until released, released on the
// core's clock with the seq of their release, once, also after a restart; refusals. The clock is
// the manual router's: nothing sleeps.
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "schedule_desk.hpp"
#include "tern/v1/notifications.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;
namespace st = tern::storage;

namespace {

v1::Frame schedule_frame(std::uint64_t req_id, const st::conv_id& conv, const std::string& text,
                         std::int64_t at_ms, const std::string& client_msg_id = "s-1") {
    v1::Frame f;
    f.set_req_id(req_id);
    auto& s = *f.mutable_schedule_send();
    core::to_proto(conv, *s.mutable_conv());
    s.set_client_msg_id(client_msg_id);
    s.mutable_content()->set_text(text);
    s.set_at_ms(at_ms);
    return f;
}

v1::Frame edit_frame(std::uint64_t req_id, std::uint64_t id, const std::string& text,
                     std::optional<std::int64_t> at_ms = std::nullopt) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto& e = *f.mutable_edit_scheduled();
    e.set_schedule_id(id);
    e.mutable_content()->set_text(text);
    if (at_ms) e.set_release_at_ms(*at_ms);
    return f;
}

v1::Frame cancel_frame(std::uint64_t req_id, std::uint64_t id) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_cancel_scheduled()->set_schedule_id(id);
    return f;
}

v1::Frame list_frame(std::uint64_t req_id) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_list_scheduled();
    return f;
}

// The texts of a conversation's messages, in timeline order.
std::vector<std::string> texts(const st::store& store, const st::conv_id& conv) {
    std::vector<std::string> out;
    for (const auto& e : store.timeline(acme, conv, 1, st::direction::forward, 100).value()) {
        v1::Event ev;
        REQUIRE(ev.ParseFromString(*e.bytes));
        if (ev.has_message()) out.push_back(ev.message().content().text());
    }
    return out;
}

// Alice (8) on two devices, Bob (9) online; their direct conversation.
struct alice_and_bob {
    service_harness h;
    std::shared_ptr<fake_device> alice = h.open({acme, 8, 80}, 0);
    std::shared_ptr<fake_device> tablet = h.open({acme, 8, 81}, 1);
    std::shared_ptr<fake_device> bob = h.open({acme, 9, 90}, 1);
    st::conv_id conv = st::conv_id::direct(8, 9);
    std::int64_t now = h.router.unix_ms();

    v1::ScheduledMessage schedule(std::uint64_t req_id, const std::string& text, std::int64_t at_ms,
                                  const std::string& cmid = "s-1") {
        h.request(alice, schedule_frame(req_id, conv, text, at_ms, cmid));
        const auto r = alice->reply_to(req_id);
        REQUIRE(r);
        REQUIRE(r->has_scheduled_message());
        return r->scheduled_message();
    }
    [[nodiscard]] std::vector<v1::ScheduledUpdate> updates_on(const fake_device& d) const {
        std::vector<v1::ScheduledUpdate> out;
        for (const auto& f : d.of(v1::Frame::kScheduledUpdate)) out.push_back(f.scheduled_update());
        return out;
    }
};

}  // namespace

TEST_CASE("scheduled: stored and listed, released at its time with the seq of its release",
          "[unit][core]") {
    alice_and_bob t;
    const auto m = t.schedule(5, "good morning", t.now + 10 * 60'000);
    CHECK(m.schedule_id() == core::schedule_desk::id_for(acme, 8, "s-1"));
    CHECK(m.release_at_ms() == t.now + 10 * 60'000);
    CHECK(m.created_ms() == t.now);
    CHECK(m.content().text() == "good morning");
    // Durable, and every device of the sender hears of it.
    REQUIRE(t.h.store->scheduled(acme, 8, m.schedule_id()).value());
    for (const auto* d : {t.alice.get(), t.tablet.get()}) {
        const auto u = t.updates_on(*d);
        REQUIRE(u.size() == 1);
        CHECK(u[0].state() == v1::SCHEDULED_STATE_SCHEDULED);
        CHECK(u[0].scheduled().schedule_id() == m.schedule_id());
    }
    t.h.request(t.tablet, list_frame(6));
    const auto listed = t.tablet->reply_to(6)->scheduled_list();
    REQUIRE(listed.scheduled_size() == 1);
    CHECK(listed.scheduled(0).content().text() == "good morning");
    CHECK(t.bob->of(v1::Frame::kPush).empty());

    // Meanwhile an ordinary message: the scheduled one comes after it.
    t.h.request(t.alice, text_send(7, t.conv, "now", "c-7"));
    t.h.advance(10min - 1ms);
    CHECK(texts(*t.h.store, t.conv) == std::vector<std::string>{"now"});
    t.h.advance(1ms);
    CHECK(texts(*t.h.store, t.conv) == std::vector<std::string>{"now", "good morning"});
    const auto pushes = t.bob->of(v1::Frame::kPush);
    REQUIRE(pushes.size() == 2);
    const auto& released = pushes[1].push().event();
    CHECK(released.message().content().text() == "good morning");
    CHECK(released.sender() == 8);
    CHECK(released.client_msg_id() == "s-1");
    CHECK(released.server_time_ms() == t.now + 10 * 60'000);  // its release, not its scheduling
    const auto u = t.updates_on(*t.tablet);
    REQUIRE(u.size() == 2);
    CHECK(u[1].state() == v1::SCHEDULED_STATE_RELEASED);
    CHECK(u[1].seq() == released.seq());
    CHECK_FALSE(t.h.store->scheduled(acme, 8, m.schedule_id()).value());
    t.h.request(t.tablet, list_frame(8));
    CHECK(t.tablet->reply_to(8)->scheduled_list().scheduled_size() == 0);

    // Released once: later polls find nothing.
    t.h.advance(10min);
    CHECK(texts(*t.h.store, t.conv).size() == 2);
}

TEST_CASE("scheduled: edited and moved, or cancelled, until released, then not found",
          "[unit][core]") {
    alice_and_bob t;
    const auto first = t.schedule(5, "draft", t.now + 60'000, "s-1");
    const auto second = t.schedule(6, "never", t.now + 60'000, "s-2");
    t.h.request(t.alice, edit_frame(7, first.schedule_id(), "final", t.now + 120'000));
    const auto edited = t.alice->reply_to(7);
    REQUIRE(edited->has_scheduled_message());
    CHECK(edited->scheduled_message().content().text() == "final");
    CHECK(edited->scheduled_message().release_at_ms() == t.now + 120'000);
    t.h.request(t.tablet, cancel_frame(8, second.schedule_id()));
    REQUIRE(t.tablet->reply_to(8)->has_ok());
    const auto u = t.updates_on(*t.alice);
    REQUIRE(u.size() == 4);
    CHECK(u[2].state() == v1::SCHEDULED_STATE_EDITED);
    CHECK(u[3].state() == v1::SCHEDULED_STATE_CANCELLED);
    CHECK(u[3].scheduled().schedule_id() == second.schedule_id());

    t.h.advance(1min);  // the first one's old time: nothing (it moved), nor the cancelled
    CHECK(texts(*t.h.store, t.conv).empty());
    t.h.advance(1min);
    CHECK(texts(*t.h.store, t.conv) == std::vector<std::string>{"final"});

    for (const auto id : {first.schedule_id(), second.schedule_id()}) {
        t.h.request(t.alice, edit_frame(9, id, "too late"));
        CHECK(t.alice->reply_to(9)->error().code() == v1::NOT_FOUND);
        t.alice->frames.clear();
        t.h.request(t.alice, cancel_frame(10, id));
        CHECK(t.alice->reply_to(10)->error().code() == v1::NOT_FOUND);
        t.alice->frames.clear();
    }
}

TEST_CASE("scheduled: a retry answers the stored one, another request with its id is refused",
          "[unit][core]") {
    alice_and_bob t;
    const auto m = t.schedule(5, "hello", t.now + 60'000);
    const auto again = t.schedule(6, "hello", t.now + 60'000);
    CHECK(again.schedule_id() == m.schedule_id());
    CHECK(t.h.store->scheduled_of(acme, 8).value().size() == 1);
    t.h.request(t.alice, schedule_frame(7, t.conv, "something else", t.now + 60'000));
    CHECK(t.alice->reply_to(7)->error().code() == v1::CLIENT_MSG_ID_REUSED);
    // An id a sent message carries already.
    t.h.request(t.alice, text_send(8, t.conv, "sent", "c-8"));
    t.h.request(t.alice, schedule_frame(9, t.conv, "later", t.now + 60'000, "c-8"));
    CHECK(t.alice->reply_to(9)->error().code() == v1::CLIENT_MSG_ID_REUSED);
    // Another tenant's user with the same id sees none of it and changes nothing.
    auto other = t.h.open({acme + 1, 8, 80}, 0);
    t.h.request(other, list_frame(10));
    CHECK(other->reply_to(10)->scheduled_list().scheduled_size() == 0);
    t.h.request(other, cancel_frame(11, m.schedule_id()));
    CHECK(other->reply_to(11)->error().code() == v1::NOT_FOUND);
    t.h.request(other, edit_frame(12, m.schedule_id(), "hijacked"));
    CHECK(other->reply_to(12)->error().code() == v1::NOT_FOUND);
    CHECK(t.h.store->scheduled(acme, 8, m.schedule_id()).value()->content ==
          m.content().SerializeAsString());
}

TEST_CASE("scheduled: refusals name what is wrong, and nothing is stored", "[unit][core]") {
    alice_and_bob t;
    const auto refused = [&](std::uint64_t req_id, v1::Frame f) {
        f.set_req_id(req_id);
        t.h.request(t.alice, f);
        const auto r = t.alice->reply_to(req_id);
        REQUIRE(r);
        REQUIRE(r->has_error());
        return r->error().code();
    };
    CHECK(refused(1, schedule_frame(0, t.conv, "past", t.now - 60'001)) == v1::INVALID_ARGUMENT);
    CHECK(refused(2, schedule_frame(0, t.conv, "far", t.now + 367LL * 24 * 3'600'000)) ==
          v1::INVALID_ARGUMENT);
    auto urgent = schedule_frame(0, t.conv, "now!", t.now + 60'000);
    urgent.mutable_schedule_send()->mutable_content()->set_flags(v1::MESSAGE_FLAG_URGENT);
    urgent.mutable_schedule_send()->mutable_content()->set_urgent_reason("fire");
    CHECK(refused(3, urgent) == v1::INVALID_ARGUMENT);
    CHECK(refused(4, schedule_frame(0, st::conv_id::direct(2, 3), "not mine", t.now + 1)) ==
          v1::NOT_MEMBER);
    auto no_time = schedule_frame(0, t.conv, "when?", 0);
    no_time.mutable_schedule_send()->clear_release();
    CHECK(refused(5, no_time) == v1::INVALID_ARGUMENT);
    auto stranger = schedule_frame(0, t.conv, "x", 0);
    stranger.mutable_schedule_send()->set_at_work_start_of(5);
    CHECK(refused(6, stranger) == v1::INVALID_ARGUMENT);
    CHECK(refused(7, schedule_frame(0, t.conv, std::string(16 * 1024 + 1, 'x'), t.now + 1)) ==
          v1::CONTENT_TOO_LARGE);
    CHECK(t.h.store->scheduled_of(acme, 8).value().empty());

    // A time just past (the sender's clock, the way here) means now.
    CHECK(t.schedule(8, "now", t.now - 1'000, "just-past").release_at_ms() == t.now);
    // At most 100 waiting per sender.
    for (int i = 0; i < 99; ++i) {
        t.schedule(100 + i, "n", t.now + 60'000, "many-" + std::to_string(i));
    }
    CHECK(refused(300, schedule_frame(0, t.conv, "one more", t.now + 60'000, "many-100")) ==
          v1::SCHEDULED_LIMIT);
}

TEST_CASE("scheduled: at the recipient's next work start, or now when they are at work",
          "[unit][core]") {
    alice_and_bob t;
    v1::NotificationSettings s;  // Monday to Friday, 09:00 to 17:00 UTC; the clock: Friday 08:00
    auto* hours = s.mutable_hours();
    hours->set_time_zone("UTC");
    hours->set_work_days(0b001'1111);
    hours->set_start("09:00");
    hours->set_end("17:00");
    t.h.request(t.bob, settings_frame(1, s));
    auto f = schedule_frame(5, t.conv, "when you are in", 0);
    f.mutable_schedule_send()->set_at_work_start_of(9);
    t.h.request(t.alice, f);
    const auto m = t.alice->reply_to(5)->scheduled_message();
    CHECK(m.release_at_ms() == t.now + 3'600'000);
    t.h.advance(1h);
    CHECK(texts(*t.h.store, t.conv) == std::vector<std::string>{"when you are in"});
    // At work now: released at once.
    f.set_req_id(6);
    f.mutable_schedule_send()->set_client_msg_id("s-2");
    t.h.request(t.alice, f);
    CHECK(t.alice->reply_to(6)->scheduled_message().release_at_ms() == t.h.router.unix_ms());
    t.h.advance(0ms);
    CHECK(texts(*t.h.store, t.conv).size() == 2);
}

TEST_CASE("scheduled: a release the owner refuses for good is removed and told as failed",
          "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto member = h.open({acme, 2, 20}, 1);
    const auto group = create_group(h, owner, {2});
    auto f = schedule_frame(5, group, "after I leave", h.router.unix_ms() + 60'000);
    h.request(member, f);
    const auto id = member->reply_to(5)->scheduled_message().schedule_id();
    v1::Frame leave;
    leave.set_req_id(6);
    core::to_proto(group, *leave.mutable_group_leave()->mutable_conv());
    leave.mutable_group_leave()->set_client_msg_id("leave");
    h.request(member, leave);
    REQUIRE(member->reply_to(6)->has_send_ack());
    h.advance(1min);
    const auto updates = member->of(v1::Frame::kScheduledUpdate);
    REQUIRE(updates.size() == 2);
    CHECK(updates[1].scheduled_update().state() == v1::SCHEDULED_STATE_FAILED);
    CHECK(updates[1].scheduled_update().error_code() == v1::NOT_MEMBER);
    CHECK_FALSE(h.store->scheduled(acme, 2, id).value());
}

TEST_CASE("scheduled: a restart releases what came due, once, even if it was sent before the crash",
          "[unit][core]") {
    core_harness base;
    const auto conv = st::conv_id::direct(8, 9);
    const auto at = base.router.unix_ms() + 60'000;
    {
        core::service core{base.router, *base.store,    base.commits,
                           base.limits, base.telemetry, base.router};
        auto alice = fake_device::make({acme, 8, 80}, 0);
        core.on_open(alice, hello_frame().hello(), welcome_frame());
        base.settle();
        auto one = schedule_frame(5, conv, "one", at, "s-1");
        auto two = schedule_frame(6, conv, "two", at + 1, "s-2");
        core.on_request(alice, one);
        core.on_request(alice, two);
        base.settle();
        REQUIRE(alice->reply_to(5)->has_scheduled_message());
        // "two" was sent, but the crash came before its record was removed: its release must
        // find the message its id already names.
        auto sent = text_send(7, conv, "two", "s-2");
        core.on_request(alice, sent);
        base.settle();
        REQUIRE(alice->reply_to(7)->has_send_ack());
    }
    // The core stopped (its timers with it) and the clock went on past both times.
    base.router = manual_router(2, at + 3'600'000);
    core::service core{base.router, *base.store,    base.commits,
                       base.limits, base.telemetry, base.router};
    base.settle();  // the first poll, at start
    CHECK(texts(*base.store, conv) == std::vector<std::string>{"two", "one"});
    CHECK(base.store->scheduled_of(acme, 8).value().empty());
    base.advance(10min);
    CHECK(texts(*base.store, conv).size() == 2);
}
