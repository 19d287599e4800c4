// A full disk under a running gateway (a RocksDB file system that fails every append with ENOSPC
// while asked to: mounting a small tmpfs needs privileges CI may not have): sends are refused with
// a retryable error and counted, what was acked stays readable and delivered, and once writes work
// again the same client_msg_id goes through, without a restart and without a gap.
#include <thread>

#include <catch2/catch.hpp>

#include <tern/storage/store.hpp>
#include <tern/storage/testing/fault_fs.hpp>

#include "gateway_fixture.hpp"
#include "http_client.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

TEST_CASE("a full disk refuses sends retryably, loses nothing acked, and service resumes",
          "[fault][diskfull]") {
    auto fs = std::make_shared<st::testing::fault_fs>();
    gateway_fixture f({}, [&](const server::config& c) {
        auto opened = fs->open_rocks_store(small_rocks_options(c.server.data_dir));
        REQUIRE(opened.has_value());
        return std::move(*opened);
    });
    const auto admin = f.gw->admin_port();
    auto alice = f.login(1, 7, 70);
    auto bob = f.login(1, 9, 90);
    const auto conv = direct(7, 9);
    for (int i = 1; i <= 10; ++i) {
        CHECK(send_ok(*alice, i, conv, "m" + std::to_string(i), "c" + std::to_string(i)).seq() ==
              static_cast<std::uint64_t>(i));
    }

    fs->fail_writes(true);
    alice->send(send_text(100, conv, "while full", "full-1"));
    const auto refused = alice->receive_reply(100, 30s);
    REQUIRE(refused);
    REQUIRE(refused->has_error());
    CHECK(refused->error().code() == v1::STORAGE_FULL);
    CHECK(refused->error().retryable());
    CHECK(metric(admin, "tern_storage_commit_failures_total") >= 1);
    CHECK(metric(admin, R"(tern_request_errors_total{code="storage_full"})") >= 1);
    // What was acked is still there for readers.
    v1::Frame history;
    history.set_req_id(101);
    *history.mutable_history()->mutable_conv() = conv;
    history.mutable_history()->set_limit(50);
    alice->send(history);
    const auto page = alice->receive_reply(101, 30s);
    REQUIRE(page);
    REQUIRE(page->has_history_page());
    CHECK(page->history_page().events_size() == 10);

    // Space is back: the same request is retried as the SDK would, and goes through.
    fs->fail_writes(false);
    std::optional<v1::Frame> acked;
    for (int attempt = 0; attempt < 600; ++attempt) {
        const auto req = static_cast<std::uint64_t>(200 + attempt);
        alice->send(send_text(req, conv, "while full", "full-1"));
        acked = alice->receive_reply(req, 30s);
        REQUIRE(acked);
        if (acked->has_send_ack()) break;
        REQUIRE(acked->has_error());
        REQUIRE(acked->error().retryable());
        std::this_thread::sleep_for(100ms);
    }
    REQUIRE(acked->has_send_ack());
    CHECK(acked->send_ack().seq() == 11);
    CHECK(send_ok(*alice, 1000, conv, "after", "after-1").seq() == 12);

    // Bob has every message once, in order, without a gap.
    const auto got = pushes(*bob, 12, 30s);
    REQUIRE(got.size() == 12);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].event().seq() == i + 1);
    CHECK(bob->receive(300ms) == std::nullopt);
}
