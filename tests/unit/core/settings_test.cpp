// A user's own notification settings through the core: do-not-disturb and working hours make the
// pushes of their devices silent (rows 8 and 9 of docs/notifications.md), the settings are durable
// and reach every device, and any user of the tenant can ask whether another is at work.
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

// 09:00 to 18:00, Monday to Friday, in UTC.
v1::NotificationSettings office_hours() {
    v1::NotificationSettings s;
    auto* h = s.mutable_hours();
    h->set_time_zone("UTC");
    h->set_work_days(0b001'1111);
    h->set_start("09:00");
    h->set_end("18:00");
    return s;
}

v1::Frame working_hours_of(std::uint64_t req_id, st::user_id user) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_working_hours_request()->set_user_id(user);
    return f;
}

}  // namespace

TEST_CASE("settings: do-not-disturb silences every device until it ends", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto phone = h.open({acme, 2, 20}, 0);
    auto desk = h.open({acme, 2, 21}, 1);
    v1::NotificationSettings dnd;
    dnd.set_dnd_until_ms(h.router.unix_ms() + hour_ms);
    h.request(phone, settings_frame(5, dnd));
    REQUIRE(phone->reply_to(5)->has_ok());
    for (const auto& d : {phone, desk}) {
        const auto told = d->of(v1::Frame::kNotificationSettings);
        REQUIRE(told.size() == 1);
        CHECK(told[0].notification_settings().dnd_until_ms() == dnd.dnd_until_ms());
    }
    const auto direct = st::conv_id::direct(1, 2);
    h.request(alice, text_send(6, direct, "call me", "m-1"));
    CHECK(last_notice(*phone) == v1::NOTICE_SILENT);
    CHECK(last_notice(*desk) == v1::NOTICE_SILENT);
    h.router.advance(1h);
    h.request(alice, text_send(7, direct, "now?", "m-2"));
    CHECK(last_notice(*phone) == v1::NOTICE_ALERT);
    CHECK(last_notice(*desk) == v1::NOTICE_ALERT);
}

TEST_CASE("settings: outside working hours pushes are silent, unless asked", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    h.request(bob, settings_frame(5, office_hours()));
    REQUIRE(bob->reply_to(5)->has_ok());
    const auto direct = st::conv_id::direct(1, 2);
    h.request(alice, text_send(6, direct, "early", "m-1"));  // Friday 08:00
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);
    h.router.advance(1h);  // 09:00: at work
    h.request(alice, text_send(7, direct, "nine", "m-2"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    h.router.advance(9h);  // 18:00: the weekend begins
    h.request(alice, text_send(8, direct, "weekend", "m-3"));
    CHECK(last_notice(*alice) == v1::NOTICE_NONE);  // her own
    CHECK(last_notice(*bob) == v1::NOTICE_SILENT);

    // Bob asks to be alerted off hours anyway; a device that connects later reads it too.
    auto anyway = office_hours();
    anyway.set_notify_off_hours(true);
    h.request(bob, settings_frame(9, anyway));
    auto tablet = h.open({acme, 2, 22}, 0);
    h.request(alice, text_send(10, direct, "saturday", "m-4"));
    CHECK(last_notice(*bob) == v1::NOTICE_ALERT);
    CHECK(last_notice(*tablet) == v1::NOTICE_ALERT);

    // Back to none: always at work.
    h.request(bob, settings_frame(11, v1::NotificationSettings{}));
    CHECK(h.memory->user_settings(acme, 2).value() == std::nullopt);
}

TEST_CASE("settings: kept in the store, read back, refused when malformed", "[unit][core]") {
    service_harness h;
    auto bob = h.open({acme, 2, 20}, 1);
    h.request(bob, settings_frame(5, office_hours()));
    v1::Frame get;
    get.set_req_id(6);
    get.mutable_get_notification_settings();
    h.request(bob, get);
    const auto back = bob->reply_to(6);
    REQUIRE(back);
    CHECK(back->notification_settings().hours().start() == "09:00");

    const auto refused = [&](std::uint64_t id, const v1::NotificationSettings& s) {
        h.request(bob, settings_frame(id, s));
        const auto r = bob->reply_to(id);
        REQUIRE(r);
        REQUIRE(r->has_error());
        CHECK(r->error().code() == v1::INVALID_ARGUMENT);
        return r->error().message();
    };
    auto bad = office_hours();
    bad.mutable_hours()->set_time_zone("Nowhere/City");
    CHECK_THAT(refused(7, bad), Catch::Contains("unknown time zone"));
    bad = office_hours();
    bad.mutable_hours()->set_start("9am");
    CHECK_THAT(refused(8, bad), Catch::Contains("hours.start"));
    bad = office_hours();
    bad.mutable_hours()->add_holidays("2027-02-30");
    CHECK_THAT(refused(9, bad), Catch::Contains("hours.holidays"));
    bad = office_hours();
    bad.set_dnd_until_ms(-1);
    CHECK_THAT(refused(10, bad), Catch::Contains("dnd_until_ms"));
    // What was stored before stays.
    v1::NotificationSettings stored;
    REQUIRE(stored.ParseFromString(*h.memory->user_settings(acme, 2).value()));
    CHECK(stored.hours().time_zone() == "UTC");
}

TEST_CASE("settings: anyone in the tenant can ask whether a user is at work", "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 1, 10}, 0);
    auto bob = h.open({acme, 2, 20}, 1);
    auto outsider = h.open({acme + 1, 3, 30}, 1);
    h.request(bob, settings_frame(5, office_hours()));
    h.request(alice, working_hours_of(6, 2));
    const auto w = alice->reply_to(6)->working_hours();
    CHECK(w.user_id() == 2);
    CHECK(w.has_hours());
    CHECK_FALSE(w.working());  // Friday 08:00
    CHECK(w.until_ms() == h.router.unix_ms() + hour_ms);
    CHECK(w.next_start_ms() == h.router.unix_ms() + hour_ms);
    CHECK(w.time_zone() == "UTC");
    // Alice set nothing: always at work.
    h.request(bob, working_hours_of(7, 1));
    CHECK_FALSE(bob->reply_to(7)->working_hours().has_hours());
    CHECK(bob->reply_to(7)->working_hours().working());
    // Another tenant's user 2 has no hours: nothing crosses tenants.
    h.request(outsider, working_hours_of(8, 2));
    CHECK_FALSE(outsider->reply_to(8)->working_hours().has_hours());
    h.request(alice, working_hours_of(9, 0));
    CHECK(alice->reply_to(9)->error().code() == v1::INVALID_ARGUMENT);
}
