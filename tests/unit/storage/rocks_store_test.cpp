// White-box tests of the RocksDB store: behaviour that depends on RocksDB itself.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "encoding.hpp"
#include "rocks_store_impl.hpp"
#include "store_fixtures.hpp"

using namespace tern::test;

namespace {

// The nice value of each of this process's threads with the given name (/proc/self/task).
std::vector<int> nice_of_threads_named(const std::string& name) {
    std::vector<int> out;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string thread_name;
        std::getline(comm, thread_name);
        if (thread_name != name) continue;
        std::ifstream stat_file(task.path() / "stat");
        std::string stat;
        std::getline(stat_file, stat);
        // After the name in parentheses: state is field 3, nice field 19.
        std::istringstream fields(stat.substr(stat.rfind(')') + 2));
        std::string field;
        for (int i = 3; i < 19; ++i) fields >> field;
        int nice = 0;
        fields >> nice;
        out.push_back(nice);
    }
    return out;
}

}  // namespace

TEST_CASE("compactions drop expired dedup records and keep live ones", "[unit][storage]") {
    rocks_factory f;
    auto& s = *f.store;
    const auto c = st::conv_id::direct(1, 2);
    apply_ok(s, first_direct(1, 1, 2));
    auto expired = message(1, c, 2, 1, "old", "cmid-old");
    expired.dedup_expires_ms = 1;  // long ago
    apply_ok(s, expired);
    apply_ok(s, message(1, c, 3, 1, "new", "cmid-new"));
    REQUIRE(s.find_dedup(1, 1, "cmid-old").value());

    auto& rocks = dynamic_cast<st::detail::rocks_store&>(s);
    REQUIRE(rocks.db().Flush(rocksdb::FlushOptions{}, rocks.handle(st::detail::cf_dedup)).ok());
    REQUIRE(rocks.db()
                .CompactRange(rocksdb::CompactRangeOptions{}, rocks.handle(st::detail::cf_dedup),
                              nullptr, nullptr)
                .ok());
    CHECK_FALSE(s.find_dedup(1, 1, "cmid-old").value());
    CHECK(s.find_dedup(1, 1, "cmid-new").value());
    CHECK(s.verify().has_value());
}

TEST_CASE("a dedup record written before records kept the request's kind reads as kind 0",
          "[unit][storage]") {
    const auto c = st::conv_id::direct(1, 2);
    // The earlier layout: conv, seq, expiry, and nothing after.
    auto legacy = st::detail::encode_dedup({c, 1, 4'000'000'000'000, 0, 0});
    legacy.resize(legacy.size() - 9);
    const auto rec = st::detail::decode_dedup(legacy);
    REQUIRE(rec);
    CHECK(rec->conv == c);
    CHECK(rec->seq == 1);
    CHECK(rec->kind == 0);
    CHECK(rec->fingerprint == 0);
    CHECK_FALSE(st::detail::decode_dedup(legacy + "x"));  // a torn record is refused
}

TEST_CASE("a conversation record written before groups kept a history setting reads as from-join",
          "[unit][storage]") {
    st::conv_meta meta;
    meta.conv = st::conv_id::group(7);
    meta.head_seq = 3;
    meta.name = "team";
    meta.whole_history = true;
    auto bytes = st::detail::encode_meta(meta);
    CHECK(st::detail::decode_meta(meta.conv, bytes)->whole_history);
    bytes.pop_back();  // the earlier layout ends with the name
    const auto old = st::detail::decode_meta(meta.conv, bytes);
    REQUIRE(old);
    CHECK_FALSE(old->whole_history);
    CHECK(old->name == "team");
    CHECK_FALSE(st::detail::decode_meta(meta.conv, bytes + std::string("\x07")));
}

TEST_CASE("a store written with another format version is refused", "[unit][storage]") {
    temp_dir dir;
    {
        auto s = open_rocks(dir.str());
        auto& rocks = dynamic_cast<st::detail::rocks_store&>(*s);
        REQUIRE(rocks.db()
                    .Put(rocksdb::WriteOptions{}, rocks.handle(st::detail::cf_default),
                         st::detail::format_key, st::detail::encode_u64(999))
                    .ok());
    }
    auto reopened = st::open_rocks_store(small_rocks_options(dir.str()));
    REQUIRE_FALSE(reopened.has_value());
    CHECK(reopened.error() == st::errc::incompatible);
}

TEST_CASE("a store of format 1 or 2 is taken up and stamped with this format", "[unit][storage]") {
    for (const std::uint64_t old_format : {1, 2}) {
        CAPTURE(old_format);
        temp_dir dir;
        {
            auto s = open_rocks(dir.str());
            apply_ok(*s, first_direct(1, 1, 2));
            auto& rocks = dynamic_cast<st::detail::rocks_store&>(*s);
            REQUIRE(rocks.db()
                        .Put(rocksdb::WriteOptions{}, rocks.handle(st::detail::cf_default),
                             st::detail::format_key, st::detail::encode_u64(old_format))
                        .ok());
        }
        auto s = open_rocks(dir.str());
        CHECK(s->conversation(1, st::conv_id::direct(1, 2)).value().has_value());
        apply_ok(*s, st::set_mute{1, st::conv_id::direct(1, 2), 2, {st::notify_level::nothing, 0}});
        auto& rocks = dynamic_cast<st::detail::rocks_store&>(*s);
        std::string format;
        REQUIRE(rocks.db()
                    .Get(rocksdb::ReadOptions{}, rocks.handle(st::detail::cf_default),
                         st::detail::format_key, &format)
                    .ok());
        CHECK(st::detail::decode_u64(format) == st::log_format_version);
    }
}

TEST_CASE("a member record without a mute setting stays short", "[unit][storage]") {
    const st::member_record plain{7, st::role::admin, 3, {}};
    const auto short_value = st::detail::encode_member(plain);
    CHECK(st::detail::decode_member(7, short_value) == plain);
    const st::member_record muted{7, st::role::admin, 3, {st::notify_level::mentions, 99}};
    const auto long_value = st::detail::encode_member(muted);
    CHECK(long_value.size() == short_value.size() + 9);
    CHECK(st::detail::decode_member(7, long_value) == muted);
    CHECK_FALSE(st::detail::decode_member(7, long_value.substr(0, long_value.size() - 1)));
    auto bad_level = long_value;
    bad_level[short_value.size()] = 3;
    CHECK_FALSE(st::detail::decode_member(7, bad_level));
}

TEST_CASE("verify finds a derived record that disagrees with the timeline", "[unit][storage]") {
    rocks_factory f;
    auto& s = *f.store;
    apply_ok(s, first_direct(1, 1, 2));
    REQUIRE(s.verify().has_value());
    auto& rocks = dynamic_cast<st::detail::rocks_store&>(s);
    // Remove user 2's entry of the reverse index: it no longer mirrors the members.
    REQUIRE(rocks.db()
                .Delete(rocksdb::WriteOptions{}, rocks.handle(st::detail::cf_user_convs),
                        st::detail::user_conv_key(1, 2, st::conv_id::direct(1, 2)))
                .ok());
    CHECK(s.verify().error() == st::errc::inconsistent);
}

TEST_CASE("an inbox entry whose event is gone keeps null bytes, inside a run too",
          "[unit][storage]") {
    rocks_factory f;
    auto& s = *f.store;
    const auto c = st::conv_id::direct(1, 2);
    apply_ok(s, first_direct(1, 1, 2, "m1"));
    for (st::seq_t seq = 2; seq <= 8; ++seq)
        apply_ok(s, message(1, c, seq, 1, std::to_string(seq)));
    auto& rocks = dynamic_cast<st::detail::rocks_store&>(s);
    for (const st::seq_t gone : {3, 5, 6}) {
        REQUIRE(rocks.db()
                    .Delete(rocksdb::WriteOptions{}, rocks.handle(st::detail::cf_timeline),
                            st::detail::conv_sub_key(1, c, gone))
                    .ok());
    }
    apply_ok(s, first_direct(1, 3, 4));  // publishes a read view that includes the deletes

    const auto all = s.inbox_after(1, 2, 0, 100).value();
    REQUIRE(all.size() == 8);
    for (const auto& item : all) {
        const bool gone = item.seq == 3 || item.seq == 5 || item.seq == 6;
        INFO("seq " << item.seq);
        CHECK(item.inbox_seq == item.seq);
        CHECK(static_cast<bool>(item.bytes) == !gone);
        if (item.bytes && item.seq > 1) CHECK(*item.bytes == std::to_string(item.seq));
    }
    // A run whose first event is gone: the iterator lands past it.
    const auto from_gap = s.inbox_after(1, 2, 4, 100).value();
    REQUIRE(from_gap.size() == 4);
    CHECK_FALSE(from_gap[0].bytes);
    CHECK_FALSE(from_gap[1].bytes);
    CHECK(*from_gap[2].bytes == "7");
    CHECK(*from_gap[3].bytes == "8");
}

TEST_CASE("staged batches stay invisible to readers until published", "[unit][storage]") {
    rocks_factory f;
    auto& s = *f.store;
    const auto c = st::conv_id::direct(1, 2);
    apply_ok(s, first_direct(1, 1, 2));

    const std::vector<st::log_entry> first{message(1, c, 2, 1, "two")};
    const std::vector<st::log_entry> second{message(1, c, 3, 1, "three")};
    auto a = s.stage(first);
    REQUIRE(a.has_value());
    auto b = s.stage(second);  // builds on the staged batch, as the writer does
    REQUIRE(b.has_value());
    REQUIRE(b->results.at(0).has_value());
    CHECK(s.conversation(1, c).value()->head_seq == 1);
    CHECK(s.inbox_head(1, 2).value() == 1);
    CHECK(s.timeline(1, c, 0, st::direction::backward, 10).value().size() == 1);

    REQUIRE(s.publish(a->token, true).has_value());
    CHECK(s.conversation(1, c).value()->head_seq == 2);
    CHECK(s.inbox_head(1, 2).value() == 2);
    REQUIRE(s.publish(b->token, true).has_value());
    CHECK(s.conversation(1, c).value()->head_seq == 3);
    CHECK(*s.timeline(1, c, 3, st::direction::forward, 1).value().at(0).bytes == "three");
    CHECK(s.verify().has_value());
}

TEST_CASE("a user key built in place has the bytes of the string-built one", "[unit][storage]") {
    namespace d = tern::storage::detail;
    for (const std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1},
                                  std::uint64_t{0x0102030405060708}, ~std::uint64_t{0}}) {
        CHECK(d::user_sub_key_in_place(7, 0xfedcba9876543210, n).view() ==
              d::user_sub_key(7, 0xfedcba9876543210, n));
    }
}

TEST_CASE("flushes and compactions run at the lowest nice value", "[unit][storage]") {
    rocks_factory f;
    REQUIRE(f.options.background == st::background_priority::low);  // the default
    auto& s = *f.store;
    apply_ok(s, first_direct(1, 1, 2));
    auto& rocks = dynamic_cast<st::detail::rocks_store&>(s);
    auto* timeline = rocks.handle(st::detail::cf_timeline);
    REQUIRE(rocks.db().Flush(rocksdb::FlushOptions{}, timeline).ok());  // the HIGH pool
    REQUIRE(rocks.db()
                .CompactRange(rocksdb::CompactRangeOptions{}, timeline, nullptr, nullptr)
                .ok());  // the LOW pool
    // A pool's thread lowers itself when it takes a job: the ones that ran these are at 19.
    for (const char* pool : {"rocksdb:high", "rocksdb:low"}) {
        CAPTURE(pool);
        const auto nices = nice_of_threads_named(pool);
        REQUIRE_FALSE(nices.empty());
        CHECK(std::count(nices.begin(), nices.end(), 19) >= 1);
    }
}

TEST_CASE("a checkpoint is a store of its own, with the log positions", "[unit][storage]") {
    rocks_factory f;
    auto& s = *f.store;
    apply_ok(s, first_direct(1, 1, 2));
    apply_ok(s, message(1, st::conv_id::direct(1, 2), 2, 2));
    apply_ok(s, st::log_position{3, 1, 77});
    const auto copy = f.dir.path() / "checkpoint";
    REQUIRE(s.checkpoint(copy.string()).has_value());
    CHECK_FALSE(s.checkpoint(copy.string()).has_value());  // never over an existing directory
    // The original goes on; the copy stays at its point in time.
    apply_ok(s, message(1, st::conv_id::direct(1, 2), 3, 1));
    const auto restored = open_rocks(copy.string());
    CHECK(restored->conversation(1, st::conv_id::direct(1, 2)).value()->head_seq == 2);
    CHECK(restored->position(3).value()->sequence == 1);
    CHECK(restored->position(3).value()->digest == 77);
    CHECK(restored->verify().has_value());
    CHECK(st::make_memory_store()->checkpoint((f.dir.path() / "m").string()).error() ==
          st::errc::unsupported);
}
