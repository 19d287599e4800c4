// One conformance suite, run against the in-memory store and the RocksDB store: both must give
// the same answers for the same entries (docs/storage.md, "Applying an entry").
#include <algorithm>

#include <catch2/catch.hpp>

#include "store_fixtures.hpp"

using namespace tern::test;
using st::conv_id;
using st::direction;
using st::role;

namespace {
constexpr st::tenant_id acme = 1;
constexpr st::tenant_id globex = 2;

std::vector<st::seq_t> seqs_of(const std::vector<st::stored_event>& events) {
    std::vector<st::seq_t> out;
    for (const auto& e : events) out.push_back(e.seq);
    return out;
}
}  // namespace

#define STORE_TEST(name) TEMPLATE_TEST_CASE(name, "[unit][storage]", memory_factory, rocks_factory)

STORE_TEST("the first direct message creates the conversation for both users") {
    TestType f;
    auto& s = *f.store;
    const auto out = apply_ok(s, first_direct(acme, 10, 20, "hello"));
    REQUIRE(out.inbox == std::vector<st::inbox_assignment>{{10, 1}, {20, 1}});

    const auto c = conv_id::direct(20, 10);
    const auto meta = s.conversation(acme, c).value();
    REQUIRE(meta);
    CHECK(meta->head_seq == 1);
    CHECK(meta->member_count == 2);
    CHECK(meta->countable == 1);

    const auto events = s.timeline(acme, c, 1, direction::forward, 10).value();
    REQUIRE(events.size() == 1);
    CHECK(*events[0].bytes == "hello");
    CHECK(events[0].sender == 10);

    // The sender has read its own message; the peer has not.
    CHECK(s.receipt(acme, c, 10).value() == st::receipt_cursor{10, 1, 1});
    CHECK(s.receipt(acme, c, 20).value() == st::receipt_cursor{20, 0, 0});
    CHECK(s.conversations_of(acme, 20).value().at(0).unread == 1);
    CHECK(s.conversations_of(acme, 10).value().at(0).unread == 0);
    CHECK(s.verify().has_value());
}

STORE_TEST("seqs must follow the head without gaps or repeats") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2));
    auto results = apply(s, {message(acme, c, 3, 1),    // gap
                             message(acme, c, 1, 1),    // repeat
                             message(acme, c, 2, 2),    // the next one
                             message(acme, c, 2, 1)});  // repeat within the batch
    REQUIRE(results.size() == 4);
    CHECK(results[0].error() == st::errc::invalid_entry);
    CHECK(results[1].error() == st::errc::invalid_entry);
    CHECK(results[2].has_value());
    CHECK(results[3].error() == st::errc::invalid_entry);
    CHECK(s.conversation(acme, c).value()->head_seq == 2);
    CHECK(s.applied_index().value() == 5);
    CHECK(s.verify().has_value());
}

STORE_TEST("malformed entries are refused alone") {
    TestType f;
    auto& s = *f.store;
    auto stranger = first_direct(acme, 1, 2);
    stranger.membership.push_back({3, role::member});  // a third user in a direct conversation
    auto group_without_create = message(acme, conv_id::group(5), 1, 1);
    group_without_create.membership.push_back({1, role::owner});
    auto no_members = message(acme, conv_id::direct(1, 2), 1, 1);
    auto bad_conv = first_direct(acme, 1, 2);
    bad_conv.conv = conv_id{st::conv_type::direct, 2, 1};  // not in canonical order
    auto results =
        apply(s, {stranger, group_without_create, no_members, bad_conv,
                  st::mark_read{acme, conv_id::direct(1, 2), 1, 1}, first_direct(acme, 1, 2)});
    for (int i = 0; i < 5; ++i) CHECK(results[i].error() == st::errc::invalid_entry);
    CHECK(results[5].has_value());
    CHECK(s.verify().has_value());
}

STORE_TEST("group membership changes drive recipients, the reverse index and roles") {
    TestType f;
    auto& s = *f.store;
    const auto g = conv_id::group(100);
    auto out = apply_ok(s, group_created(acme, 100, 1, {2, 3}, "ops"));
    CHECK(out.inbox.size() == 3);
    auto meta = s.conversation(acme, g).value();
    CHECK(meta->owner == 1);
    CHECK(meta->name == "ops");
    CHECK(meta->member_count == 3);

    // Remove 3 and add 4 in one event: 3 still receives the event that removed it, 4 receives it.
    out = apply_ok(s, membership_event(acme, g, 2, 1, st::event_kind::members_added,
                                       {{3, std::nullopt}, {4, role::member}}));
    std::vector<st::user_id> recipients;
    for (const auto& a : out.inbox) recipients.push_back(a.user);
    CHECK(recipients == std::vector<st::user_id>{1, 2, 3, 4});

    const auto members = s.members(acme, g).value();
    CHECK(members == std::vector<st::member_record>{{1, role::owner, 1, {}},
                                                    {2, role::member, 1, {}},
                                                    {4, role::member, 2, {}}});
    CHECK(s.conversations_of(acme, 3).value().empty());
    CHECK(s.conversations_of(acme, 4).value().size() == 1);
    CHECK_FALSE(s.member(acme, g, 3).value());
    CHECK_FALSE(s.receipt(acme, g, 3).value());

    // 3 receives nothing after its removal.
    out = apply_ok(s, message(acme, g, 3, 2));
    recipients.clear();
    for (const auto& a : out.inbox) recipients.push_back(a.user);
    CHECK(recipients == std::vector<st::user_id>{1, 2, 4});

    // Ownership transfer and rename.
    auto transfer = membership_event(acme, g, 4, 1, st::event_kind::role_changed,
                                     {{2, role::owner}, {1, role::admin}});
    transfer.new_name = "ops-2";
    apply_ok(s, transfer);
    meta = s.conversation(acme, g).value();
    CHECK(meta->owner == 2);
    CHECK(meta->name == "ops-2");
    CHECK(s.member(acme, g, 1).value()->member_role == role::admin);
    CHECK(s.verify().has_value());
}

STORE_TEST("timeline pages go forward and backward") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2));
    for (st::seq_t seq = 2; seq <= 10; ++seq) apply_ok(s, message(acme, c, seq, seq % 2 + 1));
    CHECK(seqs_of(s.timeline(acme, c, 0, direction::forward, 3).value()) ==
          std::vector<st::seq_t>{1, 2, 3});
    CHECK(seqs_of(s.timeline(acme, c, 8, direction::forward, 5).value()) ==
          std::vector<st::seq_t>{8, 9, 10});
    CHECK(seqs_of(s.timeline(acme, c, 0, direction::backward, 3).value()) ==
          std::vector<st::seq_t>{10, 9, 8});
    CHECK(seqs_of(s.timeline(acme, c, 2, direction::backward, 5).value()) ==
          std::vector<st::seq_t>{2, 1});
    CHECK(s.timeline(acme, c, 11, direction::forward, 5).value().empty());
    CHECK(s.timeline(acme, c, 1, direction::forward, 0).value().empty());
    // Another conversation's events never leak into the page.
    apply_ok(s, first_direct(acme, 1, 3));
    CHECK(s.timeline(acme, c, 0, direction::backward, 100).value().size() == 10);
}

STORE_TEST("the inbox pages after a cursor and carries the events") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2, "m1"));
    apply_ok(s, first_direct(acme, 2, 3, "other"));
    apply_ok(s, message(acme, c, 2, 2, "m2"));
    CHECK(s.inbox_head(acme, 2).value() == 3);
    const auto page = s.inbox_after(acme, 2, 1, 10).value();
    REQUIRE(page.size() == 2);
    CHECK(page[0].inbox_seq == 2);
    CHECK(page[0].conv == conv_id::direct(2, 3));
    CHECK(*page[0].bytes == "other");
    CHECK(page[1].inbox_seq == 3);
    CHECK(page[1].seq == 2);
    CHECK(*page[1].bytes == "m2");
    CHECK(s.inbox_after(acme, 2, 0, 1).value().size() == 1);
    CHECK(s.inbox_after(acme, 2, 3, 10).value().empty());
    CHECK(s.inbox_head(acme, 99).value() == 0);
}

STORE_TEST("the inbox joins runs of one conversation and scattered entries alike") {
    // User 2 misses a stretch of one conversation, interleaved with two others: the RocksDB
    // store reads the stretch with an iterator and the rest with point lookups.
    TestType f;
    auto& s = *f.store;
    const auto a = conv_id::direct(1, 2);
    const auto b = conv_id::direct(2, 3);
    apply_ok(s, first_direct(acme, 1, 2, "a1"));
    apply_ok(s, first_direct(acme, 3, 2, "b1"));
    for (st::seq_t seq = 2; seq <= 7; ++seq) {
        apply_ok(s, message(acme, a, seq, 1, "a" + std::to_string(seq)));
        if (seq == 4) apply_ok(s, message(acme, b, 2, 3, "b2"));
    }
    apply_ok(s, first_direct(acme, 4, 2, "c1"));
    std::vector<std::string> texts;
    for (const auto& item : s.inbox_after(acme, 2, 0, 100).value()) {
        REQUIRE(item.bytes);
        texts.push_back(*item.bytes);
    }
    CHECK(texts ==
          std::vector<std::string>{"a1", "b1", "a2", "a3", "a4", "b2", "a5", "a6", "a7", "c1"});
    // A page that starts and ends inside the stretch.
    const auto page = s.inbox_after(acme, 2, 3, 5).value();
    REQUIRE(page.size() == 5);
    CHECK(*page[0].bytes == "a3");
    CHECK(*page[2].bytes == "b2");
    CHECK(*page[4].bytes == "a6");
}

STORE_TEST("cumulative acks move the device cursor and delivered receipts, monotonically") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2));
    apply_ok(s, message(acme, c, 2, 1));
    apply_ok(s, message(acme, c, 3, 1));

    auto out = apply_ok(s, st::ack_inbox{acme, 2, 7, 2});
    REQUIRE(out.cursors.size() == 1);
    CHECK(out.cursors[0].cursor == st::receipt_cursor{2, 2, 0});
    CHECK(s.device_cursor(acme, 2, 7).value() == 2);

    // An older ack changes nothing; an ack beyond the head is clamped to it.
    CHECK(apply_ok(s, st::ack_inbox{acme, 2, 7, 1}).cursors.empty());
    CHECK(s.device_cursor(acme, 2, 7).value() == 2);
    out = apply_ok(s, st::ack_inbox{acme, 2, 7, 1000});
    CHECK(s.device_cursor(acme, 2, 7).value() == 3);
    CHECK(out.cursors.at(0).cursor.delivered_up_to == 3);

    // Another device of the same user has its own cursor; delivery is already recorded.
    CHECK(s.device_cursor(acme, 2, 8).value() == 0);
    CHECK(apply_ok(s, st::ack_inbox{acme, 2, 8, 3}).cursors.empty());
    CHECK(s.device_cursor(acme, 2, 8).value() == 3);
    CHECK(s.verify().has_value());
}

// The RocksDB writer answers an Ack from its cache of the user's newest inbox entries when the
// device is up to date, and from the inbox family otherwise (far behind, or entries of the same
// batch): every path must move each conversation's delivery cursor to its newest covered seq.
STORE_TEST("an Ack moves delivery cursors whether it is far behind, up to date or in the batch") {
    TestType f;
    auto& s = *f.store;
    const auto c1 = conv_id::direct(1, 2);
    const auto c2 = conv_id::direct(2, 3);
    const auto delivered = [&](const conv_id& c) {
        return s.receipt(acme, c, 2).value().value().delivered_up_to;
    };
    apply_ok(s, first_direct(acme, 1, 2));
    apply_ok(s, first_direct(acme, 3, 2));
    for (st::seq_t seq = 2; seq <= 7; ++seq) {
        apply_ok(s, message(acme, c1, seq, 1));
        apply_ok(s, message(acme, c2, seq, 3));
    }
    // Far behind: 14 entries, more than the writer keeps.
    apply_ok(s, st::ack_inbox{acme, 2, 7, 13});
    CHECK(delivered(c1) == 7);
    CHECK(delivered(c2) == 6);

    // Up to date: only the newest entries, of one conversation.
    apply_ok(s, message(acme, c2, 8, 3));
    apply_ok(s, message(acme, c1, 8, 1));
    auto out = apply_ok(s, st::ack_inbox{acme, 2, 7, 15});
    REQUIRE(out.cursors.size() == 1);
    CHECK(out.cursors[0].conv == c2);
    CHECK(delivered(c2) == 8);
    CHECK(delivered(c1) == 7);

    // In the batch that appended them: ten entries, then the Ack of a device that has none.
    std::vector<st::log_entry> batch;
    for (st::seq_t seq = 9; seq <= 13; ++seq) {
        batch.emplace_back(message(acme, c1, seq, 1));
        batch.emplace_back(message(acme, c2, seq, 3));
    }
    batch.emplace_back(st::ack_inbox{acme, 2, 9, 25});
    const auto results = apply(s, std::move(batch));
    REQUIRE(results.back().has_value());
    CHECK(delivered(c1) == 13);
    CHECK(delivered(c2) == 12);
    CHECK(s.device_cursor(acme, 2, 9).value() == 25);
    CHECK(s.device_cursor(acme, 2, 7).value() == 15);

    // One entry more than the writer keeps: the oldest (c2's seq 13) is only on disk.
    for (st::seq_t seq = 14; seq <= 21; ++seq) apply_ok(s, message(acme, c1, seq, 1));
    out = apply_ok(s, st::ack_inbox{acme, 2, 9, 34});
    CHECK(delivered(c2) == 13);
    CHECK(delivered(c1) == 21);
    CHECK(out.cursors.size() == 2);
    CHECK(s.verify().has_value());
}

STORE_TEST("read cursors are monotone, clamped, and drive unread counts and who-read") {
    TestType f;
    auto& s = *f.store;
    const auto g = conv_id::group(7);
    apply_ok(s, group_created(acme, 7, 1, {2, 3, 4}));
    for (st::seq_t seq = 2; seq <= 6; ++seq) apply_ok(s, message(acme, g, seq, 1));

    auto unread_of = [&](st::user_id u) {
        return s.conversations_of(acme, u).value().at(0).unread;
    };
    CHECK(unread_of(2) == 5);
    CHECK(unread_of(1) == 0);

    auto out = apply_ok(s, st::mark_read{acme, g, 2, 4});
    CHECK(out.cursors.at(0).cursor == st::receipt_cursor{2, 4, 4});
    CHECK(out.cursors.at(0).previous_read_up_to == 0);  // a new member has read nothing
    CHECK(unread_of(2) == 2);
    out = apply_ok(s, st::mark_read{acme, g, 2, 5});
    CHECK(out.cursors.at(0).previous_read_up_to == 4);
    CHECK(apply_ok(s, st::mark_read{acme, g, 2, 3}).cursors.empty());  // backwards: ignored
    apply_ok(s, st::mark_read{acme, g, 3, 99});                        // clamped to the head
    CHECK(s.receipt(acme, g, 3).value()->read_up_to == 6);
    CHECK(unread_of(3) == 0);

    // Who read seq 4 (sent by 1): 2 and 3 have, 4 has not; the sender is not listed.
    auto who = s.readers(acme, g, 4).value();
    REQUIRE(who);
    CHECK(who->read == std::vector<st::user_id>{2, 3});
    CHECK(who->unread == std::vector<st::user_id>{4});

    // A member who joins later is not asked about earlier messages.
    apply_ok(s,
             membership_event(acme, g, 7, 1, st::event_kind::members_added, {{5, role::member}}));
    who = s.readers(acme, g, 4).value();
    CHECK(who->unread == std::vector<st::user_id>{4});
    CHECK(unread_of(5) == 0);
    out = apply_ok(s, message(acme, g, 8, 2));
    CHECK(unread_of(5) == 1);
    // Sending reads everything before: 2's unread is gone, and the outcome says so.
    CHECK(unread_of(2) == 0);
    REQUIRE(out.cursors.size() == 1);
    CHECK(out.cursors[0].cursor == st::receipt_cursor{2, 8, 8});
    CHECK(out.cursors[0].previous_read_up_to == 5);
    CHECK_FALSE(s.readers(acme, g, 99).value());
    CHECK_FALSE(s.readers(acme, conv_id::group(8), 1).value());

    // Every member with its cursors, in one pass, ascending by user.
    const auto all = s.member_cursors(acme, g).value();
    REQUIRE(all.size() == 5);
    CHECK(all[0].member.user == 1);
    CHECK(all[0].member.member_role == role::owner);
    CHECK(all[2].cursor == st::receipt_cursor{3, 6, 6});
    CHECK(all[4].member.joined_seq == 7);
    CHECK(all[4].cursor.user == 5);
    CHECK(s.member_cursors(acme, conv_id::group(8)).value().empty());
    CHECK(s.member_cursors(acme + 1, g).value().empty());
    CHECK(s.verify().has_value());
}

STORE_TEST("messages that do not count toward unread are not counted") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2));
    auto silent = message(acme, c, 2, 1);
    silent.counts_unread = false;
    apply_ok(s, silent);
    apply_ok(s, message(acme, c, 3, 1));
    CHECK(s.conversations_of(acme, 2).value().at(0).unread == 2);
    apply_ok(s, st::mark_read{acme, c, 2, 2});
    CHECK(s.conversations_of(acme, 2).value().at(0).unread == 1);
}

STORE_TEST("conversations are listed newest activity first") {
    TestType f;
    auto& s = *f.store;
    apply_ok(s, first_direct(acme, 1, 2));
    apply_ok(s, group_created(acme, 5, 3, {1}));
    apply_ok(s, message(acme, conv_id::direct(1, 2), 2, 2));
    const auto list = s.conversations_of(acme, 1).value();
    REQUIRE(list.size() == 2);
    CHECK(list[0].meta.conv == conv_id::direct(1, 2));  // seq 2 at +2 s is the newest
    CHECK(list[1].meta.conv == conv_id::group(5));
    CHECK(list[1].member_role == role::member);
}

STORE_TEST("dedup records find the original event") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2));
    auto sent = message(acme, c, 2, 1, "x", "cmid-1");
    sent.dedup_kind = 20;
    sent.dedup_fingerprint = 0xfedc'ba98'7654'3210ULL;  // every bit of it kept
    apply_ok(s, sent);
    const auto rec = s.find_dedup(acme, 1, "cmid-1").value();
    REQUIRE(rec);
    CHECK(rec->conv == c);
    CHECK(rec->seq == 2);
    CHECK(rec->expires_ms > 0);
    CHECK(rec->kind == 20);
    CHECK(rec->fingerprint == 0xfedc'ba98'7654'3210ULL);
    CHECK_FALSE(s.find_dedup(acme, 2, "cmid-1").value());    // per sender
    CHECK_FALSE(s.find_dedup(globex, 1, "cmid-1").value());  // per tenant
    CHECK_FALSE(s.find_dedup(acme, 1, "cmid-2").value());
}

STORE_TEST("the conversation list pages newest first, ties in one order, each once") {
    TestType f;
    auto& s = *f.store;
    // 25 conversations of user 1: peers 2..26; several share a time (the same seq).
    for (st::user_id peer = 2; peer <= 26; ++peer) {
        apply_ok(s, first_direct(acme, 1, peer));
        const auto c = conv_id::direct(1, peer);
        for (st::seq_t seq = 2; seq <= 1 + peer % 4; ++seq)
            apply_ok(s, message(acme, c, seq, peer));
    }
    const auto all = s.conversations_of(acme, 1).value();
    REQUIRE(all.size() == 25);
    std::vector<st::conv_summary> paged;
    std::optional<st::conv_position> after;
    for (int pages = 0; pages < 10; ++pages) {
        const auto page = s.conversation_page(acme, 1, after, 7).value();
        CHECK(page.items.size() <= 7);
        paged.insert(paged.end(), page.items.begin(), page.items.end());
        if (!page.has_more) break;
        after = st::conv_position::of(page.items.back().meta);
    }
    CHECK(paged == all);  // every one once, in the list's order, with the same summaries
    for (std::size_t i = 1; i < all.size(); ++i) {
        CHECK(st::conv_position::before(st::conv_position::of(all[i - 1].meta),
                                        st::conv_position::of(all[i].meta)));
    }
    CHECK(s.conversation_page(acme, 1, std::nullopt, 100).value().items.size() == 25);
    CHECK_FALSE(s.conversation_page(acme, 1, std::nullopt, 25).value().has_more);
    CHECK(s.conversation_page(acme, 99, std::nullopt, 10).value().items.empty());
}

STORE_TEST("a group keeps its history setting, chosen at creation and changed by an event") {
    TestType f;
    auto& s = *f.store;
    auto created = group_created(acme, 7, 1, {2});
    created.whole_history = true;
    apply_ok(s, created);
    const auto c = conv_id::group(7);
    CHECK(s.conversation(acme, c).value()->whole_history);
    auto set = message(acme, c, 2, 1);
    set.kind = st::event_kind::history_set;
    set.counts_unread = false;
    set.whole_history = false;
    apply_ok(s, set);
    CHECK_FALSE(s.conversation(acme, c).value()->whole_history);
    apply_ok(s, message(acme, c, 3, 1));  // other events leave it
    CHECK_FALSE(s.conversation(acme, c).value()->whole_history);
    CHECK(s.verify().has_value());
}

STORE_TEST("members page in ascending user id after a given id") {
    TestType f;
    auto& s = *f.store;
    apply_ok(s, group_created(acme, 7, 5, {1, 3, 9, ~std::uint64_t{0} - 1}));
    const auto c = conv_id::group(7);
    const auto ids = [](const std::vector<st::member_record>& ms) {
        std::vector<st::user_id> out;
        for (const auto& m : ms) out.push_back(m.user);
        return out;
    };
    CHECK(ids(s.members_after(acme, c, 0, 2).value()) == std::vector<st::user_id>{1, 3});
    CHECK(ids(s.members_after(acme, c, 3, 10).value()) ==
          std::vector<st::user_id>{5, 9, ~std::uint64_t{0} - 1});
    CHECK(s.members_after(acme, c, ~std::uint64_t{0} - 1, 10).value().empty());
    CHECK(s.members_after(acme, c, ~std::uint64_t{0}, 10).value().empty());
    CHECK(s.members_after(acme, conv_id::group(8), 0, 10).value().empty());
}

STORE_TEST("tenants never see each other's data") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2, "acme secret"));
    CHECK_FALSE(s.conversation(globex, c).value());
    CHECK(s.timeline(globex, c, 0, direction::backward, 10).value().empty());
    CHECK(s.members(globex, c).value().empty());
    CHECK(s.conversations_of(globex, 1).value().empty());
    CHECK(s.inbox_head(globex, 1).value() == 0);
    CHECK(s.inbox_after(globex, 2, 0, 10).value().empty());
    // The same ids in another tenant start their own timeline at seq 1.
    apply_ok(s, first_direct(globex, 1, 2, "globex"));
    CHECK(*s.timeline(globex, c, 1, direction::forward, 1).value().at(0).bytes == "globex");
    CHECK(*s.timeline(acme, c, 1, direction::forward, 1).value().at(0).bytes == "acme secret");
    CHECK(s.verify().has_value());
}

STORE_TEST("a note to self is a direct conversation with one member") {
    TestType f;
    auto& s = *f.store;
    const auto out = apply_ok(s, first_direct(acme, 9, 9, "note"));
    CHECK(out.inbox == std::vector<st::inbox_assignment>{{9, 1}});
    CHECK(s.conversation(acme, conv_id::direct(9, 9)).value()->member_count == 1);
    CHECK(s.verify().has_value());
}

TEST_CASE("the RocksDB store's state survives a reopen", "[unit][storage]") {
    rocks_factory f;
    const auto c = conv_id::direct(1, 2);
    apply_ok(*f.store, first_direct(acme, 1, 2, "persist me"));
    apply_ok(*f.store, st::ack_inbox{acme, 2, 5, 1});
    f.reopen();
    auto& s = *f.store;
    CHECK(s.conversation(acme, c).value()->head_seq == 1);
    CHECK(*s.timeline(acme, c, 1, direction::forward, 1).value().at(0).bytes == "persist me");
    CHECK(s.device_cursor(acme, 2, 5).value() == 1);
    CHECK(s.applied_index().value() == 2);
    apply_ok(s, message(acme, c, 2, 2));
    CHECK(s.verify().has_value());
}

STORE_TEST("a recall marks its target recalled and keeps its bytes") {
    TestType f;
    auto& s = *f.store;
    const auto c = conv_id::direct(1, 2);
    apply_ok(s, first_direct(acme, 1, 2, "oops"));
    auto recall = message(acme, c, 2, 1, "recall");
    recall.kind = st::event_kind::recall;
    recall.counts_unread = false;
    recall.recalls = 1;
    // A recall and a second one in the same batch as a new message it recalls.
    auto m3 = message(acme, c, 3, 1, "again");
    auto recall3 = message(acme, c, 4, 1, "recall");
    recall3.kind = st::event_kind::recall;
    recall3.counts_unread = false;
    recall3.recalls = 3;
    auto results = apply(s, {recall, m3, recall3});
    for (const auto& r : results) REQUIRE(r.has_value());
    const auto events = s.timeline(acme, c, 1, direction::forward, 10).value();
    REQUIRE(events.size() == 4);
    CHECK(events[0].recalled);
    CHECK(*events[0].bytes == "oops");
    CHECK_FALSE(events[1].recalled);
    CHECK(events[2].recalled);
    // A recall must name an earlier event, and only recalls name one.
    auto bad = message(acme, c, 5, 1, "x");
    bad.kind = st::event_kind::recall;
    bad.recalls = 9;
    CHECK(apply(s, {bad})[0].error() == st::errc::invalid_entry);
    auto not_recall = message(acme, c, 5, 1, "x");
    not_recall.recalls = 1;
    CHECK(apply(s, {not_recall})[0].error() == st::errc::invalid_entry);
    CHECK(s.verify().has_value());
}

STORE_TEST("a partition's log position moves one entry at a time") {
    TestType f;
    auto& s = *f.store;
    CHECK_FALSE(s.position(7).value());
    const auto c = conv_id::direct(1, 2);
    // An entry and the position that covers it, in one batch; another partition apart.
    auto results = apply(s, {first_direct(acme, 1, 2), st::log_position{7, 1, 0xfeed},
                             st::log_position{8, 1, 1}, st::log_position{8, 2, 2}});
    for (const auto& r : results) REQUIRE(r.has_value());
    CHECK(s.position(7).value() == st::log_position{7, 1, 0xfeed});
    CHECK(s.position(8).value() == st::log_position{8, 2, 2});

    // Never backwards, in place or past an entry.
    results =
        apply(s, {message(acme, c, 2, 1), st::log_position{7, 1, 2}, st::log_position{7, 0, 3},
                  st::log_position{7, 3, 4}, st::log_position{7, 2, 5}});
    REQUIRE(results[0].has_value());
    CHECK(results[1].error() == st::errc::invalid_entry);
    CHECK(results[2].error() == st::errc::invalid_entry);
    CHECK(results[3].error() == st::errc::invalid_entry);
    REQUIRE(results[4].has_value());
    CHECK(s.position(7).value() == st::log_position{7, 2, 5});
    // The first position of a partition is 1.
    CHECK(apply(s, {st::log_position{9, 2, 0}})[0].error() == st::errc::invalid_entry);
    // The largest partition number and digest.
    const auto last = std::numeric_limits<std::uint32_t>::max();
    const auto digest = std::numeric_limits<std::uint64_t>::max();
    REQUIRE(apply(s, {st::log_position{last, 1, digest}})[0].has_value());
    CHECK(s.position(last).value() == st::log_position{last, 1, digest});
    CHECK(s.verify().has_value());
}

TEST_CASE("a partition's log position survives a reopen", "[unit][storage]") {
    rocks_factory f;
    apply_ok(*f.store, first_direct(acme, 1, 2));
    apply_ok(*f.store, st::log_position{31, 1, 99});
    f.reopen();
    CHECK(f.store->position(31).value() == st::log_position{31, 1, 99});
    CHECK(apply(*f.store, {st::log_position{31, 1, 1}})[0].error() == st::errc::invalid_entry);
    apply_ok(*f.store, st::log_position{31, 2, 100});
}

STORE_TEST("a member's mute setting is kept, listed, and goes when the member leaves") {
    TestType f;
    auto& s = *f.store;
    const auto g = conv_id::group(100);
    apply_ok(s, group_created(acme, 100, 1, {2, 3}, "ops"));
    const st::mute_setting until_monday{st::notify_level::mentions, 1'800'000'000'000};
    CHECK(apply_ok(s, st::set_mute{acme, g, 2, until_monday}).inbox.empty());
    apply_ok(s, st::set_mute{acme, g, 3, {st::notify_level::nothing, 0}});
    apply_ok(s, st::set_mute{acme, g, 3, {}});  // back to all: the short record again

    // Refused: a stranger, another tenant, an unknown conversation, a time on "all", a level
    // beyond the last.
    auto refused = apply(
        s, {st::set_mute{acme, g, 9, until_monday}, st::set_mute{acme + 1, g, 2, until_monday},
            st::set_mute{acme, conv_id::group(101), 2, until_monday},
            st::set_mute{acme, g, 2, {st::notify_level::all, 5}},
            st::set_mute{acme, g, 2, {static_cast<st::notify_level>(3), 0}}});
    for (const auto& result : refused) CHECK(result.error() == st::errc::invalid_entry);

    f.reopen();
    auto& r = *f.store;
    CHECK(r.member(acme, g, 2).value()->mute == until_monday);
    CHECK(r.member(acme, g, 3).value()->mute == st::mute_setting{});
    CHECK(r.members(acme, g).value().at(1).mute == until_monday);
    CHECK(r.member_cursors(acme, g).value().at(1).member.mute == until_monday);
    CHECK(r.conversations_of(acme, 2).value().at(0).mute == until_monday);
    CHECK(r.conversation_page(acme, 2, std::nullopt, 10).value().items.at(0).mute == until_monday);
    // Role changes keep it; leaving drops it, and a member who comes back starts unmuted.
    apply_ok(r, membership_event(acme, g, 2, 1, st::event_kind::role_changed, {{2, role::admin}}));
    CHECK(r.member(acme, g, 2).value()->mute == until_monday);
    apply_ok(r, membership_event(acme, g, 3, 1, st::event_kind::members_removed, {{2, {}}}));
    apply_ok(r,
             membership_event(acme, g, 4, 1, st::event_kind::members_added, {{2, role::member}}));
    CHECK(r.member(acme, g, 2).value()->mute == st::mute_setting{});
    CHECK(r.verify().has_value());
}

STORE_TEST("a user's notification settings are kept as they are, and removed when empty") {
    TestType f;
    const std::string settings("\x08\x01\0bytes", 8);
    apply_ok(*f.store, st::put_user_settings{acme, 7, settings});
    apply_ok(*f.store, st::put_user_settings{acme, 8, "other"});
    auto refused = apply(
        *f.store, {st::put_user_settings{0, 7, "x"},
                   st::put_user_settings{acme, 7, std::string(st::max_settings_bytes + 1, 'x')}});
    for (const auto& result : refused) CHECK(result.error() == st::errc::invalid_entry);
    f.reopen();
    auto& s = *f.store;
    CHECK(s.user_settings(acme, 7).value() == settings);
    CHECK(s.user_settings(acme + 1, 7).value() == std::nullopt);  // another tenant's user 7
    CHECK(s.user_settings(acme, 9).value() == std::nullopt);
    apply_ok(s, st::put_user_settings{acme, 7, ""});
    CHECK(s.user_settings(acme, 7).value() == std::nullopt);
    CHECK(s.user_settings(acme, 8).value() == "other");
}

STORE_TEST("urgent messages are indexed by time, per tenant, and by sender on request") {
    TestType f;
    const auto ab = st::conv_id::direct(1, 2);
    const auto g = st::conv_id::group(9);
    auto first = first_direct(acme, 1, 2);
    first.urgent = true;
    apply_ok(*f.store, first);                    // t0 + 1 s, sender 1
    apply_ok(*f.store, message(acme, ab, 2, 2));  // not urgent
    apply_ok(*f.store, group_created(acme, 9, 3, {1, 2}));
    auto in_group = message(acme, g, 2, 3);
    in_group.server_time_ms = first.server_time_ms;  // the same millisecond, another conversation
    in_group.urgent = true;
    apply_ok(*f.store, in_group);
    auto later = message(acme, ab, 3, 1);
    later.urgent = true;
    apply_ok(*f.store, later);  // t0 + 3 s, sender 1
    auto other_tenant = first_direct(acme + 1, 1, 2);
    other_tenant.urgent = true;
    apply_ok(*f.store, other_tenant);
    // Only a message may be urgent.
    auto recall = message(acme, ab, 4, 1);
    recall.kind = st::event_kind::recall;
    recall.recalls = 3;
    recall.urgent = true;
    CHECK(apply(*f.store, {recall})[0].error() == st::errc::invalid_entry);
    f.reopen();

    auto& s = *f.store;
    const auto all = s.urgent_sends(acme, 0, 100).value();
    REQUIRE(all.size() == 3);
    CHECK(all[0] == st::urgent_send{first.server_time_ms, ab, 1, 1});  // direct before group
    CHECK(all[1] == st::urgent_send{first.server_time_ms, g, 2, 3});
    CHECK(all[2] == st::urgent_send{later.server_time_ms, ab, 3, 1});
    CHECK(s.urgent_sends(acme, 0, 2).value().size() == 2);
    CHECK(s.urgent_sends(acme, later.server_time_ms, 100).value() ==
          std::vector<st::urgent_send>{all[2]});
    CHECK(s.urgent_sends(acme, later.server_time_ms + 1, 100).value().empty());
    const auto by_one = s.urgent_sends(acme, 0, 100, st::user_id{1}).value();
    CHECK(by_one == std::vector<st::urgent_send>{all[0], all[2]});
    CHECK(s.urgent_sends(acme + 1, 0, 100).value().size() == 1);
    CHECK(s.urgent_sends(acme + 2, 0, 100).value().empty());
}

STORE_TEST("a tenant's policy is its own record, apart from every user's settings") {
    TestType f;
    apply_ok(*f.store, st::put_user_settings{acme, st::tenant_policy_record, "policy"});
    apply_ok(*f.store, st::put_user_settings{acme, 1, "user 1"});
    f.reopen();
    auto& s = *f.store;
    CHECK(s.user_settings(acme, st::tenant_policy_record).value() == "policy");
    CHECK(s.user_settings(acme + 1, st::tenant_policy_record).value() == std::nullopt);
    CHECK(s.user_settings(acme, 1).value() == "user 1");
    apply_ok(s, st::put_user_settings{acme, st::tenant_policy_record, ""});
    CHECK(s.user_settings(acme, st::tenant_policy_record).value() == std::nullopt);
    CHECK(s.user_settings(acme, 1).value() == "user 1");
}

STORE_TEST("urgent acknowledgements: kept per member and event, split from who still owes one") {
    const st::user_id max_id = std::numeric_limits<st::user_id>::max();
    TestType f;
    const auto g = conv_id::group(9);
    const auto max_time = std::numeric_limits<std::int64_t>::max();
    apply_ok(*f.store, group_created(acme, 9, 3, {1, 2, max_id}));
    apply_ok(*f.store, message(acme, g, 2, 3));  // seq 2, from 3
    apply_ok(*f.store, st::ack_urgent{acme, g, 2, 2, 1'000});
    apply_ok(*f.store, st::ack_urgent{acme, g, 2, max_id, max_time});
    apply_ok(*f.store, st::ack_urgent{acme, g, 1, 1, 5});  // another event's
    // Refused: a stranger, another tenant, an event beyond the head, seq 0, an unknown
    // conversation.
    auto refused =
        apply(*f.store, {st::ack_urgent{acme, g, 2, 8, 1}, st::ack_urgent{acme + 1, g, 2, 2, 1},
                         st::ack_urgent{acme, g, 3, 2, 1}, st::ack_urgent{acme, g, 0, 2, 1},
                         st::ack_urgent{acme, conv_id::group(10), 1, 2, 1}});
    for (const auto& result : refused) CHECK(result.error() == st::errc::invalid_entry);
    f.reopen();
    auto& s = *f.store;
    const auto roll = s.urgent_acks(acme, g, 2).value();
    REQUIRE(roll);
    // The sender owes nothing; user 1 has not acknowledged; the largest id is kept whole.
    CHECK(roll->acknowledged == std::vector<st::urgent_ack>{{2, 1'000}, {max_id, max_time}});
    CHECK(roll->awaiting == std::vector<st::user_id>{1});
    CHECK(s.urgent_acked(acme, g, 2, 2).value() == 1'000);
    CHECK(s.urgent_acked(acme, g, 2, max_id).value() == max_time);
    CHECK(s.urgent_acked(acme, g, 2, 1).value() == std::nullopt);
    CHECK(s.urgent_acked(acme + 1, g, 2, 2).value() == std::nullopt);
    CHECK(s.urgent_acks(acme, g, 3).value() == std::nullopt);
    CHECK(s.urgent_acks(acme + 1, g, 2).value() == std::nullopt);
    // A later acknowledgement replaces the time; a member who joined after the event owes
    // nothing; one who left is no longer listed.
    apply_ok(s, st::ack_urgent{acme, g, 2, 2, 2'000});
    apply_ok(s,
             membership_event(acme, g, 3, 3, st::event_kind::members_added, {{4, role::member}}));
    apply_ok(s, membership_event(acme, g, 4, 3, st::event_kind::members_removed, {{max_id, {}}}));
    const auto after = s.urgent_acks(acme, g, 2).value();
    REQUIRE(after);
    CHECK(after->acknowledged == std::vector<st::urgent_ack>{{2, 2'000}});
    CHECK(after->awaiting == std::vector<st::user_id>{1});
    CHECK(s.verify().has_value());
}

STORE_TEST("push registrations: per device, replaced, removed, and a dead token only if current") {
    TestType f;
    const st::push_registration phone{0, "apns", "tok-1", "com.example.chat"};
    apply_ok(*f.store, st::set_push_token{acme, 7, 1, phone, ""});
    apply_ok(*f.store, st::set_push_token{acme, 7, 2, {0, "fcm", "tok-2", "app"}, ""});
    apply_ok(*f.store, st::set_push_token{acme, 8, 1, {0, "fcm", "tok-3", "app"}, ""});
    auto refused =
        apply(*f.store, {st::set_push_token{0, 7, 1, phone, ""},
                         st::set_push_token{acme, 7, 1, {0, std::string(65, 'p'), "t", ""}, ""},
                         st::set_push_token{acme, 7, 1, {0, "fcm", std::string(4097, 't'), ""}, ""},
                         st::set_push_token{acme, 7, 1, {0, "fcm", "", ""}, ""}});
    for (const auto& result : refused) CHECK(result.error() == st::errc::invalid_entry);
    f.reopen();
    auto& s = *f.store;
    const auto mine = s.push_tokens(acme, 7).value();
    REQUIRE(mine.size() == 2);
    CHECK(mine[0] == st::push_registration{1, "apns", "tok-1", "com.example.chat"});
    CHECK(mine[1] == st::push_registration{2, "fcm", "tok-2", "app"});
    CHECK(s.push_tokens(acme + 1, 7).value().empty());
    // The relay reported tok-1 dead, but the device registered tok-9 meanwhile: it stays.
    apply_ok(s, st::set_push_token{acme, 7, 1, {0, "apns", "tok-9", "com.example.chat"}, ""});
    apply_ok(s, st::set_push_token{acme, 7, 1, {}, "tok-1"});
    CHECK(s.push_tokens(acme, 7).value().at(0).token == "tok-9");
    // A dead current token goes; so does an explicit removal; removing nothing is fine.
    apply_ok(s, st::set_push_token{acme, 7, 1, {}, "tok-9"});
    apply_ok(s, st::set_push_token{acme, 7, 2, {}, ""});
    apply_ok(s, st::set_push_token{acme, 7, 3, {}, ""});
    CHECK(s.push_tokens(acme, 7).value().empty());
    CHECK(s.push_tokens(acme, 8).value().size() == 1);
}

STORE_TEST("scheduled messages: stored, replaced, removed, and due in release order") {
    TestType f;
    constexpr auto max_id = std::numeric_limits<std::uint64_t>::max();
    const auto draft = [](st::user_id sender, std::uint64_t id, std::int64_t at) {
        return st::scheduled_message{
            sender, id, st::conv_id::direct(sender, 9), "s-" + std::to_string(id), "content",
            at,     100};
    };
    apply_ok(*f.store, st::put_scheduled{acme, draft(7, 1, 5'000)});
    apply_ok(*f.store, st::put_scheduled{acme, draft(7, 2, 3'000)});
    apply_ok(*f.store, st::put_scheduled{acme + 1, draft(7, 1, 3'000)});
    apply_ok(*f.store, st::put_scheduled{acme, draft(8, max_id, 4'000)});
    auto too_long = draft(7, 3, 1);
    too_long.content.assign(st::max_scheduled_content_bytes + 1, 'c');
    auto refused =
        apply(*f.store,
              {st::put_scheduled{0, draft(7, 3, 1)}, st::put_scheduled{acme, draft(7, 0, 1)},
               st::put_scheduled{acme, draft(7, 3, -1)}, st::put_scheduled{acme, too_long},
               st::put_scheduled{acme, {7, 3, {}, "", "c", 1, 1}}, st::remove_scheduled{0, 7, 1}});
    for (const auto& result : refused) CHECK(result.error() == st::errc::invalid_entry);
    f.reopen();
    auto& s = *f.store;
    const auto mine = s.scheduled_of(acme, 7).value();
    REQUIRE(mine.size() == 2);
    CHECK(mine[0] == draft(7, 1, 5'000));
    CHECK(mine[1] == draft(7, 2, 3'000));
    CHECK(s.scheduled(acme, 8, max_id).value() == draft(8, max_id, 4'000));
    CHECK_FALSE(s.scheduled(acme, 8, 1).value());
    using ref = st::scheduled_ref;
    CHECK(s.scheduled_due(INT64_MAX, 10).value() == std::vector<ref>{{3'000, acme, 7, 2},
                                                                     {3'000, acme + 1, 7, 1},
                                                                     {4'000, acme, 8, max_id},
                                                                     {5'000, acme, 7, 1}});
    CHECK(s.scheduled_due(3'999, 10).value().size() == 2);
    CHECK(s.scheduled_due(INT64_MAX, 1).value() == std::vector<ref>{{3'000, acme, 7, 2}});
    CHECK(s.scheduled_due(2'999, 10).value().empty());
    // An edit moves it in the release order; a put and a remove in one batch leave nothing.
    auto moved = draft(7, 1, 1'000);
    moved.content = "edited";
    apply_ok(s, st::put_scheduled{acme, moved});
    auto batch =
        apply(s, {st::put_scheduled{acme, draft(7, 5, 2'000)}, st::remove_scheduled{acme, 7, 5},
                  st::remove_scheduled{acme, 7, 2}, st::remove_scheduled{acme, 7, 99}});
    for (const auto& result : batch) CHECK(result.has_value());
    CHECK(s.scheduled(acme, 7, 1).value()->content == "edited");
    CHECK(s.scheduled_due(INT64_MAX, 10).value() ==
          std::vector<ref>{{1'000, acme, 7, 1}, {3'000, acme + 1, 7, 1}, {4'000, acme, 8, max_id}});
    CHECK(s.scheduled_of(acme, 7).value().size() == 1);
    CHECK(s.verify().has_value());
}

STORE_TEST("the tenants with a policy, in pages, whoever else has settings") {
    TestType f;
    constexpr auto max_id = std::numeric_limits<std::uint64_t>::max();
    apply_ok(*f.store, st::put_user_settings{3, 7, "user settings only"});
    apply_ok(*f.store, st::put_user_settings{5, st::tenant_policy_record, "policy"});
    apply_ok(*f.store, st::put_user_settings{5, 9, "and a user's"});
    apply_ok(*f.store, st::put_user_settings{9, st::tenant_policy_record, "policy"});
    apply_ok(*f.store, st::put_user_settings{max_id, st::tenant_policy_record, "policy"});
    f.reopen();
    auto& s = *f.store;
    CHECK(s.policy_tenants(0, 10).value() == std::vector<st::tenant_id>{5, 9, max_id});
    CHECK(s.policy_tenants(0, 1).value() == std::vector<st::tenant_id>{5});
    CHECK(s.policy_tenants(5, 10).value() == std::vector<st::tenant_id>{9, max_id});
    CHECK(s.policy_tenants(max_id, 10).value().empty());
    // A removed policy (empty settings) is none.
    apply_ok(s, st::put_user_settings{9, st::tenant_policy_record, ""});
    CHECK(s.policy_tenants(0, 10).value() == std::vector<st::tenant_id>{5, max_id});
}
