// Exactly-once under faults, end to end: SDK clients on a shared runtime send through a proxy
// that cuts every connection at random moments, while ternd is killed with SIGKILL and restarted
// on the same data. At the end every send completed, and every member device received every
// acknowledged message of its conversations exactly once, in seq order, without gaps.
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "sdk_fixture.hpp"
#include "tcp_proxy.hpp"
#include "ternd_process.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

TEST_CASE("every acked message reaches every member device exactly once, through cuts and kill -9",
          "[fault][sdk]") {
    const ternd_setup setup("tern-sdk-fault", "fsync");
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    const auto& key = setup.key;

    auto ternd = std::make_unique<ternd_process>(TERND_BINARY, config_file, log_file);
    tcp_proxy proxy(ternd->port());

    // Six users with two devices each, on one runtime: pairs (1,2), (3,4), (5,6) and a group.
    constexpr std::uint64_t users = 6;
    auto runtime = tc::runtime::create(2);
    // The SDK's debug log (outbox sends and their answers), printed only if the test fails.
    std::mutex log_mutex;
    std::vector<std::string> sdk_log;
    struct device {
        std::uint64_t user;
        std::shared_ptr<recording_listener> events = std::make_shared<recording_listener>();
        std::unique_ptr<tc::client> client;
    };
    std::vector<device> devices;
    for (std::uint64_t u = 1; u <= users; ++u) {
        for (std::uint64_t d = 1; d <= 2; ++d) {
            tc::options o;
            o.endpoints = {{tc::transport::tcp, "127.0.0.1", proxy.port(), "/"}};
            o.token_provider = [&key, u, d] {
                return gateway_fixture::token_with(key, [&](auth::token_claims& c) {
                    c.user = u;
                    c.device = u * 10 + d;
                });
            };
            o.reconnect.initial_delay = 20ms;
            o.reconnect.max_delay = 300ms;
            o.log_level = tc::log_level::debug;
            o.log_sink = [&log_mutex, &sdk_log, u, d](tc::log_level, const std::string& line) {
                std::lock_guard lock(log_mutex);
                sdk_log.push_back("device " + std::to_string(u * 10 + d) + ": " + line);
            };

            device dev{u, std::make_shared<recording_listener>(), nullptr};
            dev.client = std::make_unique<tc::client>(std::move(o), dev.events, runtime);
            dev.client->connect();
            devices.push_back(std::move(dev));
        }
    }
    for (auto& d : devices) {
        REQUIRE(d.events->wait([](const auto& l) { return l.connected(); }));
    }
    awaited<tc::sent> created;
    devices[0].client->create_group("everyone", {2, 3, 4, 5, 6}, created.callback());
    const auto made = created.get();
    REQUIRE(made.ok());
    const auto group = made->conv;
    auto pair_of = [](std::uint64_t u) {
        return u % 2 == 1 ? tc::conv_id::direct(u, u + 1) : tc::conv_id::direct(u - 1, u);
    };

    // Everyone sends, alternating between their pair and the group, while the network and the
    // server fail under them.
    constexpr int per_device = 15;
    send_results acks;
    std::map<std::string, tc::conv_id> conv_of_text;
    std::atomic<bool> sending{true};
    std::thread cutter([&] {
        std::mt19937 rng(42);
        while (sending) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 150));
            proxy.cut_all();
        }
    });
    for (int i = 0; i < per_device; ++i) {
        if (i == 4 || i == 9) {
            // With the previous round's sends still in flight.
            ternd->kill9();
            ternd = std::make_unique<ternd_process>(TERND_BINARY, config_file, log_file);
            proxy.set_upstream(ternd->port());
        }
        for (auto& d : devices) {
            const auto conv = i % 2 == 0 ? pair_of(d.user) : group;
            const auto text = "u" + std::to_string(d.user) + "-" +
                              std::to_string(d.client->device()) + "-" + std::to_string(i);
            conv_of_text[text] = conv;
            d.client->send(conv, tc::content::from_text(text), acks.callback());
        }
        std::this_thread::sleep_for(50ms);
    }
    const auto total = devices.size() * per_device;
    const bool completed = acks.wait(total, 180s);
    sending = false;
    cutter.join();
    if (!completed) {
        // What a stall looks like: every device's last connection states, and the end of the
        // SDK's log (the cutter kept cutting while we waited: the full record is huge).
        std::ostringstream report;
        for (auto& d : devices) {
            d.events->read([&](const auto& l) {
                const auto from = l.states.size() > 6 ? l.states.size() - 6 : 0;
                for (auto i = from; i < l.states.size(); ++i) {
                    const auto& s = l.states[i];
                    report << "device " << d.client->device() << " state "
                           << static_cast<int>(s.state) << " reason " << static_cast<int>(s.reason)
                           << " " << s.message << "\n";
                }
                return 0;
            });
        }
        std::lock_guard lock(log_mutex);
        const auto from = sdk_log.size() > 200 ? sdk_log.size() - 200 : 0;
        for (auto i = from; i < sdk_log.size(); ++i) report << sdk_log[i] << "\n";
        UNSCOPED_INFO(report.str());
    }
    REQUIRE(completed);

    // Every send was acknowledged, each with its own seq in its conversation.
    std::map<tc::conv_id, std::set<tc::seq_t>> acked;
    for (const auto& r : acks.results) {
        REQUIRE(r.ok());
        REQUIRE(acked[r->conv].insert(r->seq).second);
    }

    // The faults hit every device: a kill -9 ends every connection there is.
    for (auto& d : devices) {
        CHECK(d.events->read([](const auto& l) { return l.connections(); }) >= 2);
    }

    // Every member device has exactly the acked messages of each of its conversations, in order.
    auto convs_of = [&](std::uint64_t user) { return std::vector{pair_of(user), group}; };
    for (auto& d : devices) {
        for (const auto& conv : convs_of(d.user)) {
            const auto& expect = acked[conv];
            INFO("device " << d.client->device() << " conversation " << conv.id << "/"
                           << conv.peer);
            REQUIRE(d.events->wait(
                [&](const auto& l) { return l.messages_of(conv).size() >= expect.size(); }, 120s));
            d.events->read([&](const auto& l) {
                const auto got = l.messages_of(conv);
                REQUIRE(got.size() == expect.size());  // nothing twice
                auto seq = expect.begin();
                for (const auto& e : got) {
                    CHECK(e.seq == *seq++);  // in order, none missing
                    CHECK(conv_of_text.at(e.content.text) == conv);
                }
                // Every timeline event, messages or not, arrived once and in order.
                tc::seq_t last = 0;
                for (const auto& e : l.events) {
                    if (e.conv != conv) continue;
                    CHECK(e.seq > last);
                    last = e.seq;
                }
                return 0;
            });
        }
    }
}
