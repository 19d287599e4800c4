// The push desk through the core (docs/notifications.md, "Push relays"): which registered device
// is pushed through the relay for a message, when, and with what; reads cancelling and moving
// badges; the active device's grace. The relay itself is a recording port here (the sender has
// its own tests: tests/unit/push, tests/integration/push_relay_test.cpp).
#include <map>

#include <catch2/catch.hpp>

#include "core_harness.hpp"
#include "tern/v1/notifications.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;
namespace st = tern::storage;

namespace {

v1::Frame register_token(std::uint64_t req_id, const std::string& platform,
                         const std::string& token) {
    return push_token_frame(req_id, platform, token, "com.example.chat");
}

v1::Frame app_state(std::uint64_t req_id, v1::AppState state) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_set_app_state()->set_state(state);
    return f;
}

// Bob (user 9) with a phone (device 90) that registered its token and went away: what a message
// to him makes of it is up to the test.
struct bob_away {
    service_harness h;
    std::shared_ptr<fake_device> alice = h.open({acme, 8, 80}, 0);
    st::conv_id conv = st::conv_id::direct(8, 9);

    bob_away() {
        auto phone = h.open({acme, 9, 90}, 1);
        h.request(phone, register_token(1, "apns", "bob-phone"));
        REQUIRE(phone->reply_to(1)->has_ok());
        h.close(phone);
    }
    void send(std::uint64_t req_id, const std::string& text) {
        h.request(alice, text_send(req_id, conv, text, "c-" + std::to_string(req_id)));
        REQUIRE(alice->reply_to(req_id)->has_send_ack());
    }
    [[nodiscard]] std::vector<recording_pushes::submitted> phone_pushes() const {
        return h.pushes.to(9, 90);
    }
};

core::policy_outcome set_policy(service_harness& h, const v1::TenantPolicy& policy) {
    core::policy_outcome out;
    h.core.set_policy(acme, policy, [&](core::policy_outcome o) { out = std::move(o); });
    h.settle();
    return out;
}

}  // namespace

TEST_CASE("push: an offline device with a token gets the message, its sender and text",
          "[unit][core]") {
    bob_away b;
    b.send(5, "lunch at noon?");
    const auto pushes = b.phone_pushes();
    REQUIRE(pushes.size() == 1);
    const auto& m = pushes[0].message;
    CHECK(m.to == push::device_key{acme, 9, 90});
    CHECK(m.platform == "apns");
    CHECK(m.token == "bob-phone");
    CHECK(m.app_id == "com.example.chat");
    CHECK(m.conv_type == "direct");
    CHECK(m.conv_id == 8);
    CHECK(m.conv_peer == 9);
    CHECK(m.seq == 1);
    CHECK(m.sender == 8);
    CHECK(m.preview == "lunch at noon?");
    CHECK(m.alert);
    CHECK_FALSE(m.urgent);
    CHECK(m.count == 1);
    CHECK(pushes[0].delay == 0ms);
    // The sender's own devices are never pushed for their own message.
    CHECK(b.h.pushes.to(8, 80).empty());
}

TEST_CASE("push: a device in front of its user is not pushed, one in the background is",
          "[unit][core]") {
    bob_away b;
    auto phone = b.h.open({acme, 9, 90}, 1);  // back, in the foreground
    b.send(5, "one");
    CHECK(b.phone_pushes().empty());
    CHECK(phone->of(v1::Frame::kPush).size() == 1);  // it has it live

    b.h.request(phone, app_state(6, v1::APP_STATE_BACKGROUND));
    REQUIRE(phone->reply_to(6)->has_ok());
    b.send(7, "two");
    REQUIRE(b.phone_pushes().size() == 1);
    CHECK(b.phone_pushes()[0].message.seq == 2);

    b.h.request(phone, app_state(8, v1::APP_STATE_FOREGROUND));
    b.send(9, "three");
    CHECK(b.phone_pushes().size() == 1);

    b.h.request(phone, app_state(10, v1::APP_STATE_UNSPECIFIED));
    REQUIRE(phone->reply_to(10)->has_error());
    CHECK(phone->reply_to(10)->error().code() == v1::INVALID_ARGUMENT);
}

TEST_CASE("push: while a desktop is in front of its user, the phone waits the grace",
          "[unit][core]") {
    bob_away b;
    b.h.platform = v1::PLATFORM_MACOS;
    auto desktop = b.h.open({acme, 9, 91}, 0);
    b.send(5, "at your desk?");
    REQUIRE(b.phone_pushes().size() == 1);
    CHECK(b.phone_pushes()[0].delay == b.h.limits.push_grace);
    CHECK(b.h.pushes.to(9, 91).empty());  // the desktop has no token, and has it live anyway

    // Read on the desktop meanwhile: the relay is told (it drops the waiting push).
    b.h.request(desktop, mark_read_frame(6, b.conv, 1));
    REQUIRE(b.h.pushes.reads.size() == 1);
    const auto& read = b.h.pushes.reads[0];
    CHECK(read.tenant == acme);
    CHECK(read.user == 9);
    CHECK(read.conv_type == "direct");
    CHECK(read.conv_id == 8);
    CHECK(read.conv_peer == 9);
    CHECK(read.up_to == 1);

    // Once the desktop is in the background, nothing waits.
    b.h.request(desktop, app_state(7, v1::APP_STATE_BACKGROUND));
    b.send(8, "now?");
    CHECK(b.phone_pushes().back().delay == 0ms);
}

TEST_CASE("push: a read elsewhere moves the badge of the phones with a silent push",
          "[unit][core]") {
    bob_away b;
    b.send(5, "one");
    b.send(6, "two");
    auto laptop = b.h.open({acme, 9, 92}, 0);
    b.h.request(laptop, mark_read_frame(7, b.conv, 2));
    const auto pushes = b.phone_pushes();
    REQUIRE(pushes.size() == 3);
    const auto& badge = pushes[2].message;
    CHECK(badge.count == 0);  // announces nothing: the sender counts the badge when it goes
    CHECK_FALSE(badge.alert);
    CHECK(badge.preview.empty());
    CHECK(badge.conv_id == 8);
    CHECK(badge.seq == 2);
    // A read that moves nothing pushes nothing.
    b.h.request(laptop, mark_read_frame(8, b.conv, 2));
    CHECK(b.phone_pushes().size() == 3);
}

TEST_CASE("push: mute, do-not-disturb and off hours decide as they do for online devices",
          "[unit][core]") {
    bob_away b;
    auto settings_device = b.h.open({acme, 9, 93}, 0);
    b.h.request(settings_device, app_state(1, v1::APP_STATE_BACKGROUND));

    SECTION("do-not-disturb: a silent push (the badge moves, nothing rings)") {
        v1::NotificationSettings s;
        s.set_dnd_until_ms(b.h.router.unix_ms() + 3'600'000);
        b.h.request(settings_device, settings_frame(2, s));
        b.send(5, "quiet please");
        REQUIRE(b.phone_pushes().size() == 1);
        CHECK_FALSE(b.phone_pushes()[0].message.alert);
    }
    SECTION("off hours: no push at all (the work-start digest tells them)") {
        v1::NotificationSettings s;
        auto* hours = s.mutable_hours();  // Mondays only; the test clock is a Friday
        hours->set_time_zone("UTC");
        hours->set_work_days(1);
        hours->set_start("09:00");
        hours->set_end("17:00");
        b.h.request(settings_device, settings_frame(2, s));
        b.send(5, "it can wait");
        CHECK(b.phone_pushes().empty());
        s.set_notify_off_hours(true);  // unless they asked to hear anyway
        b.h.request(settings_device, settings_frame(3, s));
        b.send(6, "it cannot");
        REQUIRE(b.phone_pushes().size() == 1);
        CHECK(b.phone_pushes()[0].message.alert);
    }
    SECTION("a muted conversation: no push") {
        b.send(4, "before");  // the conversation begins
        v1::Frame mute;
        mute.set_req_id(2);
        core::to_proto(b.conv, *mute.mutable_mute_conversation()->mutable_conv());
        mute.mutable_mute_conversation()->set_level(v1::NOTIFY_LEVEL_NOTHING);
        b.h.request(settings_device, mute);
        REQUIRE(settings_device->reply_to(2)->has_ok());
        b.send(5, "muted");
        CHECK(b.phone_pushes().size() == 1);
    }
}

TEST_CASE("push: the tenant's privacy setting hides the text, or the sender too", "[unit][core]") {
    bob_away b;
    v1::TenantPolicy policy;
    policy.set_push_preview(v1::PUSH_PREVIEW_SENDER_ONLY);
    REQUIRE(set_policy(b.h, policy).result == core::policy_outcome::status::stored);
    b.send(5, "salary review");
    REQUIRE(b.phone_pushes().size() == 1);
    CHECK(b.phone_pushes()[0].message.sender == 8);
    CHECK(b.phone_pushes()[0].message.preview.empty());

    policy.set_push_preview(v1::PUSH_PREVIEW_NONE);
    REQUIRE(set_policy(b.h, policy).result == core::policy_outcome::status::stored);
    b.send(6, "layoffs");
    REQUIRE(b.phone_pushes().size() == 2);
    CHECK(b.phone_pushes()[1].message.sender == 0);
    CHECK(b.phone_pushes()[1].message.preview.empty());

    policy.set_push_preview(static_cast<v1::PushPreview>(9));
    CHECK(set_policy(b.h, policy).result == core::policy_outcome::status::invalid);
}

TEST_CASE("push: a long text's preview is cut at 200 bytes, never inside a character",
          "[unit][core]") {
    bob_away b;
    std::string text = std::string(199, 'a') + "\xE4\xBD\xA0" + std::string(50, 'b');  // "你"
    b.send(5, text);
    REQUIRE(b.phone_pushes().size() == 1);
    CHECK(b.phone_pushes()[0].message.preview == std::string(199, 'a'));
}

TEST_CASE("push: a removed or dead token is not pushed any more, a new one is", "[unit][core]") {
    bob_away b;
    b.send(5, "one");
    REQUIRE(b.phone_pushes().size() == 1);
    b.h.core.forget_push_token(acme, 9, 90, "bob-phone");
    b.h.settle();
    b.send(6, "two");
    CHECK(b.phone_pushes().size() == 1);

    auto phone = b.h.open({acme, 9, 90}, 1);
    b.h.request(phone, register_token(7, "fcm", "bob-new"));
    b.h.close(phone);
    b.send(8, "three");
    REQUIRE(b.phone_pushes().size() == 2);
    CHECK(b.phone_pushes()[1].message.token == "bob-new");
    CHECK(b.phone_pushes()[1].message.platform == "fcm");
}

TEST_CASE("push: group messages push each member's phones, group changes push nobody",
          "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    for (st::user_id u = 2; u <= 4; ++u) {
        auto phone = h.open({acme, u, u * 10}, u % 2);
        h.request(phone, register_token(1, "fcm", "tok-" + std::to_string(u)));
        h.close(phone);
    }
    const auto group = create_group(h, owner, {2, 3, 4});
    CHECK(h.pushes.pushes.empty());  // the group's creation is not a message
    const int reads_before = h.counted.push_token_reads;
    h.request(owner, text_send(5, group, "standup in 5", "m-1"));
    REQUIRE(h.pushes.pushes.size() == 3);
    // Each member's registrations were read once; the next message reads none.
    CHECK(h.counted.push_token_reads - reads_before <= 3);
    for (st::user_id u = 2; u <= 4; ++u) {
        const auto to = h.pushes.to(u, u * 10);
        REQUIRE(to.size() == 1);
        CHECK(to[0].message.conv_type == "group");
        CHECK(to[0].message.conv_id == group.id);
        CHECK(to[0].message.token == "tok-" + std::to_string(u));
    }
    const int reads_after = h.counted.push_token_reads;
    h.request(owner, text_send(6, group, "in 4", "m-2"));
    CHECK(h.pushes.pushes.size() == 6);
    CHECK(h.counted.push_token_reads == reads_after);
}

TEST_CASE("push: without a push port nothing is read for pushes", "[unit][core]") {
    core_harness base;
    core::service core{base.router, *base.store,    base.commits,
                       base.limits, base.telemetry, base.router};  // no push port
    auto alice = fake_device::make({acme, 8, 80}, 0);
    core.on_open(alice, hello_frame().hello(), welcome_frame());
    base.settle();
    auto send = text_send(5, st::conv_id::direct(8, 9), "hi", "c-1");
    core.on_request(alice, send);
    base.settle();
    REQUIRE(alice->reply_to(5)->has_send_ack());
    CHECK(base.counted.push_token_reads == 0);
}

namespace {

v1::Frame urgent_send(std::uint64_t req_id, const st::conv_id& conv, const std::string& text) {
    auto f = text_send(req_id, conv, text, "u-" + std::to_string(req_id));
    f.mutable_send()->mutable_content()->set_flags(v1::MESSAGE_FLAG_URGENT);
    f.mutable_send()->mutable_content()->set_urgent_reason("the site is down");
    return f;
}

// User 1 may send urgent; the unacknowledged are pushed again every 5 minutes, 3 times: by push,
// then SMS, then a call.
v1::TenantPolicy escalating_policy() {
    v1::TenantPolicy p;
    auto* u = p.mutable_urgent();
    u->add_sender_users(1);
    u->set_escalate_after_minutes(5);
    u->set_escalate_times(3);
    u->add_escalation_channels("push");
    u->add_escalation_channels("sms");
    u->add_escalation_channels("call");
    return p;
}

}  // namespace

TEST_CASE("escalation: the unacknowledged are pushed again on the policy's clock, by channel",
          "[unit][core]") {
    service_harness h;
    REQUIRE(set_policy(h, escalating_policy()).result == core::policy_outcome::status::stored);
    auto boss = h.open({acme, 1, 10}, 0);
    std::map<st::user_id, std::shared_ptr<fake_device>> phones;
    for (st::user_id u = 2; u <= 3; ++u) {
        auto phone = h.open({acme, u, u * 10}, u % 2);
        h.request(phone, register_token(1, "apns", "tok-" + std::to_string(u)));
        // A second device of user 2: pushes go to both, an SMS or a call once per person.
        if (u == 2) {
            auto tablet = h.open({acme, 2, 21}, 0);
            h.request(tablet, register_token(1, "fcm", "tab-2"));
            h.request(tablet, app_state(2, v1::APP_STATE_BACKGROUND));
        }
        h.request(phone, app_state(2, v1::APP_STATE_BACKGROUND));
        phones[u] = phone;
    }
    const auto group = create_group(h, boss, {2, 3});
    h.request(boss, urgent_send(5, group, "the site is down"));
    REQUIRE(boss->reply_to(5)->has_send_ack());
    const auto seq = boss->reply_to(5)->send_ack().seq();
    const auto channels_to = [&](st::user_id u, st::device_id d) {
        std::vector<push::channel> out;
        for (const auto& p : h.pushes.to(u, d)) {
            CHECK(p.message.urgent);
            CHECK(p.message.alert);
            CHECK(p.message.seq == seq);
            out.push_back(p.message.via);
        }
        return out;
    };
    using push::channel;
    CHECK(channels_to(2, 20) == std::vector{channel::push});  // the message itself
    CHECK(channels_to(3, 30) == std::vector{channel::push});

    h.router.advance(4min);
    CHECK(h.pushes.pushes.size() == 3);  // not yet
    h.router.advance(1min);  // 5 minutes: the first escalation, by push, to every device
    CHECK(channels_to(2, 20) == std::vector{channel::push, channel::push});
    CHECK(channels_to(2, 21) == std::vector{channel::push, channel::push});
    CHECK(channels_to(3, 30) == std::vector{channel::push, channel::push});

    // User 3 acknowledges: no more for them.
    h.request(phones[3], urgent_ack_frame(6, group, seq));
    REQUIRE(phones[3]->reply_to(6)->has_ok());
    h.router.advance(5min);  // the second, by SMS: once for user 2
    CHECK(channels_to(2, 20) == std::vector{channel::push, channel::push, channel::sms});
    CHECK(channels_to(2, 21) == std::vector{channel::push, channel::push});
    CHECK(channels_to(3, 30).size() == 2);
    h.router.advance(5min);  // the third and last, by call
    CHECK(channels_to(2, 20).back() == channel::call);
    const auto total = h.pushes.pushes.size();
    h.router.advance(60min);
    CHECK(h.pushes.pushes.size() == total);  // three times, then no more
}

TEST_CASE("escalation stops at a recall, and a policy without it never escalates", "[unit][core]") {
    service_harness h;
    auto policy = escalating_policy();
    REQUIRE(set_policy(h, policy).result == core::policy_outcome::status::stored);
    auto boss = h.open({acme, 1, 10}, 0);
    auto phone = h.open({acme, 2, 20}, 1);
    h.request(phone, register_token(1, "apns", "tok-2"));
    h.close(phone);
    const auto conv = st::conv_id::direct(1, 2);
    h.request(boss, urgent_send(5, conv, "call me"));
    const auto seq = boss->reply_to(5)->send_ack().seq();
    v1::Frame recall;
    recall.set_req_id(6);
    core::to_proto(conv, *recall.mutable_recall()->mutable_conv());
    recall.mutable_recall()->set_seq(seq);
    recall.mutable_recall()->set_client_msg_id("r-1");
    h.request(boss, recall);
    REQUIRE(boss->reply_to(6)->has_send_ack());
    h.router.advance(30min);
    CHECK(h.pushes.to(2, 20).size() == 1);  // the message, never again

    policy.mutable_urgent()->set_escalate_times(0);
    REQUIRE(set_policy(h, policy).result == core::policy_outcome::status::stored);
    h.request(boss, urgent_send(7, conv, "call me now"));
    h.router.advance(30min);
    CHECK(h.pushes.to(2, 20).size() == 2);

    policy.mutable_urgent()->set_escalate_times(3);
    policy.mutable_urgent()->add_escalation_channels("pager");
    CHECK(set_policy(h, policy).result == core::policy_outcome::status::invalid);
    policy.mutable_urgent()->clear_escalation_channels();
    policy.mutable_urgent()->set_escalate_after_minutes(0);
    CHECK(set_policy(h, policy).result == core::policy_outcome::status::invalid);
}

TEST_CASE("push: another tenant's user with the same id is never pushed for this tenant's message",
          "[unit][core]") {
    bob_away b;  // tenant acme's user 9, phone 90
    constexpr st::tenant_id other = acme + 1;
    auto their_phone = b.h.open({other, 9, 90}, 1);
    b.h.request(their_phone, register_token(1, "apns", "other-tenant-phone"));
    b.h.request(their_phone, app_state(2, v1::APP_STATE_BACKGROUND));
    b.send(5, "for acme's user 9 only");
    REQUIRE(b.h.pushes.pushes.size() == 1);
    CHECK(b.h.pushes.pushes[0].message.to.tenant == acme);
    CHECK(b.h.pushes.pushes[0].message.token == "bob-phone");
    // A read in the other tenant cancels nothing of this one's and moves only its own badge.
    auto other_alice = b.h.open({other, 8, 80}, 0);
    b.h.request(other_alice, text_send(6, st::conv_id::direct(8, 9), "hi", "o-1"));
    b.h.request(their_phone, mark_read_frame(7, st::conv_id::direct(8, 9), 1));
    for (const auto& r : b.h.pushes.reads) CHECK(r.tenant == other);
    for (const auto& p : b.h.pushes.pushes) {
        CHECK(p.message.token ==
              (p.message.to.tenant == acme ? "bob-phone" : "other-tenant-phone"));
    }
}

// ---- the work-start digest ----------------------------------------------------------------------

namespace {

// Monday to Friday, 09:00 to 17:00 UTC: the test clock starts on a Friday at 08:00, an hour
// before Bob's day begins.
v1::NotificationSettings office_hours(const std::string& start = "09:00") {
    v1::NotificationSettings s;
    auto* hours = s.mutable_hours();
    hours->set_time_zone("UTC");
    hours->set_work_days(0b001'1111);
    hours->set_start(start);
    hours->set_end("17:00");
    return s;
}

// Bob away, with office hours, and a laptop of his open in front of him (it hears the digest
// event; the phone gets the digest push). Carol (user 7) shares a group with him and Alice.
struct bob_off_hours : bob_away {
    std::shared_ptr<fake_device> laptop = h.open({acme, 9, 93}, 0);
    std::shared_ptr<fake_device> carol = h.open({acme, 7, 70}, 1);
    st::conv_id group = create_group(h, carol, {8, 9});

    bob_off_hours() {
        h.request(laptop, settings_frame(1, office_hours()));
        REQUIRE(laptop->reply_to(1)->has_ok());
    }
    void group_send(std::uint64_t req_id, bool mention_bob) {
        auto f = text_send(req_id, group, "standup notes", "g-" + std::to_string(req_id));
        if (mention_bob) f.mutable_send()->mutable_content()->add_mentions(9);
        h.request(carol, f);
        REQUIRE(carol->reply_to(req_id)->has_send_ack());
    }
    [[nodiscard]] std::vector<v1::Frame> digests() const { return laptop->of(v1::Frame::kDigest); }
};

}  // namespace

TEST_CASE("digest: what reached a user off hours is told once, at their next work start",
          "[unit][core]") {
    bob_off_hours b;
    b.send(5, "one");
    b.send(6, "two");
    b.send(7, "three");
    b.group_send(8, true);
    b.group_send(9, false);
    CHECK(b.phone_pushes().empty());  // off hours: no phone buzzed
    CHECK(b.digests().empty());

    b.h.router.advance(59min);
    CHECK(b.digests().empty());
    b.h.router.advance(1min);  // 09:00, Friday
    const auto digests = b.digests();
    REQUIRE(digests.size() == 1);
    const auto& d = digests[0].digest();
    CHECK(d.messages() == 5);
    CHECK(d.conversation_count() == 2);
    CHECK(d.mentions() == 1);
    CHECK(d.since_ms() == 1'800'000'000'000);
    REQUIRE(d.conversations_size() == 2);
    CHECK(d.conversations(0).conv().id() == b.group.id);  // the most recent first
    CHECK(d.conversations(0).messages() == 2);
    CHECK(d.conversations(0).mentions() == 1);
    CHECK(d.conversations(1).conv().id() == 8);
    CHECK(d.conversations(1).messages() == 3);
    CHECK(d.conversations(1).last_seq() == 3);

    // The phone: one push, the digest, heard.
    const auto pushes = b.phone_pushes();
    REQUIRE(pushes.size() == 1);
    REQUIRE(pushes[0].message.digest);
    CHECK(*pushes[0].message.digest == push::digest_counts{5, 2, 1});
    CHECK(pushes[0].message.alert);
    CHECK(pushes[0].message.count == 5);
    CHECK(pushes[0].delay == 0ms);
    CHECK(b.h.pushes.to(9, 93).empty());  // the laptop had the event
    CHECK(b.h.telemetry.digests == std::vector{core::digest_outcome::sent});

    // At work now: messages ring as usual, and the next day brings no second digest.
    b.send(10, "four");
    REQUIRE(b.phone_pushes().size() == 2);
    CHECK(b.phone_pushes()[1].message.alert);
    b.h.router.advance(24h);
    CHECK(b.digests().size() == 1);
    CHECK(b.phone_pushes().size() == 2);
}

TEST_CASE("digest: reads before the work start take off what they cover, all of it: no digest",
          "[unit][core]") {
    bob_off_hours b;
    b.send(5, "one");
    b.send(6, "two");
    b.send(7, "three");
    b.group_send(8, true);

    SECTION("part of a conversation read: what is after the cursor stays") {
        b.h.request(b.laptop, mark_read_frame(2, b.conv, 2));
        b.h.request(b.laptop, mark_read_frame(3, b.group, 1));  // the group's creation only
        b.h.router.advance(1h);
        const auto digests = b.digests();
        REQUIRE(digests.size() == 1);
        const auto& d = digests[0].digest();
        CHECK(d.messages() == 2);
        CHECK(d.conversation_count() == 2);
        CHECK(d.mentions() == 1);
    }
    SECTION("everything read: nothing to tell") {
        b.h.request(b.laptop, mark_read_frame(2, b.conv, 3));
        b.h.request(b.laptop, mark_read_frame(3, b.group, 2));
        b.h.router.advance(1h);
        CHECK(b.digests().empty());
        for (const auto& p : b.phone_pushes()) {
            CHECK_FALSE(p.message.digest);  // only the reads' badge pushes
            CHECK(p.message.count == 0);
        }
        CHECK(b.h.telemetry.digests == std::vector{core::digest_outcome::all_read});
    }
}

TEST_CASE("digest: do-not-disturb off hours counts, muted conversations and urgent-allowed do not",
          "[unit][core]") {
    bob_off_hours b;
    auto s = office_hours();
    s.set_dnd_until_ms(b.h.router.unix_ms() + 3 * 3'600'000);  // an evening in do-not-disturb
    b.h.request(b.laptop, settings_frame(2, s));
    b.send(5, "counted");
    v1::Frame mute;
    mute.set_req_id(3);
    core::to_proto(b.group, *mute.mutable_mute_conversation()->mutable_conv());
    mute.mutable_mute_conversation()->set_level(v1::NOTIFY_LEVEL_NOTHING);
    b.h.request(b.laptop, mute);
    REQUIRE(b.laptop->reply_to(3)->has_ok());
    b.group_send(6, true);  // muted: not counted
    b.h.router.advance(1h);
    REQUIRE(b.digests().size() == 1);
    CHECK(b.digests()[0].digest().messages() == 1);
    CHECK(b.digests()[0].digest().conversation_count() == 1);
}

TEST_CASE("digest: new hours move the work start it waits for", "[unit][core]") {
    bob_off_hours b;
    b.send(5, "one");
    b.h.request(b.laptop, settings_frame(2, office_hours("08:30")));
    b.h.router.advance(30min);
    REQUIRE(b.digests().size() == 1);
    CHECK(b.digests()[0].digest().messages() == 1);
    b.h.router.advance(1h);
    CHECK(b.digests().size() == 1);  // the first timer (09:00) found nothing to tell

    SECTION("hours removed: nothing to wait for, the tally is dropped") {
        b.send(6, "after work");  // 09:30 is inside the shift: not counted
        b.h.router.advance(8h);   // 17:30, off hours
        b.send(7, "late");
        b.h.request(b.laptop, settings_frame(3, v1::NotificationSettings{}));
        b.h.router.advance(72h);
        CHECK(b.digests().size() == 1);
        CHECK(b.h.telemetry.digests.back() == core::digest_outcome::dropped);
    }
}

TEST_CASE("digest: without a push port the online devices still hear it", "[unit][core]") {
    service_harness h(2, false);
    auto alice = h.open({acme, 8, 80}, 0);
    auto laptop = h.open({acme, 9, 93}, 1);
    h.request(laptop, settings_frame(1, office_hours()));
    h.request(alice, text_send(2, st::conv_id::direct(8, 9), "morning", "c-2"));
    REQUIRE(alice->reply_to(2)->has_send_ack());
    h.router.advance(1h);
    REQUIRE(laptop->of(v1::Frame::kDigest).size() == 1);
    CHECK(laptop->of(v1::Frame::kDigest)[0].digest().messages() == 1);
    CHECK(h.counted.push_token_reads == 0);
}

TEST_CASE("escalation: a restart arms again what is still due, at its own time", "[unit][core]") {
    core_harness base;
    recording_pushes pushes;
    const auto conv = st::conv_id::direct(1, 2);
    const auto t0 = base.router.unix_ms();
    const auto channels = [&] {
        std::vector<push::channel> out;
        for (const auto& p : pushes.to(2, 20)) out.push_back(p.message.via);
        return out;
    };
    bool acknowledge = GENERATE(false, true);
    CAPTURE(acknowledge);
    {
        core::service core{base.router,    *base.store, base.commits, base.limits,
                           base.telemetry, base.router, &pushes};
        core::policy_outcome stored;
        core.set_policy(acme, escalating_policy(), [&](core::policy_outcome o) { stored = o; });
        base.settle();
        REQUIRE(stored.result == core::policy_outcome::status::stored);
        auto phone = fake_device::make({acme, 2, 20}, 1);
        core.on_open(phone, hello_frame().hello(), welcome_frame());
        base.settle();
        auto token = register_token(1, "apns", "tok-2");
        core.on_request(phone, token);
        auto away = app_state(2, v1::APP_STATE_BACKGROUND);
        core.on_request(phone, away);
        auto boss = fake_device::make({acme, 1, 10}, 0);
        core.on_open(boss, hello_frame().hello(), welcome_frame());
        base.settle();
        auto urgent = urgent_send(5, conv, "the site is down");
        core.on_request(boss, urgent);
        base.settle();
        REQUIRE(boss->reply_to(5)->has_send_ack());
        base.advance(5min);  // the first escalation, by push
        REQUIRE(channels() == std::vector{push::channel::push, push::channel::push});
        if (acknowledge) {
            auto ack = urgent_ack_frame(6, conv, boss->reply_to(5)->send_ack().seq());
            core.on_request(phone, ack);
            base.settle();
            REQUIRE(phone->reply_to(6)->has_ok());
        }
    }
    // Down for two minutes: the core and its timers are gone.
    base.router = manual_router(2, t0 + 7 * 60'000);
    core::service core{base.router,    *base.store, base.commits, base.limits,
                       base.telemetry, base.router, &pushes};
    base.settle();
    base.advance(2min + 59s);
    CHECK(channels().size() == 2);  // the second is due at 10 minutes, not before
    base.advance(1s);
    if (acknowledge) {
        CHECK(channels().size() == 2);  // acknowledged before the restart: nothing more
    } else {
        CHECK(channels().back() == push::channel::sms);
        base.advance(5min);
        CHECK(channels().back() == push::channel::call);
    }
    const auto total = pushes.pushes.size();
    base.advance(1h);
    CHECK(pushes.pushes.size() == total);
}
