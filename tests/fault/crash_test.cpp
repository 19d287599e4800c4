// Crash safety of the store (docs/storage.md, "What each mode survives"):
//  (a) power loss, simulated by a file system that loses everything not synced: every commit
//      acknowledged in fsync mode is there after reopening, and the store is consistent;
//  (b) a process killed with SIGKILL in the middle of a stream of os-mode commits: everything
//      it acknowledged before the kill is there after reopening.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include <tern/storage/commit_writer.hpp>
#include <tern/storage/testing/fault_fs.hpp>

#include "store_fixtures.hpp"

using namespace tern::test;

namespace {

constexpr st::tenant_id tenant = 1;

st::conv_id conv_of(int i) { return st::conv_id::direct(1, 2 + static_cast<st::user_id>(i)); }

// Checks that conversation i holds every seq 1..acked with the expected body.
void require_timeline(const st::store& s, int i, st::seq_t acked) {
    const auto meta = s.conversation(tenant, conv_of(i)).value();
    if (acked == 0) return;
    REQUIRE(meta);
    REQUIRE(meta->head_seq >= acked);
    const auto events = s.timeline(tenant, conv_of(i), 1, st::direction::forward, acked).value();
    REQUIRE(events.size() == acked);
    for (st::seq_t seq = 1; seq <= acked; ++seq) {
        REQUIRE(events[seq - 1].seq == seq);
        REQUIRE(events[seq - 1].bytes->rfind("m" + std::to_string(seq), 0) == 0);
    }
}

}  // namespace

TEST_CASE("fsync-acknowledged commits survive losing everything not synced", "[fault][storage]") {
    temp_dir dir("tern-lossy");
    auto fs = std::make_shared<st::testing::fault_fs>();
    constexpr int convs = 4;
    constexpr st::seq_t fsync_per_conv = 60, os_per_conv = 40;
    std::array<st::seq_t, convs> acked{};
    {
        auto opened = fs->open_rocks_store(small_rocks_options(dir.str()));
        REQUIRE(opened.has_value());
        auto& s = **opened;
        {
            st::commit_writer writer(s, {st::durability::fsync, 64});
            std::vector<std::future<bool>> done;
            for (st::seq_t seq = 1; seq <= fsync_per_conv; ++seq) {
                for (int i = 0; i < convs; ++i) {
                    auto e = seq == 1
                                 ? first_direct(tenant, 1, 2 + i, "m1")
                                 : message(tenant, conv_of(i), seq, 1, "m" + std::to_string(seq));
                    auto p = std::make_shared<std::promise<bool>>();
                    done.push_back(p->get_future());
                    writer.submit(std::move(e), [p, &acked, i, seq](st::entry_result r) {
                        if (r) acked[i] = seq;  // completions run in order, on one thread
                        p->set_value(r.has_value());
                    });
                }
            }
            for (auto& f : done) REQUIRE(f.get());
        }
        REQUIRE(fs->unsynced_bytes() == 0);

        // Then commits in os mode, written but never synced, and the power goes.
        for (st::seq_t seq = fsync_per_conv + 1; seq <= fsync_per_conv + os_per_conv; ++seq) {
            for (int i = 0; i < convs; ++i) {
                apply(s, {message(tenant, conv_of(i), seq, 1, "m" + std::to_string(seq))},
                      st::durability::os);
            }
        }
        REQUIRE(fs->unsynced_bytes() > 0);
        fs->crash();
    }
    REQUIRE(fs->drop_unsynced() > 0);

    auto s = open_rocks(dir.str());
    REQUIRE(s->verify().has_value());
    st::seq_t survivors = 0;
    for (int i = 0; i < convs; ++i) {
        CAPTURE(i);
        REQUIRE(acked[i] == fsync_per_conv);
        require_timeline(*s, i, acked[i]);
        survivors += s->conversation(tenant, conv_of(i)).value()->head_seq - acked[i];
    }
    // The simulation has teeth: unsynced os-mode commits were really lost.
    CHECK(survivors < convs * os_per_conv);
    // And the store takes new writes where the survivors end.
    const auto head = s->conversation(tenant, conv_of(0)).value()->head_seq;
    apply_ok(*s, message(tenant, conv_of(0), head + 1, 1, "m" + std::to_string(head + 1)));
    REQUIRE(s->verify().has_value());
}

TEST_CASE("commits acknowledged before a SIGKILL survive it", "[fault][storage]") {
    const std::string mode = GENERATE("os", "fsync");
    CAPTURE(mode);
    temp_dir dir("tern-kill");

    int out[2];
    REQUIRE(::pipe(out) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        ::execl(TERN_CRASH_CHILD, TERN_CRASH_CHILD, dir.str().c_str(), mode.c_str(),
                static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    ::close(out[1]);

    // Read acknowledgements until enough have arrived, then kill the child mid-stream.
    std::map<int, st::seq_t> acked;
    std::size_t lines = 0;
    FILE* in = ::fdopen(out[0], "r");
    REQUIRE(in);
    int conv = 0;
    unsigned long long seq = 0;
    const std::size_t target = mode == "os" ? 4000 : 1500;
    while (lines < target && std::fscanf(in, "%d %llu", &conv, &seq) == 2) {
        REQUIRE(seq == acked[conv] + 1);  // acknowledgements come in order per conversation
        acked[conv] = seq;
        ++lines;
    }
    REQUIRE(::kill(child, SIGKILL) == 0);
    // Acknowledgements already in the pipe were also given before the kill.
    while (std::fscanf(in, "%d %llu", &conv, &seq) == 2) {
        acked[conv] = seq;
        ++lines;
    }
    std::fclose(in);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    REQUIRE(lines >= target);

    auto s = open_rocks(dir.str());
    REQUIRE(s->verify().has_value());
    for (const auto& [c, last] : acked) {
        CAPTURE(c, last);
        require_timeline(*s, c, last);
    }
}

TEST_CASE("a failed write applies nothing, and the store resumes once writes work again",
          "[fault][storage]") {
    temp_dir dir("tern-nospace");
    auto fs = std::make_shared<st::testing::fault_fs>();
    auto opened = fs->open_rocks_store(small_rocks_options(dir.str()));
    REQUIRE(opened.has_value());
    auto& s = **opened;
    const auto c = conv_of(0);
    apply_ok(s, first_direct(tenant, 1, 2, "m1"));
    apply_ok(s, message(tenant, c, 2, 1, "m2"));

    fs->fail_writes(true);
    const std::vector<st::log_entry> batch{message(tenant, c, 3, 2, "m3"),
                                           st::mark_read{tenant, c, 2, 3},
                                           st::ack_inbox{tenant, 2, 1, 3}};
    auto failed = s.apply(batch, st::durability::fsync);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error() == st::errc::no_space);
    // Nothing of the batch is visible, and the writer's caches did not keep it either: the same
    // entries are still the valid next ones.
    CHECK(s.conversation(tenant, c).value()->head_seq == 2);
    CHECK(s.inbox_head(tenant, 2).value() == 2);

    fs->fail_writes(false);
    // RocksDB recovers from a full disk in the background; retry (as the writer's callers do)
    // until it lets writes through, within a generous deadline.
    auto retried = s.apply(batch, st::durability::fsync);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!retried && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        retried = s.apply(batch, st::durability::fsync);
    }
    REQUIRE(retried.has_value());
    for (const auto& r : *retried) REQUIRE(r.has_value());
    CHECK(retried->at(0)->inbox == std::vector<st::inbox_assignment>{{1, 3}, {2, 3}});
    CHECK(s.conversation(tenant, c).value()->head_seq == 3);
    CHECK(s.receipt(tenant, c, 2).value()->read_up_to == 3);
    CHECK(s.device_cursor(tenant, 2, 1).value() == 3);
    REQUIRE(s.verify().has_value());
}
