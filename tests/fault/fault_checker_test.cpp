// The fault checker: two tenants with the same user ids, 510 users with three devices each (SDK
// clients on one runtime), direct chats and groups of 5, 10, 50 and 500 members, thousands of
// messages, while ternd is killed with SIGKILL about every 2 s and restarted on the same data.
// Afterwards it proves, for every acknowledged message: every member device has it exactly once
// (after the SDK's dedup), in per-conversation order, without gaps; a resend got the same seq (the
// seq every device saw for the message's client_msg_id is the one its sender was acked with);
// receipts never went backwards on any device; nothing crossed tenants.
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <catch2/catch.hpp>

#include "sdk_fixture.hpp"
#include "tcp_proxy.hpp"
#include "ternd_process.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t big_tenant_users = 500;
constexpr std::uint64_t small_tenant_users = 10;
constexpr std::uint64_t devices_per_user = 3;

struct device {
    std::uint64_t tenant = 0;
    std::uint64_t user = 0;
    std::shared_ptr<recording_listener> events = std::make_shared<recording_listener>();
    std::unique_ptr<tc::client> client;
};

// What a send's callback learned, by the message's text (unique per send).
struct ledger {
    std::mutex mutex;
    std::condition_variable done;
    std::map<std::string, std::string> cmid;  // text -> client_msg_id the SDK gave the send
    std::map<std::string, tc::result<tc::sent>> result;
    std::size_t completed = 0;

    tc::callback<tc::sent> on_sent(const std::string& text) {
        return [this, text](tc::result<tc::sent> r) {
            std::lock_guard lock(mutex);
            result.emplace(text, std::move(r));
            ++completed;
            done.notify_all();
        };
    }
    bool wait(std::size_t total, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex);
        return done.wait_for(lock, timeout, [&] { return completed >= total; });
    }
};

std::string tag(std::uint64_t tenant) { return "t" + std::to_string(tenant) + ":"; }

}  // namespace

TEST_CASE("fault checker: every acked message once and in order on every device, through kill -9",
          "[fault][checker]") {
    const ternd_setup setup("tern-checker", "fsync");
    const auto& config_file = setup.config_file;
    const auto& log_file = setup.log_file;
    const auto& key = setup.key;
    auto ternd = std::make_unique<ternd_process>(TERND_BINARY, config_file, log_file);
    tcp_proxy proxy(ternd->port());

    // Declared before the clients: their callbacks write here until the clients are gone.
    ledger sends;
    auto runtime = tc::runtime::create(2);
    std::vector<device> devices;
    for (std::uint64_t tenant : {1, 2}) {
        const auto users = tenant == 1 ? big_tenant_users : small_tenant_users;
        for (std::uint64_t u = 1; u <= users; ++u) {
            for (std::uint64_t d = 1; d <= devices_per_user; ++d) {
                tc::options o;
                o.endpoints = {{tc::transport::tcp, "127.0.0.1", proxy.port(), "/"}};
                o.token_provider = [&key, tenant, u, d] {
                    return gateway_fixture::token_with(key, [&](auth::token_claims& c) {
                        c.tenant = tenant;
                        c.user = u;
                        c.device = u * 10 + d;
                    });
                };
                o.reconnect.initial_delay = 50ms;
                o.reconnect.max_delay = 1000ms;
                o.executor = runtime->network_executor();
                device dev;
                dev.tenant = tenant;
                dev.user = u;
                dev.client = std::make_unique<tc::client>(std::move(o), dev.events, runtime);
                dev.client->connect();
                devices.push_back(std::move(dev));
            }
        }
    }
    for (auto& d : devices) {
        REQUIRE(d.events->wait([](const auto& l) { return l.connected(); }, 120s));
    }
    // The first device of a tenant's user.
    const auto first_device = [&](std::uint64_t tenant, std::uint64_t user) -> device& {
        for (auto& d : devices) {
            if (d.tenant == tenant && d.user == user) return d;
        }
        FAIL("no such device");
        return devices.front();
    };

    // Groups, created before the faults: each member list is the creator's first member on.
    const auto make_group = [&](std::uint64_t tenant, std::uint64_t from, std::uint64_t to) {
        std::vector<tc::user_id> members;
        for (auto u = from + 1; u <= to; ++u) members.push_back(u);
        awaited<tc::sent> created;
        first_device(tenant, from)
            .client->create_group("g" + std::to_string(from) + "-" + std::to_string(to), members,
                                  created.callback());
        const auto made = created.get();
        REQUIRE(made.ok());
        return made->conv;
    };
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<tc::conv_id>> convs_of;
    const auto pair_of = [](std::uint64_t u) {
        return u % 2 == 1 ? tc::conv_id::direct(u, u + 1) : tc::conv_id::direct(u - 1, u);
    };
    const auto everyone = make_group(1, 1, big_tenant_users);
    const auto fifty_a = make_group(1, 1, 50);
    const auto fifty_b = make_group(1, 51, 100);
    std::vector<tc::conv_id> fives;
    for (std::uint64_t b = 0; b < 10; ++b) fives.push_back(make_group(1, 5 * b + 1, 5 * b + 5));
    const auto tens = make_group(2, 1, small_tenant_users);
    for (std::uint64_t u = 1; u <= big_tenant_users; ++u) {
        auto& c = convs_of[{1, u}];
        c = {pair_of(u), everyone};
        if (u <= 50) c.insert(c.end(), {fifty_a, fives[(u - 1) / 5]});
        if (u > 50 && u <= 100) c.push_back(fifty_b);
    }
    for (std::uint64_t u = 1; u <= small_tenant_users; ++u) convs_of[{2, u}] = {pair_of(u), tens};

    // Where round r of a device's sends goes: its conversations in turn, the 500-member group
    // only from its first ten users (its deliveries dominate otherwise).
    const auto target = [&](const device& d, int round) {
        const auto& convs = convs_of[{d.tenant, d.user}];
        auto conv = convs[static_cast<std::size_t>(round) % convs.size()];
        if (conv == everyone && d.user > 10) conv = convs.front();
        return conv;
    };

    std::atomic<bool> faults{true};
    std::atomic<int> kills{0};
    std::string killer_error;  // why a restart failed (read after the join)
    std::thread killer([&] {
        try {
            while (faults) {
                for (int i = 0; i < 20 && faults; ++i) std::this_thread::sleep_for(100ms);
                if (!faults) break;
                ternd->kill9();
                ternd = std::make_unique<ternd_process>(TERND_BINARY, config_file, log_file);
                proxy.set_upstream(ternd->port());
                ++kills;
            }
        } catch (const std::exception& e) {
            std::ifstream log(log_file);
            killer_error =
                std::string(e.what()) + "\n" + std::string(std::istreambuf_iterator<char>(log), {});
            faults = false;
        }
    });

    constexpr int rounds = 8;
    std::map<std::string, tc::conv_id> conv_of_text;
    for (int round = 0; round < rounds; ++round) {
        for (auto& d : devices) {
            const auto conv = target(d, round);
            const auto text =
                tag(d.tenant) + std::to_string(d.client->device()) + "-" + std::to_string(round);
            conv_of_text[text] = conv;
            const auto cmid =
                d.client->send(conv, tc::content::from_text(text), sends.on_sent(text));
            std::lock_guard lock(sends.mutex);
            sends.cmid[text] = cmid;
        }
        // Each device reads what it has of its direct chat: receipts flow through the faults.
        for (auto& d : devices) {
            const auto conv = pair_of(d.user);
            const auto seen = d.events->read([&](const auto& l) {
                const auto got = l.messages_of(conv);
                return got.empty() ? tc::seq_t{0} : got.back().seq;
            });
            if (seen != 0) d.client->mark_read(conv, seen);
        }
        std::this_thread::sleep_for(500ms);
    }
    const auto total = devices.size() * rounds;
    bool completed = false;
    for (int second = 0; second < 600 && !completed && faults; ++second) {
        completed = sends.wait(total, 1s);
    }
    faults = false;
    killer.join();
    INFO(killer_error);
    REQUIRE(killer_error.empty());
    REQUIRE(completed);
    INFO("ternd was killed " << kills.load() << " times");
    CHECK(kills.load() >= 2);
    // The faults hit every device: a kill -9 ends every connection there is.
    for (auto& d : devices) {
        CHECK(d.events->read([](const auto& l) { return l.connections(); }) >= 2);
    }

    // Every send was acknowledged; per conversation, each with its own seq.
    std::map<std::pair<std::uint64_t, tc::conv_id>, std::map<tc::seq_t, std::string>> acked;
    for (const auto& [text, r] : sends.result) {
        REQUIRE(r.ok());
        const auto tenant = text.rfind(tag(1), 0) == 0 ? 1u : 2u;
        REQUIRE(acked[{tenant, r->conv}].emplace(r->seq, text).second);
    }

    std::size_t receipts_seen = 0;
    for (auto& d : devices) {
        for (const auto& conv : convs_of[{d.tenant, d.user}]) {
            const auto& expect = acked[{d.tenant, conv}];
            INFO("tenant " << d.tenant << " device " << d.client->device() << " conversation "
                           << conv.id << "/" << conv.peer);
            REQUIRE(d.events->wait(
                [&](const auto& l) { return l.messages_of(conv).size() >= expect.size(); }, 180s));
            // Exactly once, in order, none missing, each at the seq its sender was acked with and
            // with the client_msg_id its send had (a resend got the original seq).
            std::vector<std::tuple<tc::seq_t, std::string, std::string>> want;
            for (const auto& [seq, text] : expect)
                want.emplace_back(seq, text, sends.cmid.at(text));
            const auto got = d.events->read([&](const auto& l) {
                std::vector<std::tuple<tc::seq_t, std::string, std::string>> out;
                for (const auto& e : l.messages_of(conv)) {
                    out.emplace_back(e.seq, e.content.text, e.client_msg_id);
                }
                return out;
            });
            CHECK(got == want);
        }
        d.events->read([&](const auto& l) {
            // Every timeline event of each conversation arrived once and in order; and nothing
            // of another tenant arrived at all.
            std::map<tc::conv_id, tc::seq_t> last;
            std::size_t out_of_order = 0, foreign = 0;
            for (const auto& e : l.events) {
                out_of_order += e.seq <= last[e.conv];
                last[e.conv] = e.seq;
                foreign += e.kind == tc::event_kind::message &&
                           e.content.text.rfind(tag(d.tenant), 0) != 0;
            }
            CHECK(out_of_order == 0);
            CHECK(foreign == 0);
            // Receipts never went backwards, per conversation and reader.
            receipts_seen += l.receipts.size();
            std::map<std::pair<tc::conv_id, tc::user_id>, tc::receipt_cursor> latest;
            std::size_t backwards = 0;
            for (const auto& update : l.receipts) {
                for (const auto& c : update.cursors) {
                    auto& before = latest[{update.conv, c.user}];
                    backwards += c.read_up_to < before.read_up_to ||
                                 c.delivered_up_to < before.delivered_up_to;
                    before = c;
                }
            }
            CHECK(backwards == 0);
            return 0;
        });
    }
    CHECK(receipts_seen > 0);  // the receipt check above checked something
}
