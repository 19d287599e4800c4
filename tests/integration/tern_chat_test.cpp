// tern-chat in pipes: two processes chat through a real gateway, lines in and events out.
#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "gateway_fixture.hpp"
#include "http_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> chat_argv(const gateway_fixture& f, std::uint64_t user,
                                   std::uint64_t device) {
    return {TERN_CHAT, "--endpoint", "tcp://127.0.0.1:" + std::to_string(f.gw->tcp_port()),
            "--token", f.token_for(1, user, device)};
}

}  // namespace

TEST_CASE("two tern-chat processes exchange messages through pipes", "[integration][tern-chat]") {
    gateway_fixture f;
    child_process bob(chat_argv(f, 2, 20));
    REQUIRE(bob.wait_for("me 2", 30s));
    bob.write_line("/sub 1");
    REQUIRE(bob.wait_for("presence 1 offline", 30s));

    child_process alice(chat_argv(f, 1, 10));
    REQUIRE(alice.wait_for("me 1", 30s));
    REQUIRE(bob.wait_for("presence 1 online", 30s));
    alice.write_line("/open 2");
    alice.write_line("hello bob");
    REQUIRE(alice.wait_for("sent d:1-2 #1", 30s));
    REQUIRE(bob.wait_for("msg d:1-2 #1 1: hello bob", 30s));

    // Bob answers and reads; Alice sees the answer and the receipt.
    bob.write_line("/open 1");
    bob.write_line("hi alice");
    bob.write_line("/read");
    REQUIRE(alice.wait_for("msg d:1-2 #2 2: hi alice", 30s));
    REQUIRE(alice.wait_for("receipt d:1-2 user 2", 30s));

    // A group: created by Alice, seen by Bob, with "read by" counts and who-read.
    alice.write_line("/group team 2");
    REQUIRE(alice.wait_for("conv g:", 30s));
    alice.write_line("standup at ten");
    REQUIRE(bob.wait_for("standup at ten", 30s));
    alice.write_line("/list");
    REQUIRE(alice.wait_for("ok list", 30s));

    // Bob mutes the group: Alice's next message reaches him without a sound.
    std::string group;
    for (const auto& line : bob.seen) {
        if (const auto at = line.find("msg g:"); at != std::string::npos) {
            group = line.substr(at + 6, line.find(' ', at + 6) - at - 6);
        }
    }
    REQUIRE_FALSE(group.empty());
    bob.write_line("/opengroup " + group);
    bob.write_line("/mute nothing 60");
    REQUIRE(bob.wait_for("mute g:" + group + " nothing until", 30s));
    alice.write_line("lunch at noon");
    REQUIRE(bob.wait_for("lunch at noon [quiet]", 30s));
    bob.write_line("/list");
    REQUIRE(bob.wait_for("muted nothing", 30s));
    // Bob goes into do-not-disturb: Alice's direct message arrives silently.
    bob.write_line("/dnd 30");
    REQUIRE(bob.wait_for("settings dnd until", 30s));
    alice.write_line("/open 2");
    alice.write_line("quick question");
    REQUIRE(bob.wait_for("quick question [silent]", 30s));

    // Urgent: refused until the tenant's policy names Alice; then it alerts Bob through his
    // do-not-disturb, with its reason.
    alice.write_line("/urgent server down | call me");
    REQUIRE(alice.wait_for("PERMISSION_DENIED", 30s));
    REQUIRE(http_post(f.gw->admin_port(), "/admin/v1/policy?tenant=1", f.admin_token,
                      R"({"urgent": {"sender_users": [1]}})")
                .status == 200);
    alice.write_line("/urgent server down | call me");
    REQUIRE(bob.wait_for("1: call me [URGENT: server down]", 30s));
    for (const auto& line : bob.seen) {
        if (line.find("[URGENT:") != std::string::npos) {
            CHECK(line.find("[silent]") == std::string::npos);
        }
    }

    // Bob acknowledges it in the direct chat; Alice hears so, and sees who did.
    std::string urgent_seq;
    for (const auto& line : bob.seen) {
        if (line.find("call me [URGENT") == std::string::npos) continue;
        const auto at = line.find('#') + 1;
        urgent_seq = line.substr(at, line.find(' ', at) - at);
    }
    REQUIRE_FALSE(urgent_seq.empty());
    bob.write_line("/open 1");
    bob.write_line("/ack");
    REQUIRE(bob.wait_for("ok ack #" + urgent_seq, 30s));
    REQUIRE(alice.wait_for("acked d:1-2 #" + urgent_seq + " by 2", 30s));
    alice.write_line("/acks " + urgent_seq);
    REQUIRE(alice.wait_for("acks d:1-2 #" + urgent_seq + " 1 of 1: 2 waiting:", 30s));
    bob.write_line("/ack 1");  // not an urgent message
    REQUIRE(bob.wait_for("error INVALID_ARGUMENT not an urgent message", 30s));

    // Scheduled: one for now goes at once (Alice hears it released), one for in an hour is
    // listed until Alice cancels it.
    alice.write_line("/open 2");
    alice.write_line("/schedule 0 see you at nine");
    REQUIRE(bob.wait_for("1: see you at nine", 30s));
    REQUIRE(alice.wait_for("released d:1-2 #", 30s));
    alice.write_line("/schedule 60 much later");
    REQUIRE(alice.wait_for("\"much later\"", 30s));
    std::string later_id;
    for (const auto& line : alice.seen) {
        if (line.starts_with("ok schedule ") && line.find("much later") != std::string::npos) {
            later_id = line.substr(12, line.find(' ', 12) - 12);
        }
    }
    REQUIRE_FALSE(later_id.empty());
    alice.write_line("/scheduled");
    REQUIRE(alice.wait_for("scheduled 1: " + later_id + " d:1-2 at ", 30s));
    alice.write_line("/reschedule " + later_id + " later still");
    REQUIRE(alice.wait_for("ok reschedule " + later_id, 30s));
    REQUIRE(alice.wait_for("schedule " + later_id + " edited d:1-2", 30s));
    alice.write_line("/scheduled");
    REQUIRE(alice.wait_for("\"later still\"", 30s));
    alice.write_line("/unschedule " + later_id);
    REQUIRE(alice.wait_for("schedule " + later_id + " cancelled d:1-2", 30s));
    alice.write_line("/schedule start 99 nobody");
    REQUIRE(alice.wait_for("at_work_start_of: a member", 30s));

    // End of input: each waits for its sends, then exits cleanly.
    alice.close_stdin();
    bob.close_stdin();
    CHECK(alice.wait_exit(30s) == 0);
    CHECK(bob.wait_exit(30s) == 0);
}
