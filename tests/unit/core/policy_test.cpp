// A tenant's notification policy through the core (docs/notifications.md, "Company policy"):
// the company's working hours for users without their own, how far users may change them, a
// policy change reaching the devices already open, and nothing crossing tenants.
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

v1::WorkHours hours(const std::string& zone, const std::string& start, const std::string& end) {
    v1::WorkHours h;
    h.set_time_zone(zone);
    h.set_work_days(0b001'1111);
    h.set_start(start);
    h.set_end(end);
    return h;
}

v1::TenantPolicy company(v1::HoursFreedom freedom = v1::HOURS_FREEDOM_OWN) {
    v1::TenantPolicy p;
    *p.mutable_hours() = hours("UTC", "09:00", "18:00");
    p.set_freedom(freedom);
    return p;
}

v1::NotificationSettings own_hours(const v1::WorkHours& h) {
    v1::NotificationSettings s;
    *s.mutable_hours() = h;
    return s;
}

v1::WorkingHours working_hours_of(service_harness& h, const std::shared_ptr<fake_device>& asker,
                                  std::uint64_t req_id, st::user_id user) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_working_hours_request()->set_user_id(user);
    h.request(asker, f);
    return asker->reply_to(req_id)->working_hours();
}

core::policy_outcome set_policy(service_harness& h, st::tenant_id tenant,
                                const v1::TenantPolicy& policy) {
    core::policy_outcome out{core::policy_outcome::status::unavailable, "no answer"};
    h.core.set_policy(tenant, policy, [&](core::policy_outcome o) { out = std::move(o); });
    h.settle();
    return out;
}

const auto direct = st::conv_id::direct(1, 2);

}  // namespace

TEST_CASE("policy: the company's hours count for a user without their own", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    h.request(alice, text_send(5, direct, "before", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);  // no policy: always at work

    // Set while Bob's device is open: it follows at once (Friday 08:00, before work).
    REQUIRE(set_policy(h, acme, company()).result == core::policy_outcome::status::stored);
    h.request(alice, text_send(6, direct, "early", "m-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    const auto w = working_hours_of(h, alice, 7, 2);
    CHECK(w.has_hours());
    CHECK_FALSE(w.working());
    CHECK(w.next_start_ms() == h.router.unix_ms() + hour_ms);
    h.router.advance(1h);
    h.request(alice, text_send(8, direct, "nine", "m-3"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);

    // Durable, and read by a device that opens later.
    v1::TenantPolicy stored;
    REQUIRE(stored.ParseFromString(h.core.policy(acme).value().value()));
    CHECK(stored.hours().start() == "09:00");
    h.router.advance(9h);  // Friday 18:00
    auto tablet = h.open({acme, 2, 21}, 0);
    h.request(alice, text_send(9, direct, "weekend", "m-4"));
    CHECK(last_notice(*tablet) == v1::NOTICE_SILENT);

    // Removed: always at work again, on every open device.
    REQUIRE(set_policy(h, acme, v1::TenantPolicy{}).result == core::policy_outcome::status::stored);
    CHECK(h.core.policy(acme).value() == std::nullopt);
    h.request(alice, text_send(10, direct, "saturday", "m-5"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    CHECK(last_notice(*tablet) == v1::NOTICE_ALERT);
}

TEST_CASE("policy: freedom own lets a user's hours replace the company's", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    REQUIRE(set_policy(h, acme, company()).result == core::policy_outcome::status::stored);
    // Bob works a night shift, 22:00 to 06:00: at Friday 08:00 he is off; at 23:00 at work.
    h.request(bob, settings_frame(5, own_hours(hours("UTC", "22:00", "06:00"))));
    REQUIRE(bob->reply_to(5)->has_ok());
    h.router.advance(2h);  // 10:00, the company's hours, not his
    h.request(alice, text_send(6, direct, "ten", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    h.router.advance(13h);  // 23:00
    h.request(alice, text_send(7, direct, "night", "m-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
}

TEST_CASE("policy: freedom time_zone moves the company's hours to the user's zone",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    REQUIRE(set_policy(h, acme, company(v1::HOURS_FREEDOM_TIME_ZONE)).result ==
            core::policy_outcome::status::stored);
    // Bob sets 06:00 to 07:00 in Shanghai (UTC+8); only the zone counts: 09:00 to 18:00 there,
    // 01:00 to 10:00 UTC. Friday 08:00 UTC is 16:00 in Shanghai: at work.
    h.request(bob, settings_frame(5, own_hours(hours("Asia/Shanghai", "06:00", "07:00"))));
    REQUIRE(bob->reply_to(5)->has_ok());
    h.request(alice, text_send(6, direct, "afternoon there", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    const auto w = working_hours_of(h, alice, 7, 2);
    CHECK(w.working());
    CHECK(w.time_zone() == "Asia/Shanghai");
    CHECK(w.until_ms() == h.router.unix_ms() + 2 * hour_ms);  // 18:00 Shanghai
    h.router.advance(2h);                                     // 18:00 in Shanghai
    h.request(alice, text_send(8, direct, "evening there", "m-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
}

TEST_CASE("policy: freedom none refuses a user's hours and ignores stored ones", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    // Bob's own hours from before the policy: always at work at 08:00 (00:00 to 23:59).
    h.request(bob, settings_frame(5, own_hours(hours("UTC", "00:00", "23:59"))));
    REQUIRE(bob->reply_to(5)->has_ok());
    REQUIRE(set_policy(h, acme, company(v1::HOURS_FREEDOM_NONE)).result ==
            core::policy_outcome::status::stored);
    h.request(alice, text_send(6, direct, "early", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);  // the company's 09:00, not his
    h.request(bob, settings_frame(7, own_hours(hours("UTC", "07:00", "16:00"))));
    REQUIRE(bob->reply_to(7)->has_error());
    CHECK(bob->reply_to(7)->error().code() == v1::PERMISSION_DENIED);
    // Do-not-disturb and off-hours alerts stay the user's choice.
    v1::NotificationSettings anyway;
    anyway.set_notify_off_hours(true);
    h.request(bob, settings_frame(8, anyway));
    REQUIRE(bob->reply_to(8)->has_ok());
    h.request(alice, text_send(9, direct, "still early", "m-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
}

TEST_CASE("policy: one tenant's policy never reaches another's devices", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    auto other_alice = h.open({acme + 1, 1, 10}, 0);
    auto other_bob = h.open({acme + 1, 2, 20}, 1);
    REQUIRE(set_policy(h, acme, company()).result == core::policy_outcome::status::stored);
    h.request(alice, text_send(5, direct, "early", "m-1"));
    h.request(other_alice, text_send(6, direct, "early", "m-1"));
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    CHECK(last_notice(*other_bob) == v1::NOTICE_ALERT);
    CHECK(h.core.policy(acme + 1).value() == std::nullopt);
    CHECK_FALSE(working_hours_of(h, other_alice, 7, 2).has_hours());
}

TEST_CASE("policy: a malformed policy is refused and the stored one stays", "[unit][core]") {
    service_harness h;
    REQUIRE(set_policy(h, acme, company()).result == core::policy_outcome::status::stored);
    auto bad = company();
    bad.mutable_hours()->set_time_zone("Nowhere/City");
    auto refused = set_policy(h, acme, bad);
    CHECK(refused.result == core::policy_outcome::status::invalid);
    CHECK_THAT(refused.message, Catch::Contains("unknown time zone"));
    bad = company();
    bad.set_freedom(static_cast<v1::HoursFreedom>(7));
    refused = set_policy(h, acme, bad);
    CHECK(refused.result == core::policy_outcome::status::invalid);
    CHECK_THAT(refused.message, Catch::Contains("freedom"));
    v1::TenantPolicy stored;
    REQUIRE(stored.ParseFromString(h.core.policy(acme).value().value()));
    CHECK(stored.hours().time_zone() == "UTC");
}
