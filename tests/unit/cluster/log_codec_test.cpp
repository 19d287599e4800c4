// The log entry codec: every entry the owner can write comes back the same on every replica,
// and what the apply rules do not know is refused rather than guessed.
#include <limits>

#include <catch2/catch.hpp>

#include <tern/cluster/log_codec.hpp>

#include "store_fixtures.hpp"
#include "tern/cluster/v1/log.pb.h"

using namespace tern::test;
namespace cl = tern::cluster;

namespace {

constexpr auto max_id = std::numeric_limits<std::uint64_t>::max();

st::log_entry round_trip(const st::log_entry& e) {
    const auto decoded = cl::decode_entry(cl::encode_entry(e));
    REQUIRE(decoded.has_value());
    REQUIRE(std::holds_alternative<st::log_entry>(decoded->record));
    CHECK_FALSE(decoded->digest_before.has_value());
    return std::get<st::log_entry>(decoded->record);
}

void check_same(const st::append_event& a, const st::append_event& b) {
    CHECK(a.tenant == b.tenant);
    CHECK(a.conv == b.conv);
    CHECK(a.seq == b.seq);
    CHECK(a.sender == b.sender);
    CHECK(a.sender_device == b.sender_device);
    CHECK(a.server_time_ms == b.server_time_ms);
    CHECK(a.kind == b.kind);
    CHECK(a.counts_unread == b.counts_unread);
    CHECK(*a.bytes == *b.bytes);
    CHECK(a.client_msg_id == b.client_msg_id);
    CHECK(a.dedup_expires_ms == b.dedup_expires_ms);
    CHECK(a.dedup_kind == b.dedup_kind);
    CHECK(a.dedup_fingerprint == b.dedup_fingerprint);
    REQUIRE(a.membership.size() == b.membership.size());
    for (std::size_t i = 0; i < a.membership.size(); ++i) {
        CHECK(a.membership[i].user == b.membership[i].user);
        CHECK(a.membership[i].new_role == b.membership[i].new_role);
    }
    CHECK(a.new_name == b.new_name);
    CHECK(a.whole_history == b.whole_history);
    CHECK(a.recalls == b.recalls);
    CHECK(a.urgent == b.urgent);
}

st::append_event a_group_creation() {
    st::append_event e;
    e.tenant = max_id;
    e.conv = st::conv_id::group(max_id - 1);
    e.seq = 1;
    e.sender = max_id - 2;
    e.sender_device = max_id;
    e.server_time_ms = std::numeric_limits<std::int64_t>::max();
    e.kind = st::event_kind::group_created;
    e.bytes = std::make_shared<const std::string>(std::string("\0binary\xff", 8));
    e.client_msg_id = "c-1";
    e.dedup_expires_ms = 1'800'000'000'000;
    e.dedup_kind = 0xff;
    e.dedup_fingerprint = max_id;
    for (std::uint64_t u = 1; u <= 10'000; ++u) {
        e.membership.push_back({max_id - u, u == 1 ? st::role::owner : st::role::member});
    }
    e.new_name = "";  // a name that is present and empty is not the same as no name
    e.whole_history = false;
    return e;
}

}  // namespace

TEST_CASE("every kind of log entry decodes to what was encoded", "[unit][cluster]") {
    SECTION("a group's creation with 10,000 members and ids at the top of the range") {
        const auto e = a_group_creation();
        check_same(std::get<st::append_event>(round_trip(e)), e);
    }
    SECTION("a message, a removal and a recall") {
        auto m = message(7, st::conv_id::direct(3, max_id), 42, 3, "hello");
        m.counts_unread = true;
        check_same(std::get<st::append_event>(round_trip(m)), m);
        auto removal = m;
        removal.kind = st::event_kind::members_removed;
        removal.membership = {{9, std::nullopt}};
        check_same(std::get<st::append_event>(round_trip(removal)), removal);
        auto recall = m;
        recall.kind = st::event_kind::recall;
        recall.recalls = 41;
        check_same(std::get<st::append_event>(round_trip(recall)), recall);
    }
    SECTION("an ack and a read mark") {
        const st::ack_inbox ack{max_id, max_id - 1, max_id - 2, max_id - 3};
        const auto a = std::get<st::ack_inbox>(round_trip(ack));
        CHECK((a.tenant == ack.tenant && a.user == ack.user && a.device == ack.device &&
               a.inbox_seq == ack.inbox_seq));
        const st::mark_read read{5, st::conv_id::group(max_id), 6, max_id};
        const auto r = std::get<st::mark_read>(round_trip(read));
        CHECK((r.tenant == 5 && r.conv == read.conv && r.user == 6 && r.up_to == max_id));
    }
    SECTION("the genesis") {
        const cl::genesis g{31, 32, "tern-prod"};
        const auto decoded = cl::decode_entry(cl::encode_genesis(g));
        REQUIRE(decoded.has_value());
        CHECK(std::get<cl::genesis>(decoded->record) == g);
        CHECK_FALSE(decoded->digest_before.has_value());
    }
}

TEST_CASE("an entry states the digest of the log before it, the largest too", "[unit][cluster]") {
    for (const std::uint64_t digest : {std::uint64_t{0}, std::uint64_t{42}, max_id}) {
        CAPTURE(digest);
        const auto decoded = cl::decode_entry(cl::encode_entry(st::ack_inbox{1, 2, 3, 4}, digest));
        REQUIRE(decoded.has_value());
        CHECK(decoded->digest_before == digest);
    }
}

TEST_CASE("the same entry encodes to the same bytes every time", "[unit][cluster]") {
    const auto e = a_group_creation();
    CHECK(cl::encode_entry(e) == cl::encode_entry(e));
}

TEST_CASE("a log position is never encoded", "[unit][cluster]") {
    CHECK_THROWS_AS(cl::encode_entry(st::log_position{1, 2, 3}), std::invalid_argument);
}

TEST_CASE("what the apply rules do not know is refused", "[unit][cluster]") {
    namespace pb = tern::cluster::v1;
    const auto decode = [](const pb::LogEntry& e) {
        return cl::decode_entry(e.SerializeAsString());
    };
    pb::LogEntry e;
    e.set_format(1);
    auto& append = *e.mutable_append();
    append.mutable_conv()->set_type(2);
    append.set_kind(1);
    REQUIRE(decode(e).has_value());

    SECTION("a conversation type") {
        append.mutable_conv()->set_type(3);
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("an event kind") {
        append.set_kind(11);
        CHECK(decode(e).error() == cl::decode_error::malformed);
        append.set_kind(0);
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("a role") {
        append.add_membership()->set_role(4);
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("a dedup kind beyond a byte") {
        append.set_dedup_kind(256);
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("a newer format, and none") {
        e.set_format(st::log_format_version + 1);
        CHECK(decode(e).error() == cl::decode_error::too_new);
        e.set_format(0);
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("no body") {
        e.clear_append();
        CHECK(decode(e).error() == cl::decode_error::malformed);
    }
    SECTION("bytes that are not a LogEntry") {
        CHECK(cl::decode_entry("\xff\xff\xff").error() == cl::decode_error::malformed);
    }
}

TEST_CASE("the digest depends on every entry, its place and its order", "[unit][cluster]") {
    const auto a = cl::next_digest(cl::next_digest(0, 1, "a"), 2, "b");
    CHECK(a == cl::next_digest(cl::next_digest(0, 1, "a"), 2, "b"));
    CHECK(a != cl::next_digest(cl::next_digest(0, 1, "b"), 2, "a"));
    CHECK(a != cl::next_digest(cl::next_digest(0, 1, "a"), 3, "b"));
    CHECK(a != cl::next_digest(cl::next_digest(0, 1, "a"), 2, "c"));
    // Pinned: the digest is compared between nodes, so it must not change between builds.
    CHECK(cl::next_digest(0, 1, "tern") == 0x180b7a0bee80b2aeULL);
}

TEST_CASE("a mute setting round-trips, in format 2, and format 1 cannot hold it",
          "[unit][cluster]") {
    const st::set_mute mute{max_id,
                            st::conv_id::direct(max_id - 1, max_id),
                            max_id,
                            {st::notify_level::mentions, std::numeric_limits<std::int64_t>::max()}};
    const auto back = std::get<st::set_mute>(round_trip(mute));
    CHECK(back.tenant == mute.tenant);
    CHECK(back.conv == mute.conv);
    CHECK(back.user == mute.user);
    CHECK(back.mute == mute.mute);

    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(mute)));
    CHECK(e.format() == 2);
    const auto decode = [](const tern::cluster::v1::LogEntry& entry) {
        return cl::decode_entry(entry.SerializeAsString());
    };
    e.set_format(1);
    CHECK(decode(e).error() == cl::decode_error::malformed);
    e.set_format(2);
    e.mutable_mute()->set_level(3);
    CHECK(decode(e).error() == cl::decode_error::malformed);

    // Entries an older node understands keep format 1 (a rolling upgrade goes on applying them).
    tern::cluster::v1::LogEntry ack;
    REQUIRE(ack.ParseFromString(cl::encode_entry(st::ack_inbox{1, 2, 3, 4})));
    CHECK(ack.format() == 1);
}

TEST_CASE("a user's settings round-trip as they are, in format 2", "[unit][cluster]") {
    const st::put_user_settings put{max_id, max_id - 1, std::string("\0\x01settings\xff", 11)};
    const auto back = std::get<st::put_user_settings>(round_trip(put));
    CHECK(back.tenant == put.tenant);
    CHECK(back.user == put.user);
    CHECK(back.settings == put.settings);
    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(put)));
    CHECK(e.format() == 2);
}

TEST_CASE("an urgent message round-trips in format 3, and a plain one stays format 1",
          "[unit][cluster]") {
    st::append_event urgent;
    urgent.tenant = max_id;
    urgent.conv = st::conv_id::direct(1, 2);
    urgent.seq = 7;
    urgent.sender = 1;
    urgent.server_time_ms = 1'800'000'000'000;
    urgent.kind = st::event_kind::message;
    urgent.bytes = std::make_shared<const std::string>("event");
    urgent.urgent = true;
    check_same(std::get<st::append_event>(round_trip(urgent)), urgent);
    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(urgent)));
    CHECK(e.format() == 3);
    e.set_format(2);  // a node of the previous format must not apply it without the flag
    CHECK(cl::decode_entry(e.SerializeAsString()).error() == cl::decode_error::malformed);

    urgent.urgent = false;
    REQUIRE(e.ParseFromString(cl::encode_entry(urgent)));
    CHECK(e.format() == 1);
}

TEST_CASE("an urgent acknowledgement round-trips in format 4, and format 3 cannot hold it",
          "[unit][cluster]") {
    const st::ack_urgent ack{max_id, st::conv_id::group(max_id), max_id - 2, max_id - 3,
                             std::numeric_limits<std::int64_t>::max()};
    const auto back = std::get<st::ack_urgent>(round_trip(ack));
    CHECK(back.tenant == ack.tenant);
    CHECK(back.conv == ack.conv);
    CHECK(back.seq == ack.seq);
    CHECK(back.user == ack.user);
    CHECK(back.at_ms == ack.at_ms);
    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(ack)));
    CHECK(e.format() == 4);
    e.set_format(3);
    CHECK(cl::decode_entry(e.SerializeAsString()).error() == cl::decode_error::malformed);
    e.set_format(4);
    e.mutable_ack_urgent()->mutable_conv()->set_type(9);
    CHECK(cl::decode_entry(e.SerializeAsString()).error() == cl::decode_error::malformed);
}

TEST_CASE("a push registration round-trips in format 4", "[unit][cluster]") {
    const st::set_push_token put{max_id,
                                 max_id - 1,
                                 max_id - 2,
                                 {0, "apns", std::string(4096, 't'), "com.example.chat"},
                                 "old-token"};
    const auto back = std::get<st::set_push_token>(round_trip(put));
    CHECK(back.tenant == put.tenant);
    CHECK(back.user == put.user);
    CHECK(back.device == put.device);
    CHECK(back.registration.platform == "apns");
    CHECK(back.registration.token == put.registration.token);
    CHECK(back.registration.app_id == "com.example.chat");
    CHECK(back.only_if_token == "old-token");
    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(put)));
    CHECK(e.format() == 4);
}

TEST_CASE("a scheduled message and its removal round-trip in format 5", "[unit][cluster]") {
    const st::put_scheduled put{max_id,
                                {max_id - 1, max_id - 2, st::conv_id::group(max_id),
                                 std::string(64, 'c'), std::string(65'536, 'x'), INT64_MAX, 7}};
    const auto back = std::get<st::put_scheduled>(round_trip(put));
    CHECK(back.tenant == put.tenant);
    CHECK(back.message == put.message);
    const st::remove_scheduled gone{max_id, max_id - 1, max_id - 2};
    const auto removed = std::get<st::remove_scheduled>(round_trip(gone));
    CHECK(removed.tenant == gone.tenant);
    CHECK(removed.sender == gone.sender);
    CHECK(removed.id == gone.id);
    tern::cluster::v1::LogEntry e;
    REQUIRE(e.ParseFromString(cl::encode_entry(put)));
    CHECK(e.format() == 5);
    e.set_format(4);
    CHECK(cl::decode_entry(e.SerializeAsString()).error() == cl::decode_error::malformed);
    REQUIRE(e.ParseFromString(cl::encode_entry(gone)));
    CHECK(e.format() == 5);
}
