// The SDK's public pieces that need no server: the thread executor, client_msg_ids, endpoint
// URLs and the error names.
#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <tern/client/client.hpp>

namespace tc = tern::client;

TEST_CASE("the thread executor runs every task once, in the order each poster posted",
          "[unit][client]") {
    constexpr int posters = 4;
    constexpr int per_poster = 20'000;
    std::vector<std::vector<int>> seen(posters);  // only the executor's thread writes
    {
        auto ex = tc::make_thread_executor();
        CHECK(ex->runs_in_order());
        std::vector<std::thread> threads;
        for (int p = 0; p < posters; ++p) {
            threads.emplace_back([&, p] {
                for (int i = 0; i < per_poster; ++i) ex->post([&, p, i] { seen[p].push_back(i); });
            });
        }
        for (auto& t : threads) t.join();
    }  // the destructor runs what was posted, then joins
    std::vector<int> in_order(per_poster);
    std::iota(in_order.begin(), in_order.end(), 0);
    for (int p = 0; p < posters; ++p) CHECK(seen[p] == in_order);
}

TEST_CASE("client_msg_ids are 32 hex digits, unique, and ascend as one thread sends",
          "[unit][client]") {
    // The server files dedup records by sender and id: ascending ids are inserted next to the
    // previous one (docs/storage.md). No server: the sends wait in the outbox.
    tc::options o;
    o.endpoints = {{tc::transport::tcp, "127.0.0.1", 1, "/"}};
    o.token_provider = [] { return std::string("unused"); };
    tc::client offline(o, std::make_shared<tc::listener>());
    std::vector<std::string> ids;
    for (int i = 0; i < 3000; ++i) {
        ids.push_back(offline.send(tc::conv_id::direct(1, 2), tc::content::from_text("x")));
    }
    for (const auto& id : ids) {
        REQUIRE(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    }
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
}

TEST_CASE("endpoint URLs parse, and bad ones are refused", "[unit][client]") {
    const auto ws = tc::endpoint::parse("wss://chat.example.com:443/tern");
    REQUIRE(ws);
    CHECK(ws->transport == tc::transport::wss);
    CHECK(ws->host == "chat.example.com");
    CHECK(ws->port == 443);
    CHECK(ws->path == "/tern");
    const auto tcp = tc::endpoint::parse("tcp://[::1]:7400");
    REQUIRE(tcp);
    CHECK(tcp->host == "::1");
    CHECK_FALSE(tc::endpoint::parse("http://x:1"));
    CHECK_FALSE(tc::endpoint::parse("tcp://x"));
    CHECK_FALSE(tc::endpoint::parse("tcp://x:70000"));
    CHECK_FALSE(tc::endpoint::parse("tcp://x:7400/path"));
    CHECK(std::string(tc::to_string(tc::error_code::not_member)) == "NOT_MEMBER");
    CHECK(std::string(tc::to_string(tc::error_code::expired)) == "EXPIRED");
}
