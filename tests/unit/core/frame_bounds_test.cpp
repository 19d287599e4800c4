// Every server frame fits by construction: for every event the owner can decide, at the
// configured limits (the defaults, and the smallest frames the configuration allows) and the
// largest field values (ids near 2^64, names and client_msg_ids at their limits, the largest
// content, the most mentions and users), the event is within limits::max_event_bytes, and its
// Push, and a sync or history page holding it alone, are within max_frame_bytes.
#include <catch2/catch.hpp>

#include <tern/wire/frame_codec.hpp>

#include "core_harness.hpp"
#include "decide.hpp"
#include "queries.hpp"
#include "tern/v1/events.pb.h"

using namespace tern;
using namespace tern::test;
namespace st = tern::storage;

namespace {

constexpr std::uint64_t huge = 0xffff'ffff'ffff'fff0ULL;  // ids near 2^64: 10-byte varints

// The requester, an owner of a group whose members have the largest ids.
struct setting {
    core::limits limits;
    core::requester who{huge, huge - 1, huge - 2};
    core::conv_state state;

    explicit setting(core::limits l) : limits(l) {
        state.conv = st::conv_id::group(0x7fff'ffff'ffff'fff0ULL);
        state.exists = true;
        state.head = huge;
        state.owner = who.user;
        state.members[who.user] = st::role::owner;
        for (std::uint64_t i = 0; i < 1'200; ++i) state.members[huge - 10 - i] = st::role::member;
    }
    std::string id() const { return std::string(limits.max_client_msg_id_bytes, 'k'); }
    v1::ConvId conv() const {
        v1::ConvId c;
        core::to_proto(state.conv, c);
        return c;
    }
    void largest_content(v1::Content& c, bool custom) const {
        // An urgent message's reason counts toward the content's limit.
        const auto reason = core::max_urgent_reason_bytes;
        c.set_urgent_reason(std::string(reason, 'r'));
        if (custom) {
            c.mutable_custom()->set_type(std::string(64, 't'));
            c.mutable_custom()->set_data(std::string(limits.max_content_bytes - 64 - reason, 'd'));
        } else {
            c.set_text(std::string(limits.max_content_bytes - reason, 'x'));
        }
        for (std::size_t i = 0; i < limits.max_mentions; ++i) c.add_mentions(huge - 10 - i);
        c.set_mention_all(true);
        c.set_reply_to_seq(huge - 1);
        c.set_flags(0xffff'ffffU);
    }
    std::int64_t now() const { return std::int64_t{1} << 62; }  // far ahead, no overflow with ttls
};

// Checks that `event` (the decided entry's bytes) fits everywhere a server frame carries it.
void check_fits(const core::limits& limits, const st::append_event& entry) {
    const auto& bytes = *entry.bytes;
    INFO("event of " << bytes.size() << " bytes, frames of " << limits.max_frame_bytes);
    CHECK(bytes.size() <= limits.max_event_bytes());
    for (const auto f : {wire::framing::stream, wire::framing::websocket}) {
        wire::out_frame out;
        CHECK_FALSE(
            wire::encode_push(huge, entry.bytes, f, limits.max_frame_bytes, out, v1::NOTICE_ALERT));
    }
    v1::Event ev;
    REQUIRE(ev.ParseFromString(bytes));
    v1::Frame sync;
    sync.set_req_id(huge);
    auto* push = sync.mutable_sync_page()->add_events();
    push->set_inbox_seq(huge);
    *push->mutable_event() = ev;
    sync.mutable_sync_page()->set_inbox_head(huge);
    sync.mutable_sync_page()->set_has_more(true);
    CHECK(sync.ByteSizeLong() <= limits.max_frame_bytes);
    v1::Frame history;
    history.set_req_id(huge);
    *history.mutable_history_page()->mutable_conv() = ev.conv();
    *history.mutable_history_page()->add_events() = ev;
    history.mutable_history_page()->set_head_seq(huge);
    history.mutable_history_page()->set_has_more(true);
    CHECK(history.ByteSizeLong() <= limits.max_frame_bytes);
}

core::limits smallest_frames() {
    core::limits l;
    l.max_frame_bytes = 16 * 1024;               // the configuration's least
    l.max_content_bytes = 16 * 1024 - 4 * 1024;  // the most it allows with it
    return l;
}

}  // namespace

TEST_CASE("every event the owner decides fits a frame at the limits", "[unit][core]") {
    for (const auto& limits : {core::limits{}, smallest_frames()}) {
        DYNAMIC_SECTION("frames of " << limits.max_frame_bytes) {
            const setting s(limits);
            core::target_event target{true, s.who.user, s.now(), st::event_kind::message, false};

            for (const bool custom : {false, true}) {
                v1::SendRequest send;
                *send.mutable_conv() = s.conv();
                send.set_client_msg_id(s.id());
                s.largest_content(*send.mutable_content(), custom);
                check_fits(limits,
                           core::decide_send(s.who, send, s.state, limits, s.now()).value());

                v1::EditRequest edit;
                *edit.mutable_conv() = s.conv();
                edit.set_seq(huge - 1);
                edit.set_client_msg_id(s.id());
                s.largest_content(*edit.mutable_content(), custom);
                check_fits(
                    limits,
                    core::decide_edit(s.who, edit, s.state, target, limits, s.now()).value());
            }

            v1::RecallRequest recall;
            *recall.mutable_conv() = s.conv();
            recall.set_seq(huge - 1);
            recall.set_client_msg_id(s.id());
            check_fits(
                limits,
                core::decide_recall(s.who, recall, s.state, target, limits, s.now()).value());

            v1::GroupCreate create;  // the largest group, every member named
            create.set_name(std::string(limits.max_group_name_bytes, 'n'));
            for (std::uint64_t i = 0; i + 1 < limits.max_group_members; ++i) {
                create.add_member_ids(huge - 10 - i);
            }
            create.set_client_msg_id(s.id());
            const auto created =
                core::decide_group_create(s.who, create, 0x7fff'ffff'ffff'fff0ULL, limits, s.now())
                    .value();
            check_fits(limits, created);
            v1::Event ev;
            ev.ParseFromString(*created.bytes);
            CHECK(ev.group_created().member_count() == limits.max_group_members);
            CHECK(static_cast<std::size_t>(ev.group_created().members_size()) ==
                  limits.created_event_members);
            CHECK(created.membership.size() == limits.max_group_members);  // all of them join

            v1::GroupAddMembers add;  // the most users one request names
            *add.mutable_conv() = s.conv();
            for (std::size_t i = 0; i < limits.max_users_per_request; ++i)
                add.add_user_ids(huge - 5'000 - i);
            add.set_client_msg_id(s.id());
            auto roomy = s.state;
            check_fits(limits,
                       core::decide_add_members(s.who, add, roomy, limits, s.now()).value());

            v1::GroupRemoveMembers remove;
            *remove.mutable_conv() = s.conv();
            for (std::size_t i = 0; i < limits.max_users_per_request; ++i)
                remove.add_user_ids(huge - 10 - i);
            remove.set_client_msg_id(s.id());
            check_fits(
                limits,
                core::decide_remove_members(s.who, remove, s.state, limits, s.now()).value());

            v1::GroupRename rename;
            *rename.mutable_conv() = s.conv();
            rename.set_name(std::string(limits.max_group_name_bytes, 'r'));
            rename.set_client_msg_id(s.id());
            check_fits(limits,
                       core::decide_rename(s.who, rename, s.state, limits, s.now()).value());

            v1::GroupSetRole role;
            *role.mutable_conv() = s.conv();
            role.set_user_id(huge - 10);
            role.set_role(v1::ROLE_OWNER);
            role.set_client_msg_id(s.id());
            check_fits(limits,
                       core::decide_set_role(s.who, role, s.state, limits, s.now()).value());

            v1::GroupLeave leave;
            *leave.mutable_conv() = s.conv();
            leave.set_client_msg_id(s.id());
            check_fits(limits, core::decide_leave(s.who, leave, s.state, limits, s.now()).value());
        }
    }
}

TEST_CASE("an event too large for a frame is refused by the owner, counted, and not stored",
          "[unit][core]") {
    service_harness h;
    h.limits.max_frame_bytes = 16 * 1024;
    h.limits.max_content_bytes = 32 * 1024;  // a configuration the server refuses to start with
    auto alice = h.open({acme, 8, 80}, 0);
    h.request(alice, text_send(1, st::conv_id::direct(8, 9), std::string(20 * 1024, 'x'), "big"));
    REQUIRE(alice->reply_to(1));
    CHECK(alice->reply_to(1)->error().code() == v1::CONTENT_TOO_LARGE);
    CHECK(h.telemetry.count(core::failure::event_too_large) == 1);
    CHECK_FALSE(h.store->conversation(acme, st::conv_id::direct(8, 9)).value());
}

TEST_CASE("a stored event that cannot fit a page is answered with an error naming it",
          "[unit][core]") {
    service_harness h;
    auto alice = h.open({acme, 8, 80}, 0);
    h.request(alice, text_send(1, st::conv_id::direct(8, 9), std::string(12 * 1024, 'x'), "m"));
    auto smaller = h.limits;
    smaller.max_frame_bytes = 8 * 1024;  // frames made smaller after the event was stored
    v1::Frame sync;
    sync.set_req_id(5);
    sync.mutable_sync();
    const auto page = core::answer_sync(*h.store, smaller, {acme, 9, 90}, sync);
    REQUIRE(page.has_error());
    CHECK(page.req_id() == 5);
    CHECK(page.error().code() == v1::INTERNAL);
}
