// Groups of the default limit, end to end: 10,000 members with user ids near 2^63, at the default
// frame size, through a real gateway with raw clients and the SDK. Every online member device
// gets the event that added it and the message that follows; offline members catch up; paged
// GroupInfo lists every member once; who-read pages; a user in 1,200 conversations lists them
// all through the cursor. Nothing meant for a device is dropped (the fixture checks).
#include <algorithm>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "sdk_fixture.hpp"
#include "tern/v1/events.pb.h"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;
constexpr std::uint64_t base = (std::uint64_t{1} << 63) - 20'000;  // ids near 2^63
constexpr std::uint64_t owner_id = base;
constexpr std::size_t members = 10'000;  // the default max_group_members
constexpr std::size_t per_request = 1'000;

std::uint64_t member_id(std::size_t i) { return base + i; }  // i = 1 .. members - 1

v1::Frame group_request(std::uint64_t req_id, std::uint64_t group, std::size_t from, std::size_t to,
                        const std::string& cmid) {
    v1::Frame f;
    f.set_req_id(req_id);
    if (group == 0) {
        f.mutable_group_create()->set_name("everyone");
        for (auto i = from; i < to; ++i) f.mutable_group_create()->add_member_ids(member_id(i));
        f.mutable_group_create()->set_client_msg_id(cmid);
    } else {
        *f.mutable_group_add_members()->mutable_conv() = tern::test::group(group);
        for (auto i = from; i < to; ++i) f.mutable_group_add_members()->add_user_ids(member_id(i));
        f.mutable_group_add_members()->set_client_msg_id(cmid);
    }
    return f;
}

// Reads pushes until the message `text` arrives; the events it saw, in order.
std::vector<v1::Push> pushes_until_message(raw_client& c, const std::string& text) {
    std::vector<v1::Push> got;
    while (auto f = c.receive(20s)) {
        if (!f->has_push()) continue;
        got.push_back(f->push());
        const auto& e = f->push().event();
        if (e.has_message() && e.message().content().text() == text) break;
    }
    return got;
}

// Whether `events` holds the event that made `user` a member, before the message.
bool saw_own_admission(const std::vector<v1::Push>& events, std::uint64_t user) {
    for (const auto& p : events) {
        const auto& e = p.event();
        if (e.has_group_created()) {
            for (const auto& m : e.group_created().members()) {
                if (m.user_id() == user) return true;
            }
            // Past the event's first 100: the creation still made it a member.
            if (user < member_id(per_request)) return true;
        }
        if (e.has_members_added()) {
            const auto& ids = e.members_added().user_ids();
            if (std::find(ids.begin(), ids.end(), user) != ids.end()) return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("a group of 10,000 members with ids near 2^63 works end to end",
          "[integration][sdk][large]") {
    gateway_fixture f;
    // Online from the start: the owner and every tenth member (1,000 devices).
    auto owner = f.login(acme, owner_id, 1);
    std::map<std::uint64_t, std::unique_ptr<raw_client>> online;
    for (std::size_t i = 10; i < members; i += 10)
        online[member_id(i)] = f.login(acme, member_id(i), 1);

    // Created with 999 members, then nine requests of 1,000: every request fits a 64 KiB frame.
    owner->send(group_request(1, 0, 1, per_request, "create"));
    const auto created = owner->receive_reply(1);
    REQUIRE(created);
    REQUIRE(created->has_send_ack());
    const auto group_id = created->send_ack().conv().id();
    std::uint64_t req = 2;
    for (std::size_t from = per_request; from < members; from += per_request) {
        owner->send(group_request(req, group_id, from, std::min(from + per_request, members),
                                  "add-" + std::to_string(from)));
        const auto ack = owner->receive_reply(req++);
        REQUIRE(ack);
        INFO(ack->DebugString());
        REQUIRE(ack->has_send_ack());
    }
    const auto sent = send_ok(*owner, req++, tern::test::group(group_id), "hello, everyone", "m-1");
    CHECK(sent.seq() == 11);

    // Every online device: the event that made it a member, then the message, in seq order.
    for (auto& [user, client] : online) {
        INFO("user " << user);
        const auto got = pushes_until_message(*client, "hello, everyone");
        REQUIRE_FALSE(got.empty());
        CHECK(got.back().event().message().content().text() == "hello, everyone");
        CHECK(saw_own_admission(got, user));
        for (std::size_t k = 1; k < got.size(); ++k) {
            CHECK(got[k].inbox_seq() == got[k - 1].inbox_seq() + 1);
            CHECK(got[k].event().seq() > got[k - 1].event().seq());
        }
    }

    // Offline members catch up when they come: the event that added them, then the message.
    for (const std::size_t i :
         {std::size_t{1}, std::size_t{99}, std::size_t{101}, std::size_t{4'321}, members - 1}) {
        INFO("member " << i);
        v1::Welcome welcome;
        auto late = f.login(acme, member_id(i), 2, std::nullopt, &welcome);
        CHECK(welcome.resume_from() == 0);
        const auto got = pushes_until_message(*late, "hello, everyone");
        REQUIRE_FALSE(got.empty());
        CHECK(got.back().event().message().content().text() == "hello, everyone");
        CHECK(saw_own_admission(got, member_id(i)));
        // The same through an explicit sync, page by page.
        std::vector<v1::Push> synced;
        std::uint64_t after = 0;
        for (int pages = 0; pages < 20; ++pages) {
            v1::Frame s;
            s.set_req_id(500 + pages);
            s.mutable_sync()->set_after_inbox_seq(after);
            late->send(s);
            const auto page = late->receive_reply(500 + pages);
            REQUIRE(page);
            REQUIRE(page->has_sync_page());
            CHECK(page->ByteSizeLong() <= f.cfg.limits.max_frame_bytes);
            for (const auto& p : page->sync_page().events()) synced.push_back(p);
            if (!page->sync_page().has_more()) break;
            REQUIRE(page->sync_page().events_size() > 0);
            after = synced.back().inbox_seq();
        }
        REQUIRE(synced.size() == got.size());
    }

    // Paged GroupInfo: every member exactly once, ascending.
    std::vector<std::uint64_t> listed;
    std::uint64_t after = 0;
    for (int pages = 0; pages < 100; ++pages) {
        v1::Frame g;
        g.set_req_id(1'000 + pages);
        *g.mutable_group_info_request()->mutable_conv() = tern::test::group(group_id);
        g.mutable_group_info_request()->set_after_user_id(after);
        g.mutable_group_info_request()->set_limit(1'000);
        owner->send(g);
        const auto info = owner->receive_reply(1'000 + pages);
        REQUIRE(info);
        REQUIRE(info->has_group_info());
        CHECK(info->group_info().member_count() == members);
        for (const auto& m : info->group_info().members()) listed.push_back(m.user_id());
        if (!info->group_info().has_more()) break;
        after = listed.back();
    }
    REQUIRE(listed.size() == members);
    CHECK(std::is_sorted(listed.begin(), listed.end()));
    CHECK(std::set<std::uint64_t>(listed.begin(), listed.end()).size() == members);

    // Who-read, paged: the online members read the message.
    for (auto& [user, client] : online) client->send(mark_read(7, tern::test::group(group_id), 11));
    for (auto& [user, client] : online) REQUIRE(client->receive_reply(7));
    std::size_t read = 0;
    std::size_t unread = 0;
    after = 0;
    for (int pages = 0; pages < 100; ++pages) {
        v1::Frame w;
        w.set_req_id(2'000 + pages);
        *w.mutable_who_read()->mutable_conv() = tern::test::group(group_id);
        w.mutable_who_read()->set_seq(11);
        w.mutable_who_read()->set_with_lists(true);
        w.mutable_who_read()->set_after_user_id(after);
        owner->send(w);
        const auto reply = owner->receive_reply(2'000 + pages);
        REQUIRE(reply);
        REQUIRE(reply->has_who_read_reply());
        const auto& r = reply->who_read_reply();
        CHECK(r.read_count() == online.size());
        CHECK(r.unread_count() == members - 1 - online.size());
        read += static_cast<std::size_t>(r.read_users_size());
        unread += static_cast<std::size_t>(r.unread_users_size());
        if (!r.has_more()) break;
        after = std::max(r.read_users().empty() ? 0 : *r.read_users().rbegin(),
                         r.unread_users().empty() ? 0 : *r.unread_users().rbegin());
    }
    CHECK(read == online.size());
    CHECK(unread == members - 1 - online.size());

    // The SDK: group_info() and who_read() hand over every page as one.
    sdk_device sdk(f, acme, member_id(5), 3, tcp_endpoint(*f.gw));
    sdk.wait_connected();
    // An offline member on the SDK catches up: the group's creation, then the message.
    const auto conv = tc::conv_id::group(group_id);
    REQUIRE(sdk.events->wait(
        [&](const recording_listener& l) { return !l.messages_of(conv).empty(); }));
    sdk.events->read([&](const recording_listener& l) {
        REQUIRE(l.messages_of(conv).size() == 1);
        CHECK(l.messages_of(conv)[0].content.text == "hello, everyone");
        const auto first = std::find_if(l.events.begin(), l.events.end(),
                                        [&](const tc::event& e) { return e.conv == conv; });
        REQUIRE(first != l.events.end());
        CHECK(first->kind == tc::event_kind::group_created);
        CHECK(first->member_count == per_request);  // created with 999 others
    });
    awaited<tc::group_info> info;
    sdk.client->group_info(tc::conv_id::group(group_id), info.callback());
    const auto whole = info.get();
    REQUIRE(whole);
    CHECK(whole->members.size() == members);
    CHECK(whole->member_count == members);
    awaited<tc::who_read> who;
    sdk.client->who_read(tc::conv_id::group(group_id), 11, true, who.callback());
    const auto readers = who.get();
    REQUIRE(readers);
    CHECK(readers->read_users.size() == online.size());
    CHECK(readers->unread_users.size() == members - 1 - online.size());
}

TEST_CASE("a user in 1,200 conversations lists them all through the cursor",
          "[integration][sdk][large]") {
    gateway_fixture f([](server::config& c) {
        c.limits.inbound_frames_per_second = 100'000;
        c.limits.inbound_burst = 100'000;
    });
    auto alice = f.login(acme, 7, 70);
    constexpr std::uint64_t count = 1'200;
    // Pipelined in windows, with names as long as allowed, in groups of one.
    for (std::uint64_t start = 0; start < count; start += 100) {
        for (std::uint64_t i = start; i < start + 100; ++i) {
            v1::Frame g;
            g.set_req_id(10 + i);
            g.mutable_group_create()->set_name(std::string(200, 'n') + std::to_string(i));
            g.mutable_group_create()->set_client_msg_id("g-" + std::to_string(i));
            alice->send(g);
        }
        for (std::uint64_t i = start; i < start + 100; ++i) {
            const auto ack = alice->receive_reply(10 + i);
            REQUIRE(ack);
            REQUIRE(ack->has_send_ack());
        }
    }
    std::vector<std::string> names;
    std::vector<std::int64_t> times;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
        v1::Frame l;
        l.set_req_id(5'000 + pages);
        l.mutable_list_conversations()->set_limit(500);
        l.mutable_list_conversations()->set_cursor(cursor);
        alice->send(l);
        const auto reply = alice->receive_reply(5'000 + pages);
        REQUIRE(reply);
        REQUIRE(reply->has_conversation_list());
        CHECK(reply->ByteSizeLong() <= f.cfg.limits.max_frame_bytes);
        for (const auto& c : reply->conversation_list().conversations()) {
            names.push_back(c.name());
            times.push_back(c.last_event_ms());
        }
        if (!reply->conversation_list().has_more()) break;
        cursor = reply->conversation_list().next_cursor();
    }
    REQUIRE(names.size() == count);
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == count);
    // Newest first (groups made in the same millisecond in a fixed order of their own).
    CHECK(std::is_sorted(times.rbegin(), times.rend()));

    // The same through the SDK's cursor.
    sdk_device sdk(f, acme, 7, 71, tcp_endpoint(*f.gw));
    sdk.wait_connected();
    std::size_t through_sdk = 0;
    std::string next;
    for (int pages = 0; pages < 100; ++pages) {
        awaited<tc::conversation_list> page;
        sdk.client->list_conversations(500, next, page.callback());
        const auto r = page.get();
        REQUIRE(r);
        through_sdk += r->conversations.size();
        if (!r->has_more) break;
        next = r->next_cursor;
    }
    CHECK(through_sdk == count);
}
