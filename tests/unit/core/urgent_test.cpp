// Urgent messages through the core (docs/notifications.md, "Urgent messages"): who may send them
// (the tenant's policy, by role or by name), the reason, the daily budget, the alert through
// do-not-disturb and mute (row 3), a recipient's limit off hours, and the audit trail.
// The harness clock starts on Friday 2027-01-15 08:00 UTC.
#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "tern/v1/notifications.pb.h"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t hour_ms = 3'600'000;
const auto direct = st::conv_id::direct(1, 2);

v1::Frame urgent_send(std::uint64_t req_id, const st::conv_id& conv, const std::string& text,
                      const std::string& cmid, const std::string& reason = "production is down") {
    auto f = text_send(req_id, conv, text, cmid);
    f.mutable_send()->mutable_content()->set_flags(v1::MESSAGE_FLAG_URGENT);
    f.mutable_send()->mutable_content()->set_urgent_reason(reason);
    return f;
}

// Managers (by role) and user 5 (by name) may send urgent, `budget` a day.
v1::TenantPolicy urgent_policy(std::uint32_t budget = 0) {
    v1::TenantPolicy p;
    p.mutable_urgent()->add_sender_roles("manager");
    p.mutable_urgent()->add_sender_users(5);
    p.mutable_urgent()->set_daily_budget(budget);
    return p;
}

void set_policy(service_harness& h, const v1::TenantPolicy& policy) {
    bool stored = false;
    h.core.set_policy(acme, policy, [&](core::policy_outcome o) {
        stored = o.result == core::policy_outcome::status::stored;
    });
    h.settle();
    REQUIRE(stored);
}

v1::ErrorCode refusal(const std::shared_ptr<fake_device>& d, std::uint64_t req_id) {
    const auto r = d->reply_to(req_id);
    REQUIRE(r);
    REQUIRE(r->has_error());
    return r->error().code();
}

core::requester manager(st::user_id user, st::device_id device) {
    return {acme, user, device, {"staff", "manager"}};
}

}  // namespace

TEST_CASE("urgent: only the senders the tenant's policy names, and with a reason", "[unit][core]") {
    service_harness h;
    auto plain = h.open({acme, 1, 10}, 0);
    auto boss = h.open(manager(1, 11), 1);
    auto named = h.open({acme, 5, 50}, 0);
    h.open({acme, 2, 20}, 1);
    // No policy: nobody.
    h.request(boss, urgent_send(5, direct, "now", "u-1"));
    CHECK(refusal(boss, 5) == v1::PERMISSION_DENIED);

    set_policy(h, urgent_policy());
    h.request(plain, urgent_send(6, direct, "now", "u-2"));
    CHECK(refusal(plain, 6) == v1::PERMISSION_DENIED);
    h.request(boss, urgent_send(7, direct, "now", "u-3"));
    CHECK(boss->reply_to(7)->has_send_ack());
    h.request(named, urgent_send(8, st::conv_id::direct(5, 2), "now", "u-4"));
    CHECK(named->reply_to(8)->has_send_ack());

    // A reason is required, at most 200 bytes, and only with the flag.
    h.request(boss, urgent_send(9, direct, "why?", "u-5", ""));
    CHECK(refusal(boss, 9) == v1::INVALID_ARGUMENT);
    h.request(boss, urgent_send(10, direct, "long", "u-6", std::string(201, 'r')));
    CHECK(refusal(boss, 10) == v1::INVALID_ARGUMENT);
    auto reason_alone = text_send(11, direct, "calm", "u-7");
    reason_alone.mutable_send()->mutable_content()->set_urgent_reason("not urgent");
    h.request(boss, reason_alone);
    CHECK(refusal(boss, 11) == v1::INVALID_ARGUMENT);
}

TEST_CASE("urgent: passes do-not-disturb, mute and quiet hours, and says why", "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy());
    auto boss = h.open(manager(1, 10), 0);
    auto bob = h.open({acme, 2, 20}, 1);
    v1::NotificationSettings asleep;
    asleep.set_dnd_until_ms(h.router.unix_ms() + hour_ms);
    h.request(bob, settings_frame(5, asleep));
    h.request(boss, text_send(6, direct, "fyi", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    h.request(boss, urgent_send(7, direct, "call me", "u-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    const auto pushed = bob->of(v1::Frame::kPush);
    REQUIRE_FALSE(pushed.empty());
    CHECK(pushed.back().push().event().message().content().urgent_reason() == "production is down");

    // Muted to nothing in a group: urgent still alerts; the sender's own devices are never
    // alerted by their own message.
    const auto g = create_group(h, boss, {2});
    v1::Frame mute;
    mute.set_req_id(8);
    core::to_proto(g, *mute.mutable_mute_conversation()->mutable_conv());
    mute.mutable_mute_conversation()->set_level(v1::NOTIFY_LEVEL_NOTHING);
    h.request(bob, mute);
    h.request(boss, urgent_send(9, g, "all hands", "u-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    CHECK(last_notice(*boss) == v1::NOTICE_NONE);
}

TEST_CASE("urgent: each sender's daily budget, spent once per message, new each day",
          "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy(2));
    auto boss = h.open(manager(1, 10), 0);
    auto other = h.open(manager(3, 30), 1);
    h.open({acme, 2, 20}, 1);
    h.request(boss, urgent_send(5, direct, "one", "u-1"));
    // A retry of a stored urgent send is answered as a duplicate and spends nothing.
    h.request(boss, urgent_send(6, direct, "one", "u-1"));
    CHECK(boss->reply_to(6)->send_ack().duplicate());
    // Two sends handed over at once (not yet stored) both count: the second is the last.
    h.submit(boss, urgent_send(7, st::conv_id::direct(1, 3), "two", "u-2"));
    h.submit(boss, urgent_send(8, st::conv_id::direct(1, 4), "three", "u-3"));
    h.settle();
    CHECK(boss->reply_to(7)->has_send_ack());
    CHECK(refusal(boss, 8) == v1::URGENT_BUDGET_SPENT);
    // Another sender has their own budget; plain messages are never counted.
    h.request(other, urgent_send(9, st::conv_id::direct(3, 2), "mine", "o-1"));
    CHECK(other->reply_to(9)->has_send_ack());
    h.request(boss, text_send(10, direct, "plain", "m-1"));
    CHECK(boss->reply_to(10)->has_send_ack());

    // The next day (UTC: the policy has no hours), two more.
    h.router.advance(16h);  // Saturday 00:00
    h.request(boss, urgent_send(11, direct, "saturday", "u-4"));
    CHECK(boss->reply_to(11)->has_send_ack());
}

TEST_CASE("urgent: a recipient may limit who reaches them urgently off hours", "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy());
    auto boss = h.open(manager(1, 10), 0);
    auto named = h.open({acme, 5, 50}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    v1::NotificationSettings limited;
    auto* hours = limited.mutable_hours();
    hours->set_time_zone("UTC");
    hours->set_work_days(0b001'1111);
    hours->set_start("09:00");
    hours->set_end("18:00");
    limited.set_limit_urgent_off_hours(true);
    limited.add_urgent_off_hours_from(5);
    h.request(bob, settings_frame(5, limited));
    REQUIRE(bob->reply_to(5)->has_ok());
    // 08:00, off hours: user 5 reaches Bob, the manager does not (silent, as off hours).
    h.request(boss, urgent_send(6, direct, "early", "u-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    h.request(named, urgent_send(7, st::conv_id::direct(5, 2), "early", "u-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    // At work, the limit does not apply.
    h.router.advance(1h);
    h.request(boss, urgent_send(8, direct, "nine", "u-3"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
}

TEST_CASE("urgent: every urgent send is in the tenant's audit trail, with its reason",
          "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy());
    auto boss = h.open(manager(1, 10), 0);
    auto outsider = h.open({acme + 1, 1, 10, {"manager"}}, 1);
    h.request(boss, urgent_send(5, direct, "one", "u-1", "the site is down"));
    h.router.advance(1s);
    h.request(boss, text_send(6, direct, "plain", "m-1"));
    h.request(boss, urgent_send(7, direct, "two", "u-2", "the payroll run failed"));
    // Another tenant's manager: that tenant has no policy, so nothing is sent or recorded.
    h.request(outsider, urgent_send(8, direct, "mine", "o-1"));
    CHECK(refusal(outsider, 8) == v1::PERMISSION_DENIED);

    v1::UrgentAudit audit;
    REQUIRE(h.core.urgent_audit(acme, 0, 10, audit));
    REQUIRE(audit.records_size() == 2);
    CHECK(audit.records(0).sender() == 1);
    CHECK(audit.records(0).seq() == 1);
    CHECK(audit.records(0).reason() == "the site is down");
    CHECK(audit.records(1).seq() == 3);
    CHECK(audit.records(1).reason() == "the payroll run failed");
    CHECK(audit.next_from_ms() == 0);
    // A page of one: where the next starts.
    v1::UrgentAudit first;
    REQUIRE(h.core.urgent_audit(acme, 0, 1, first));
    CHECK(first.records_size() == 1);
    CHECK(first.next_from_ms() == audit.records(1).time_ms());
    v1::UrgentAudit other;
    REQUIRE(h.core.urgent_audit(acme + 1, 0, 10, other));
    CHECK(other.records_size() == 0);
}

TEST_CASE("urgent: a refused send gives its place in the budget back", "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy(1));
    auto boss = h.open(manager(1, 10), 0);
    h.open({acme, 2, 20}, 1);
    // Refused for its reason before it takes a place: the next one goes.
    h.request(boss, urgent_send(5, direct, "why?", "u-1", ""));
    CHECK(refusal(boss, 5) == v1::INVALID_ARGUMENT);
    // Refused by its owner (a group that does not exist): its place is held until it is
    // presumed failed, ten seconds on.
    h.request(boss, urgent_send(6, st::conv_id::group(77), "anyone?", "u-2"));
    CHECK(refusal(boss, 6) != v1::URGENT_BUDGET_SPENT);
    h.request(boss, urgent_send(7, direct, "you then", "u-3"));
    CHECK(refusal(boss, 7) == v1::URGENT_BUDGET_SPENT);
    h.router.advance(11s);
    h.request(boss, urgent_send(8, direct, "you then", "u-4"));
    CHECK(boss->reply_to(8)->has_send_ack());
    h.request(boss, urgent_send(9, direct, "again", "u-5"));
    CHECK(refusal(boss, 9) == v1::URGENT_BUDGET_SPENT);
}

namespace {

v1::Frame status_request(std::uint64_t req_id, const st::conv_id& conv, st::seq_t seq,
                         std::uint64_t after = 0, std::uint32_t limit = 0) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* q = f.mutable_urgent_status_request();
    core::to_proto(conv, *q->mutable_conv());
    q->set_seq(seq);
    q->set_after_user_id(after);
    q->set_limit(limit);
    return f;
}

bool answered_ok(const std::shared_ptr<fake_device>& d, std::uint64_t req_id) {
    const auto r = d->reply_to(req_id);
    return r && r->has_ok();
}

// The UrgentAcknowledged events a device got, as (user, seq).
std::vector<std::pair<st::user_id, st::seq_t>> acks_heard(const fake_device& d) {
    std::vector<std::pair<st::user_id, st::seq_t>> out;
    for (const auto& f : d.of(v1::Frame::kUrgentAcknowledged)) {
        out.emplace_back(f.urgent_acknowledged().user_id(), f.urgent_acknowledged().seq());
    }
    return out;
}

}  // namespace

TEST_CASE("urgent: members acknowledge, the sender's devices hear it, the status lists who",
          "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy());
    auto boss = h.open(manager(1, 10), 0);
    auto boss_phone = h.open(manager(1, 12), 1);
    auto bob = h.open({acme, 2, 20}, 1);
    auto bob_phone = h.open({acme, 2, 21}, 0);
    auto carol = h.open({acme, 3, 30}, 0);
    const auto g = create_group(h, boss, {2, 3, 4});
    h.request(boss, urgent_send(5, g, "all hands", "u-1"));
    const auto seq = boss->reply_to(5)->send_ack().seq();
    h.request(boss, text_send(6, g, "fyi", "m-1"));
    const auto plain = boss->reply_to(6)->send_ack().seq();

    const auto at = h.router.unix_ms();
    h.request(bob, urgent_ack_frame(7, g, seq));
    CHECK(answered_ok(bob, 7));
    // Both of the sender's devices and Bob's other one hear it, with the time; Carol does not.
    const std::vector<std::pair<st::user_id, st::seq_t>> bobs{{2, seq}};
    CHECK(acks_heard(*boss) == bobs);
    CHECK(acks_heard(*boss_phone) == bobs);
    CHECK(acks_heard(*bob_phone) == bobs);
    CHECK(acks_heard(*carol).empty());
    CHECK(boss->of(v1::Frame::kUrgentAcknowledged).back().urgent_acknowledged().at_ms() == at);
    // Again: Ok, and nothing new is stored or told.
    h.router.advance(1min);
    h.request(bob_phone, urgent_ack_frame(8, g, seq));
    CHECK(answered_ok(bob_phone, 8));
    CHECK(acks_heard(*boss) == bobs);
    CHECK(h.store->urgent_acked(acme, g, seq, 2).value() == at);

    // Two at once from Carol's device: one entry, both answered Ok, told once.
    h.submit(carol, urgent_ack_frame(9, g, seq));
    h.submit(carol, urgent_ack_frame(10, g, seq));
    h.settle();
    CHECK(answered_ok(carol, 9));
    CHECK(answered_ok(carol, 10));
    CHECK(acks_heard(*boss).size() == 2);

    // Who did, who still owes it (user 4, never online), from the sender or any member.
    h.request(boss, status_request(11, g, seq));
    const auto status = boss->reply_to(11)->urgent_status();
    CHECK(status.sender() == 1);
    CHECK(status.acknowledged_count() == 2);
    CHECK(status.awaiting_count() == 1);
    REQUIRE(status.acknowledged_size() == 2);
    CHECK(status.acknowledged(0).user_id() == 2);
    CHECK(status.acknowledged(0).at_ms() == at);
    CHECK(status.acknowledged(1).user_id() == 3);
    CHECK(std::vector<std::uint64_t>(status.awaiting().begin(), status.awaiting().end()) ==
          std::vector<std::uint64_t>{4});
    CHECK_FALSE(status.has_more());
    // Paged: one user a page, in ascending id across both lists.
    h.request(carol, status_request(12, g, seq, 2, 1));
    const auto page = carol->reply_to(12)->urgent_status();
    REQUIRE(page.acknowledged_size() == 1);
    CHECK(page.acknowledged(0).user_id() == 3);
    CHECK(page.awaiting_size() == 0);
    CHECK(page.has_more());

    // Refused: the sender's own, a plain message, an event that does not exist, seq 0.
    h.request(boss, urgent_ack_frame(13, g, seq));
    CHECK(refusal(boss, 13) == v1::INVALID_ARGUMENT);
    h.request(bob, urgent_ack_frame(14, g, plain));
    CHECK(refusal(bob, 14) == v1::INVALID_ARGUMENT);
    h.request(bob, urgent_ack_frame(15, g, plain + 5));
    CHECK(refusal(bob, 15) == v1::NOT_FOUND);
    h.request(bob, urgent_ack_frame(16, g, 0));
    CHECK(refusal(bob, 16) == v1::INVALID_ARGUMENT);
    h.request(bob, status_request(17, g, plain));
    CHECK(refusal(bob, 17) == v1::INVALID_ARGUMENT);
    // A stranger of the tenant, and the same ids in another tenant.
    auto dave = h.open({acme, 9, 90}, 1);
    h.request(dave, urgent_ack_frame(18, g, seq));
    CHECK(refusal(dave, 18) == v1::NOT_MEMBER);
    h.request(dave, status_request(19, g, seq));
    CHECK(refusal(dave, 19) == v1::NOT_MEMBER);
    auto other = h.open({acme + 1, 2, 20}, 0);
    h.request(other, urgent_ack_frame(20, g, seq));
    CHECK(refusal(other, 20) == v1::NOT_FOUND);
    h.request(other, status_request(21, g, seq));
    CHECK(refusal(other, 21) == v1::NOT_MEMBER);  // as who-read answers for a group not begun
}

TEST_CASE("urgent: an acknowledgement that could not be stored is refused, and counted",
          "[unit][core]") {
    service_harness h;
    set_policy(h, urgent_policy());
    auto boss = h.open(manager(1, 10), 0);
    auto bob = h.open({acme, 2, 20}, 1);
    h.request(boss, urgent_send(5, direct, "call me", "u-1"));
    const auto seq = boss->reply_to(5)->send_ack().seq();
    h.commits.fail_next(make_error_code(st::errc::no_space));
    h.request(bob, urgent_ack_frame(6, direct, seq));
    CHECK(refusal(bob, 6) == v1::STORAGE_FULL);
    CHECK(acks_heard(*boss).empty());
    CHECK(h.telemetry.count(core::failure::commit_failed) == 1);
    h.commits.set_full(true);
    h.request(bob, urgent_ack_frame(7, direct, seq));
    CHECK(refusal(bob, 7) == v1::UNAVAILABLE);
    h.commits.set_full(false);
    // The retry goes through.
    h.request(bob, urgent_ack_frame(8, direct, seq));
    CHECK(answered_ok(bob, 8));
    CHECK(acks_heard(*boss).size() == 1);
}
