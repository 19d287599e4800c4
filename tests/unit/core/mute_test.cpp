// Muting a conversation through the core: the owner keeps the members' settings, every push it
// decides carries the notice they give (docs/notifications.md), the setting is durable and told
// to all the user's devices, and what is not a member's to set is refused.
#include <catch2/catch.hpp>

#include "core_harness.hpp"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

v1::Frame mute_frame(std::uint64_t req_id, const st::conv_id& conv, v1::NotifyLevel level,
                     std::int64_t until_ms = 0) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* m = f.mutable_mute_conversation();
    core::to_proto(conv, *m->mutable_conv());
    m->set_level(level);
    m->set_until_ms(until_ms);
    return f;
}

v1::Frame mentioning(v1::Frame send, std::vector<st::user_id> users, bool all = false) {
    auto* content = send.mutable_send()->mutable_content();
    for (auto u : users) content->add_mentions(u);
    content->set_mention_all(all);
    return send;
}

}  // namespace

TEST_CASE("mute: each member's pushes carry the notice their setting gives", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto quiet = h.open({acme, 2, 20}, 1);
    auto mentions = h.open({acme, 3, 30}, 0);
    auto plain = h.open({acme, 4, 40}, 1);
    const auto g = create_group(h, owner, {2, 3, 4});
    h.request(quiet, mute_frame(5, g, v1::NOTIFY_LEVEL_NOTHING));
    CHECK(quiet->reply_to(5)->has_ok());
    h.request(mentions, mute_frame(6, g, v1::NOTIFY_LEVEL_MENTIONS));
    CHECK(mentions->reply_to(6)->has_ok());

    h.request(owner, text_send(7, g, "lunch?", "m-1"));
    CHECK(last_notice(*owner) == v1::NOTICE_NONE);  // the sender's own push
    CHECK(last_notice(*quiet) == v1::NOTICE_NONE);
    CHECK(last_notice(*mentions) == v1::NOTICE_NONE);
    CHECK(last_notice(*plain) == v1::NOTICE_ALERT);

    h.request(owner, mentioning(text_send(8, g, "@3 @2 review please", "m-2"), {3, 2}));
    CHECK(last_notice(*quiet) == v1::NOTICE_NONE);  // muted to nothing: mentions too
    CHECK(last_notice(*mentions) == v1::NOTICE_ALERT);
    CHECK(last_notice(*plain) == v1::NOTICE_ALERT);

    // Back to all: the next message alerts again.
    h.request(quiet, mute_frame(9, g, v1::NOTIFY_LEVEL_ALL));
    h.request(owner, text_send(10, g, "done", "m-3"));
    CHECK(last_notice(*quiet) == v1::NOTICE_ALERT);
    CHECK(last_notice(*mentions) == v1::NOTICE_NONE);
}

TEST_CASE("mute: durable, then told to every device of the user", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto phone = h.open({acme, 2, 20}, 0);
    auto desk = h.open({acme, 2, 21}, 1);
    const auto g = create_group(h, owner, {2});
    h.submit(phone, mute_frame(5, g, v1::NOTIFY_LEVEL_MENTIONS, h.router.unix_ms() + 3'600'000));
    h.router.run();
    CHECK_FALSE(phone->reply_to(5));  // not before the commit
    h.settle();
    CHECK(phone->reply_to(5)->has_ok());
    for (const auto& device : {phone, desk}) {
        const auto updates = device->of(v1::Frame::kMuteUpdate);
        REQUIRE(updates.size() == 1);
        CHECK(updates[0].mute_update().level() == v1::NOTIFY_LEVEL_MENTIONS);
        CHECK(updates[0].mute_update().until_ms() == h.router.unix_ms() + 3'600'000);
        CHECK(updates[0].mute_update().conv().id() == g.id);
    }
    CHECK(owner->of(v1::Frame::kMuteUpdate).empty());
    const auto stored = h.memory->member(acme, g, 2).value();
    CHECK(stored->mute ==
          st::mute_setting{st::notify_level::mentions, h.router.unix_ms() + 3'600'000});

    // The conversation list carries it.
    v1::Frame list;
    list.set_req_id(6);
    list.mutable_list_conversations();
    h.request(desk, list);
    const auto reply = desk->reply_to(6);
    REQUIRE(reply);
    const auto& summary = reply->conversation_list().conversations(0);
    CHECK(summary.notify() == v1::NOTIFY_LEVEL_MENTIONS);
    CHECK(summary.mute_until_ms() == h.router.unix_ms() + 3'600'000);
}

TEST_CASE("mute: a setting with a time ends by itself", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto member = h.open({acme, 2, 20}, 1);
    const auto g = create_group(h, owner, {2});
    h.request(member, mute_frame(5, g, v1::NOTIFY_LEVEL_NOTHING, h.router.unix_ms() + 60'000));
    h.request(owner, text_send(6, g, "one", "m-1"));
    CHECK(last_notice(*member) == v1::NOTICE_NONE);
    h.router.advance(std::chrono::seconds(60));
    h.request(owner, text_send(7, g, "two", "m-2"));
    CHECK(last_notice(*member) == v1::NOTICE_ALERT);
}

TEST_CASE("mute: a member who leaves loses the setting", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto member = h.open({acme, 2, 20}, 1);
    const auto g = create_group(h, owner, {2});
    h.request(member, mute_frame(5, g, v1::NOTIFY_LEVEL_NOTHING));
    v1::Frame leave;
    leave.set_req_id(6);
    core::to_proto(g, *leave.mutable_group_leave()->mutable_conv());
    leave.mutable_group_leave()->set_client_msg_id("leave-1");
    h.request(member, leave);
    v1::Frame add;
    add.set_req_id(7);
    core::to_proto(g, *add.mutable_group_add_members()->mutable_conv());
    add.mutable_group_add_members()->add_user_ids(2);
    add.mutable_group_add_members()->set_client_msg_id("add-1");
    h.request(owner, add);
    REQUIRE(owner->reply_to(7)->has_send_ack());
    h.request(owner, text_send(8, g, "welcome back", "m-1"));
    CHECK(last_notice(*member) == v1::NOTICE_ALERT);
    CHECK(h.memory->member(acme, g, 2).value()->mute == st::mute_setting{});
}

TEST_CASE("mute: what is not the caller's to set is refused", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto stranger = h.open({acme, 5, 50}, 1);
    const auto g = create_group(h, owner, {2});
    const auto now = h.router.unix_ms();
    const auto code = [&](const std::shared_ptr<fake_device>& d, v1::Frame f) {
        const auto id = f.req_id();
        h.request(d, std::move(f));
        const auto reply = d->reply_to(id);
        REQUIRE(reply);
        return reply->has_error() ? reply->error().code() : v1::ERROR_CODE_UNSPECIFIED;
    };
    CHECK(code(stranger, mute_frame(1, g, v1::NOTIFY_LEVEL_NOTHING)) == v1::NOT_MEMBER);
    CHECK(code(owner, mute_frame(2, g, static_cast<v1::NotifyLevel>(7))) == v1::INVALID_ARGUMENT);
    CHECK(code(owner, mute_frame(3, g, v1::NOTIFY_LEVEL_ALL, now + 1'000)) == v1::INVALID_ARGUMENT);
    CHECK(code(owner, mute_frame(4, g, v1::NOTIFY_LEVEL_NOTHING, now)) == v1::INVALID_ARGUMENT);
    CHECK(code(owner, mute_frame(5, st::conv_id::direct(1, 5), v1::NOTIFY_LEVEL_NOTHING)) ==
          v1::NOT_FOUND);  // a direct conversation without messages has no members yet
    CHECK(code(owner, mute_frame(6, st::conv_id::group(424242), v1::NOTIFY_LEVEL_NOTHING)) ==
          v1::NOT_MEMBER);
    CHECK(stranger->of(v1::Frame::kMuteUpdate).empty());
    CHECK(owner->of(v1::Frame::kMuteUpdate).empty());
}

TEST_CASE("mute: a failed commit leaves no setting behind", "[unit][core]") {
    service_harness h;
    auto owner = h.open({acme, 1, 10}, 0);
    auto member = h.open({acme, 2, 20}, 1);
    const auto g = create_group(h, owner, {2});
    h.commits.fail_next(make_error_code(st::errc::io_error));
    h.request(member, mute_frame(5, g, v1::NOTIFY_LEVEL_NOTHING));
    REQUIRE(member->reply_to(5)->has_error());
    CHECK(member->reply_to(5)->error().retryable());
    CHECK(member->of(v1::Frame::kMuteUpdate).empty());
    // The owner reads the conversation again: the next message is not muted.
    h.request(owner, text_send(6, g, "hi", "m-1"));
    CHECK(last_notice(*member) == v1::NOTICE_ALERT);
}
