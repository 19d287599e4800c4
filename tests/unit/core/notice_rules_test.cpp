// The notification decision, one case per row of the table in docs/notifications.md ("The
// decision"), in the table's order: each case sets up the row's condition together with every
// condition of a later row that would decide otherwise, so the row is shown to win over them.
#include "notice_rules.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace tern::core;
namespace st = tern::storage;

namespace {

const std::vector<st::user_id> mentions_of_7{7};

event_facts message_from(st::user_id sender, std::uint32_t flags = 0) {
    event_facts e;
    e.sender = sender;
    e.is_message = true;
    e.flags = flags;
    return e;
}

recipient_facts recipient(st::user_id user) {
    recipient_facts r;
    r.user = user;
    return r;
}

// A recipient whom every later row would keep quiet: muted to nothing, in do-not-disturb, off
// hours.
recipient_facts quiet_recipient(st::user_id user) {
    auto r = recipient(user);
    r.mute = st::notify_level::nothing;
    r.do_not_disturb = true;
    r.working = false;
    return r;
}

}  // namespace

TEST_CASE("notice row 1: the sender's own devices are not notified", "[unit][notify]") {
    auto e = message_from(7, flag_urgent);
    e.mentions = mentions_of_7;
    auto r = recipient(7);
    r.urgent_allowed = true;
    CHECK(decide_notice(e, r) == notice_decision{notice::none, notice_reason::own_event});
}

TEST_CASE("notice row 2: a recall, an edit or a group change is silent", "[unit][notify]") {
    auto e = message_from(1, flag_urgent);
    e.is_message = false;
    auto r = recipient(7);
    r.urgent_allowed = true;
    CHECK(decide_notice(e, r) == notice_decision{notice::silent, notice_reason::not_a_message});
    CHECK(decide_notice(e, quiet_recipient(7)).level == notice::silent);
}

TEST_CASE("notice row 3: allowed urgency passes mute, do-not-disturb and off hours",
          "[unit][notify]") {
    const auto e = message_from(1, flag_urgent | flag_silent | flag_no_unread);
    auto r = quiet_recipient(7);
    r.urgent_allowed = true;
    CHECK(decide_notice(e, r) == notice_decision{notice::alert, notice_reason::urgent});
    // Not allowed for this recipient: the urgent flag counts for nothing (the later rows decide).
    r.urgent_allowed = false;
    CHECK(decide_notice(e, r) == notice_decision{notice::silent, notice_reason::sender_silenced});
    CHECK(decide_notice(message_from(1, flag_urgent), r) ==
          notice_decision{notice::none, notice_reason::muted});
}

TEST_CASE("notice row 4: the sender's silent flag keeps it silent", "[unit][notify]") {
    auto e = message_from(1, flag_silent);
    e.mentions = mentions_of_7;
    CHECK(decide_notice(e, recipient(7)) ==
          notice_decision{notice::silent, notice_reason::sender_silenced});
    CHECK(decide_notice(e, quiet_recipient(7)).level == notice::silent);
}

TEST_CASE("notice row 5: a conversation muted to nothing does not notify", "[unit][notify]") {
    auto e = message_from(1);
    e.mentions = mentions_of_7;
    e.mentions_all = true;
    auto r = recipient(7);
    r.mute = st::notify_level::nothing;
    CHECK(decide_notice(e, r) == notice_decision{notice::none, notice_reason::muted});
}

TEST_CASE("notice row 6: muted to mentions, a message without one does not notify",
          "[unit][notify]") {
    auto r = recipient(7);
    r.mute = st::notify_level::mentions;
    r.do_not_disturb = true;
    CHECK(decide_notice(message_from(1), r) ==
          notice_decision{notice::none, notice_reason::not_mentioned});
    // A mention of someone else is no mention of 7.
    const std::vector<st::user_id> others{3, 8};
    auto e = message_from(1);
    e.mentions = others;
    CHECK(decide_notice(e, r).why == notice_reason::not_mentioned);
    // A mention of 7, or of everyone, goes on to the later rows.
    r.do_not_disturb = false;
    e.mentions = mentions_of_7;
    CHECK(decide_notice(e, r) == notice_decision{notice::alert, notice_reason::mentioned});
    e.mentions = {};
    e.mentions_all = true;
    CHECK(decide_notice(e, r) == notice_decision{notice::alert, notice_reason::mentioned});
}

TEST_CASE("notice row 7: a message that counts as no unread is silent", "[unit][notify]") {
    auto e = message_from(1, flag_no_unread);
    e.mentions = mentions_of_7;
    auto r = recipient(7);
    r.do_not_disturb = true;
    r.working = false;
    CHECK(decide_notice(e, r) == notice_decision{notice::silent, notice_reason::no_unread});
}

TEST_CASE("notice row 8: do-not-disturb makes it silent, mentions too", "[unit][notify]") {
    auto e = message_from(1);
    e.mentions = mentions_of_7;
    auto r = recipient(7);
    r.do_not_disturb = true;
    r.working = false;
    CHECK(decide_notice(e, r) == notice_decision{notice::silent, notice_reason::do_not_disturb});
}

TEST_CASE("notice row 9: outside working hours it is silent, for the digest", "[unit][notify]") {
    auto e = message_from(1);
    e.mentions = mentions_of_7;
    auto r = recipient(7);
    r.working = false;
    CHECK(decide_notice(e, r) == notice_decision{notice::silent, notice_reason::off_hours});
    // Unless the recipient asked to be notified off hours (their choice, not the sender's).
    r.notify_off_hours = true;
    CHECK(decide_notice(e, r) == notice_decision{notice::alert, notice_reason::mentioned});
}

TEST_CASE("notice row 10: a mention alerts", "[unit][notify]") {
    auto e = message_from(1);
    const std::vector<st::user_id> several{2, 7, 9};
    e.mentions = several;
    CHECK(decide_notice(e, recipient(7)) ==
          notice_decision{notice::alert, notice_reason::mentioned});
}

TEST_CASE("notice row 11: an ordinary message alerts", "[unit][notify]") {
    CHECK(decide_notice(message_from(1), recipient(7)) ==
          notice_decision{notice::alert, notice_reason::message});
}

TEST_CASE("notice: a mute that has expired is no mute", "[unit][notify]") {
    const st::mute_setting muted{st::notify_level::nothing, 1'000};
    CHECK(muted.at(999) == st::notify_level::nothing);
    CHECK(muted.at(1'000) == st::notify_level::all);
    const st::mute_setting forever{st::notify_level::mentions, 0};
    CHECK(forever.at(INT64_MAX) == st::notify_level::mentions);
}
