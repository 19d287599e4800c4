// libtern against a real gateway: exchange in direct chats and groups, several devices, receipts,
// who-read, recall, edit, presence, typing, and the delivery contract across reconnects and a
// server restart.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <numeric>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "gate_executor.hpp"
#include "http_client.hpp"
#include "sdk_fixture.hpp"

using namespace tern;
using namespace tern::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t acme = 1;

// Every message of `conv` that `l` received, in order, as texts.
std::vector<std::string> texts(const recording_listener& l, const tc::conv_id& conv) {
    std::vector<std::string> out;
    for (const auto& e : l.messages_of(conv)) out.push_back(e.content.text);
    return out;
}

}  // namespace

TEST_CASE("two users exchange direct messages through the SDK, each once and in order",
          "[integration][sdk]") {
    gateway_fixture f;
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw));
    sdk_device bob(f, acme, 9, 90, tcp_endpoint(*f.gw));
    alice.wait_connected();
    bob.wait_connected();
    CHECK(alice.client->user() == 7);
    CHECK(alice.client->device() == 70);

    const auto conv = tc::conv_id::direct(7, 9);
    std::vector<std::string> sent;
    for (int i = 0; i < 20; ++i) {
        sent.push_back("hello " + std::to_string(i));
        alice.client->send(conv, tc::content::from_text(sent.back()));
    }
    const auto last = alice.send(conv, "last");
    sent.push_back("last");
    CHECK(last.seq == 21);
    CHECK_FALSE(last.duplicate);

    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 21; }));
    CHECK(bob.events->read([&](const auto& l) { return texts(l, conv); }) == sent);
    // The sender's own device sees its messages in the same order.
    REQUIRE(alice.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 21; }));
    CHECK(alice.events->read([&](const auto& l) { return texts(l, conv); }) == sent);
    bob.events->read([&](const auto& l) {
        for (std::size_t i = 0; i < l.events.size(); ++i) CHECK(l.events[i].seq == i + 1);
        return 0;
    });

    // An explicit pull brings nothing twice.
    bob.client->sync();
    const auto after_sync = bob.send(conv, "after sync");
    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 22; }));
    CHECK(bob.events->read([&](const auto& l) { return texts(l, conv).back(); }) == "after sync");
    CHECK(after_sync.seq == 22);

    // Bob reads: Alice learns it as a receipt.
    awaited<tc::ok> marked;
    bob.client->mark_read(conv, after_sync.seq, marked.callback());
    CHECK(marked.get().ok());
    REQUIRE(alice.events->wait([&](const auto& l) {
        for (const auto& r : l.receipts) {
            for (const auto& c : r.cursors) {
                if (c.user == 9 && c.read_up_to == after_sync.seq) return true;
            }
        }
        return false;
    }));

    awaited<tc::conversation_list> list;
    bob.client->list_conversations(10, list.callback());
    const auto convs = list.get();
    REQUIRE(convs.ok());
    REQUIRE(convs->conversations.size() == 1);
    CHECK(convs->conversations[0].unread == 0);
    CHECK(convs->conversations[0].head_seq == 22);
}

TEST_CASE("groups through the SDK: several devices, read counts, who-read, recall and edit",
          "[integration][sdk]") {
    gateway_fixture f([](server::config& c) { c.limits.read_count_interval_ms = 50; });
    sdk_device owner(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device phone(f, acme, 2, 20, tcp_endpoint(*f.gw));
    sdk_device desk(f, acme, 2, 21, tcp_endpoint(*f.gw));
    sdk_device carol(f, acme, 3, 30, tcp_endpoint(*f.gw));
    for (auto* d : {&owner, &phone, &desk, &carol}) d->wait_connected();

    awaited<tc::sent> created;
    owner.client->create_group("team", {2, 3}, created.callback());
    const auto group = created.get();
    REQUIRE(group.ok());
    const auto conv = group->conv;
    CHECK(conv.type == tc::conv_type::group);

    const auto first = owner.send(conv, "first");
    const auto second = carol.send(conv, "second");
    for (auto* d : {&owner, &phone, &desk, &carol}) {
        REQUIRE(d->events->wait([&](const auto& l) { return l.messages_of(conv).size() == 2; }));
        CHECK(d->events->read([&](const auto& l) { return texts(l, conv); }) ==
              std::vector<std::string>{"first", "second"});
    }

    // User 2 reads on the phone: the owner's read count for "first" moves; who-read agrees.
    phone.client->mark_read(conv, second.seq);
    REQUIRE(owner.events->wait([&](const auto& l) {
        for (const auto& r : l.receipts) {
            for (const auto& c : r.read_counts) {
                if (c.seq == first.seq && c.read == 2 && c.members == 2) return true;
            }
        }
        return false;
    }));
    awaited<tc::who_read> who;
    owner.client->who_read(conv, first.seq, true, who.callback());
    const auto readers = who.get();
    REQUIRE(readers.ok());
    CHECK(readers->read_users == std::vector<tc::user_id>{2, 3});  // carol read it by replying

    // Edit and recall are timeline events every device gets; permissions hold.
    awaited<tc::sent> edited;
    carol.client->edit(conv, second.seq, tc::content::from_text("second, edited"),
                       edited.callback());
    REQUIRE(edited.get().ok());
    awaited<tc::sent> refused;
    phone.client->recall(conv, first.seq, refused.callback());
    const auto no = refused.get();
    REQUIRE_FALSE(no.ok());
    CHECK(no.err().code == tc::error_code::permission_denied);
    awaited<tc::sent> recalled;
    owner.client->recall(conv, second.seq, recalled.callback());
    REQUIRE(recalled.get().ok());
    REQUIRE(desk.events->wait([&](const auto& l) {
        bool edit = false, recall = false;
        for (const auto& e : l.events) {
            edit |= e.kind == tc::event_kind::edit && e.content.text == "second, edited";
            recall |= e.kind == tc::event_kind::recall && e.target_seq == second.seq;
        }
        return edit && recall;
    }));

    awaited<tc::group_info> info;
    carol.client->group_info(conv, info.callback());
    const auto g = info.get();
    REQUIRE(g.ok());
    CHECK(g->name == "team");
    CHECK(g->members.size() == 3);

    awaited<tc::history_page> page;
    desk.client->history(conv, 0, false, 10, page.callback());
    const auto h = page.get();
    REQUIRE(h.ok());
    CHECK(h->head_seq == h->events.front().seq);
}

TEST_CASE("presence and typing through the SDK", "[integration][sdk]") {
    gateway_fixture f;
    sdk_device watcher(f, acme, 1, 10, tcp_endpoint(*f.gw));
    watcher.wait_connected();
    watcher.client->subscribe_presence({5});
    REQUIRE(watcher.events->wait([](const auto& l) {
        return !l.presence.empty() && l.presence.back().status == tc::presence_status::offline;
    }));
    sdk_device five(f, acme, 5, 50, tcp_endpoint(*f.gw));
    five.wait_connected();
    REQUIRE(watcher.events->wait(
        [](const auto& l) { return l.presence.back().status == tc::presence_status::online; }));
    five.client->set_presence(tc::presence_status::away, "lunch");
    REQUIRE(watcher.events->wait([](const auto& l) {
        return l.presence.back().status == tc::presence_status::away &&
               l.presence.back().text == "lunch";
    }));

    five.send(tc::conv_id::direct(1, 5), "typing next");
    five.client->set_typing(tc::conv_id::direct(1, 5), true);
    REQUIRE(watcher.events->wait([](const auto& l) {
        return !l.typing.empty() && l.typing.back().user == 5 && l.typing.back().active;
    }));
}

TEST_CASE("mute through the SDK: every device told, pushes announced by it", "[integration][sdk]") {
    gateway_fixture f;
    sdk_device alice(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device phone(f, acme, 2, 20, tcp_endpoint(*f.gw));
    sdk_device desk(f, acme, 2, 21, tcp_endpoint(*f.gw));
    for (auto* d : {&alice, &phone, &desk}) d->wait_connected();
    const auto c = tc::conv_id::direct(1, 2);
    alice.send(c, "first");
    REQUIRE(phone.events->wait([&](const auto& l) { return l.messages_of(c).size() == 1; }));
    CHECK(phone.events->read([&](const auto& l) { return l.messages_of(c)[0].notice; }) ==
          tc::notice::alert);

    awaited<tc::ok> muted;
    phone.client->mute(c, tc::notify_level::nothing, 0, muted.callback());
    REQUIRE(muted.get());
    for (auto* d : {&phone, &desk}) {
        REQUIRE(d->events->wait([](const auto& l) {
            return !l.mutes.empty() && l.mutes.back().level == tc::notify_level::nothing;
        }));
    }
    alice.send(c, "second");
    for (auto* d : {&phone, &desk}) {
        REQUIRE(d->events->wait([&](const auto& l) { return l.messages_of(c).size() == 2; }));
        CHECK(d->events->read([&](const auto& l) { return l.messages_of(c)[1].notice; }) ==
              tc::notice::none);
    }
    awaited<tc::conversation_list> list;
    desk.client->list_conversations(10, list.callback());
    const auto page = list.get();
    REQUIRE(page);
    REQUIRE(page->conversations.size() == 1);
    CHECK(page->conversations[0].notify == tc::notify_level::nothing);

    // A time with "all" is refused, and nothing changes.
    awaited<tc::ok> refused;
    phone.client->mute(c, tc::notify_level::all, 5, refused.callback());
    const auto r = refused.get();
    REQUIRE_FALSE(r);
    CHECK(r.err().code == tc::error_code::invalid_argument);
}

TEST_CASE("notification settings through the SDK: do-not-disturb and working hours",
          "[integration][sdk]") {
    gateway_fixture f;
    sdk_device alice(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device phone(f, acme, 2, 20, tcp_endpoint(*f.gw));
    sdk_device desk(f, acme, 2, 21, tcp_endpoint(*f.gw));
    for (auto* d : {&alice, &phone, &desk}) d->wait_connected();

    tc::notification_settings s;
    s.dnd_until_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
            .count();
    s.hours = tc::work_hours{"Asia/Shanghai", 0b111'1111, "00:00", "00:00", {}};  // always
    s.limit_urgent_off_hours = true;
    s.urgent_off_hours_from = {9, 1};
    awaited<tc::ok> set;
    phone.client->set_notification_settings(s, set.callback());
    REQUIRE(set.get());
    for (auto* d : {&phone, &desk}) {
        REQUIRE(d->events->wait([&](const auto& l) {
            return !l.settings.empty() && l.settings.back().dnd_until_ms == s.dnd_until_ms;
        }));
    }
    const auto c = tc::conv_id::direct(1, 2);
    alice.send(c, "are you there?");
    REQUIRE(desk.events->wait([&](const auto& l) { return l.messages_of(c).size() == 1; }));
    CHECK(desk.events->read([&](const auto& l) { return l.messages_of(c)[0].notice; }) ==
          tc::notice::silent);

    awaited<tc::notification_settings> got;
    desk.client->get_notification_settings(got.callback());
    const auto back = got.get();
    REQUIRE(back);
    REQUIRE(back->hours);
    CHECK(back->hours->time_zone == "Asia/Shanghai");
    CHECK(back->dnd_until_ms == s.dnd_until_ms);
    CHECK(back->limit_urgent_off_hours);
    CHECK(back->urgent_off_hours_from == std::vector<tc::user_id>{9, 1});

    awaited<tc::working_hours> asked;
    alice.client->working_hours(2, asked.callback());
    const auto w = asked.get();
    REQUIRE(w);
    CHECK(w->has_hours);
    CHECK(w->working);
    CHECK(w->time_zone == "Asia/Shanghai");

    awaited<tc::ok> bad;
    s.hours->start = "25:00";
    phone.client->set_notification_settings(s, bad.callback());
    const auto r = bad.get();
    REQUIRE_FALSE(r);
    CHECK(r.err().code == tc::error_code::invalid_argument);
}

TEST_CASE("urgent and push tokens through the SDK: urgent acknowledged, a token registered",
          "[integration][sdk]") {
    gateway_fixture f;
    REQUIRE(http_post(f.gw->admin_port(), "/admin/v1/policy?tenant=1", f.admin_token,
                      R"({"urgent": {"sender_users": [1]}})")
                .status == 200);
    sdk_device alice(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device bob(f, acme, 2, 20, tcp_endpoint(*f.gw));
    for (auto* d : {&alice, &bob}) d->wait_connected();
    const auto c = tc::conv_id::direct(1, 2);
    awaited<tc::sent> sent;
    alice.client->send(c, tc::content::urgent("call me", "the build is red"), sent.callback());
    const auto urgent = sent.get();
    REQUIRE(urgent);
    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(c).size() == 1; }));
    CHECK(bob.events->read([&](const auto& l) { return l.messages_of(c)[0].content; })
              .urgent_reason == "the build is red");

    awaited<tc::urgent_status> before;
    alice.client->urgent_status(c, urgent->seq, before.callback());
    const auto waiting = before.get();
    REQUIRE(waiting);
    CHECK(waiting->sender == 1);
    CHECK(waiting->acknowledged.empty());
    CHECK(waiting->awaiting == std::vector<tc::user_id>{2});

    awaited<tc::ok> acked;
    bob.client->acknowledge_urgent(c, urgent->seq, acked.callback());
    REQUIRE(acked.get());
    REQUIRE(alice.events->wait([](const auto& l) { return !l.urgent_acks.empty(); }));
    const auto heard = alice.events->read([](const auto& l) { return l.urgent_acks[0]; });
    CHECK(heard.conv == c);
    CHECK(heard.seq == urgent->seq);
    CHECK(heard.user == 2);
    CHECK(heard.at_ms > 0);

    awaited<tc::urgent_status> after;
    bob.client->urgent_status(c, urgent->seq, after.callback());
    const auto done = after.get();
    REQUIRE(done);
    REQUIRE(done->acknowledged.size() == 1);
    CHECK(done->acknowledged[0].user == 2);
    CHECK(done->acknowledged[0].at_ms == heard.at_ms);
    CHECK(done->awaiting.empty());

    // Bob's phone registers where its push service reaches it; a token without a platform is
    // refused, naming the field.
    awaited<tc::ok> registered;
    bob.client->register_push_token("fcm", "bob-token", "com.example.chat", registered.callback());
    REQUIRE(registered.get());
    awaited<tc::ok> bad_token;
    bob.client->register_push_token("", "bob-token", "com.example.chat", bad_token.callback());
    const auto no_platform = bad_token.get();
    REQUIRE_FALSE(no_platform);
    CHECK(no_platform.err().code == tc::error_code::invalid_argument);
    CHECK_THAT(no_platform.err().message, Catch::Contains("platform"));

    // A plain message cannot be acknowledged.
    const auto plain = alice.send(c, "thanks");
    awaited<tc::ok> refused;
    bob.client->acknowledge_urgent(c, plain.seq, refused.callback());
    const auto r = refused.get();
    REQUIRE_FALSE(r);
    CHECK(r.err().code == tc::error_code::invalid_argument);
}

TEST_CASE("sends made while disconnected go out in order once connected", "[integration][sdk]") {
    gateway_fixture f;
    tc::options o;
    o.endpoints = {tcp_endpoint(*f.gw)};
    o.token_provider = [&f] { return f.token_for(acme, 7, 70); };
    auto listener = std::make_shared<recording_listener>();
    tc::client alice(o, listener);
    std::vector<std::promise<tc::result<tc::sent>>> acks(5);
    for (int i = 0; i < 5; ++i) {
        alice.send(tc::conv_id::direct(7, 9), tc::content::from_text("queued " + std::to_string(i)),
                   [&acks, i](tc::result<tc::sent> r) { acks[i].set_value(std::move(r)); });
    }
    alice.connect();
    for (int i = 0; i < 5; ++i) {
        auto fut = acks[i].get_future();
        REQUIRE(fut.wait_for(20s) == std::future_status::ready);
        const auto r = fut.get();
        REQUIRE(r.ok());
        CHECK(r->seq == static_cast<tc::seq_t>(i + 1));
    }
}

TEST_CASE("a server restart loses nothing: pending sends complete, every message arrives once",
          "[integration][sdk][restart]") {
    gateway_fixture f;
    // The restarted gateway listens on the same port, so the clients find it again.
    f.cfg.listen.tcp = "127.0.0.1:" + std::to_string(f.gw->tcp_port());
    f.restart();
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw));
    sdk_device bob(f, acme, 9, 90, tcp_endpoint(*f.gw));
    alice.wait_connected();
    bob.wait_connected();
    const auto conv = tc::conv_id::direct(7, 9);

    send_results acks;
    for (int i = 0; i < 50; ++i) {
        alice.client->send(conv, tc::content::from_text("m" + std::to_string(i)), acks.callback());
        if (i == 25) f.restart();  // mid-stream
    }
    REQUIRE(acks.wait(50, 60s));
    std::set<tc::seq_t> seqs;
    for (const auto& r : acks.results) {
        REQUIRE(r.ok());
        seqs.insert(r->seq);
    }
    CHECK(seqs.size() == 50);  // one event per send, retries included

    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 50; }, 60s));
    bob.events->read([&](const auto& l) {
        const auto got = l.messages_of(conv);
        std::set<std::string> distinct;
        for (std::size_t i = 0; i < got.size(); ++i) {
            if (i > 0) CHECK(got[i].seq > got[i - 1].seq);
            distinct.insert(got[i].content.text);
        }
        CHECK(distinct.size() == 50);
        return 0;
    });
    CHECK(bob.events->read([](const auto& l) { return l.connections(); }) >= 2);
}

namespace {
// Opens every listener (tcp, tls, ws, wss), the TLS ones with the certificate `files`.
std::function<void(server::config&)> all_listeners(
    const std::pair<std::string, std::string>& files) {
    return [files](server::config& c) {
        c.listen.tls = "127.0.0.1:0";
        c.listen.ws = "127.0.0.1:0";
        c.listen.wss = "127.0.0.1:0";
        c.tls.cert_file = files.first;
        c.tls.key_file = files.second;
    };
}
}  // namespace

TEST_CASE("the SDK speaks TLS, WebSocket and WebSocket over TLS, and verifies the server",
          "[integration][sdk][tls]") {
    temp_dir certs{"tern-sdk-certs"};
    const auto files = make_test_certificate(certs);
    gateway_fixture f(all_listeners(files));
    const auto trust = [&](tc::options& o) { o.tls.ca_file = files.first; };
    sdk_device over_tls(f, acme, 1, 10, {tc::transport::tls, "127.0.0.1", f.gw->tls_port(), "/"},
                        {}, trust);
    sdk_device over_ws(f, acme, 2, 20, {tc::transport::ws, "127.0.0.1", f.gw->ws_port(), "/"});
    sdk_device over_wss(f, acme, 3, 30, {tc::transport::wss, "127.0.0.1", f.gw->wss_port(), "/"},
                        {}, trust);
    for (auto* d : {&over_tls, &over_ws, &over_wss}) d->wait_connected();

    awaited<tc::sent> created;
    over_tls.client->create_group("transports", {2, 3}, created.callback());
    const auto group = created.get();
    REQUIRE(group.ok());
    over_ws.send(group->conv, "from ws");
    over_wss.send(group->conv, "from wss");
    for (auto* d : {&over_tls, &over_ws, &over_wss}) {
        REQUIRE(
            d->events->wait([&](const auto& l) { return l.messages_of(group->conv).size() == 2; }));
    }

    // A client that does not trust the certificate never gets in.
    auto untrusting = std::make_shared<recording_listener>();
    tc::options o;
    o.endpoints = {{tc::transport::tls, "127.0.0.1", f.gw->tls_port(), "/"}};
    o.token_provider = [&f] { return f.token_for(acme, 4, 40); };
    o.tls.ca_file = "/nonexistent/ca.pem";
    tc::client refused(o, untrusting);
    refused.connect();
    REQUIRE(untrusting->wait([](const auto& l) {
        for (const auto& s : l.states) {
            if (s.state == tc::connection_state::disconnected &&
                s.reason == tc::disconnect_reason::network) {
                return true;
            }
        }
        return false;
    }));
    CHECK(untrusting->read([](const auto& l) { return l.connections(); }) == 0);
}

TEST_CASE("a client that reconnects over TLS or WSS resumes its TLS session",
          "[integration][sdk][tls]") {
    temp_dir certs{"tern-sdk-certs"};
    const auto files = make_test_certificate(certs);
    gateway_fixture f(all_listeners(files));
    const auto trust = [&](tc::options& o) { o.tls.ca_file = files.first; };
    const auto admin = f.gw->admin_port();
    const auto handshakes = [&](const std::string& session) {
        return metric(admin, "tern_tls_handshakes_total{session=\"" + session + "\"}");
    };
    sdk_device over_tls(f, acme, 1, 10, {tc::transport::tls, "127.0.0.1", f.gw->tls_port(), "/"},
                        {}, trust);
    sdk_device over_wss(f, acme, 2, 20, {tc::transport::wss, "127.0.0.1", f.gw->wss_port(), "/"},
                        {}, trust);
    for (auto* d : {&over_tls, &over_wss}) d->wait_connected();
    CHECK(handshakes("new") == 2);
    CHECK(handshakes("resumed") == 0);

    for (auto* d : {&over_tls, &over_wss}) {
        d->client->disconnect();
        REQUIRE(d->events->wait([](const auto& l) {
            return !l.states.empty() && l.states.back().state == tc::connection_state::stopped;
        }));
        d->client->connect();
        REQUIRE(d->events->wait([](const auto& l) { return l.connections() == 2; }));
    }
    CHECK(handshakes("new") == 2);
    CHECK(handshakes("resumed") == 2);
    // The resumed sessions carry traffic.
    const auto conv = tc::conv_id::direct(1, 2);
    over_tls.send(conv, "resumed");
    REQUIRE(over_wss.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 1; }));

    // A reloaded certificate comes with new ticket keys: the old ticket cannot be opened, and
    // the client gets in with a full handshake.
    f.gw->reload_tls(files.first, files.second);
    over_tls.client->disconnect();
    REQUIRE(over_tls.events->wait(
        [](const auto& l) { return l.states.back().state == tc::connection_state::stopped; }));
    over_tls.client->connect();
    REQUIRE(over_tls.events->wait([](const auto& l) { return l.connections() == 3; }));
    CHECK(handshakes("new") == 3);
    CHECK(handshakes("resumed") == 2);
}

TEST_CASE("a client connects from the source address it is given", "[integration][sdk]") {
    gateway_fixture f;
    const auto from = [](std::string address) {
        return [address](tc::options& o) { o.local_address = address; };
    };
    sdk_device second_loopback(f, acme, 1, 10, tcp_endpoint(*f.gw), {}, from("127.0.0.2"));
    second_loopback.wait_connected();

    sdk_device unusable(f, acme, 2, 20, tcp_endpoint(*f.gw), {}, from("not-an-address"));
    REQUIRE(unusable.events->wait([](const auto& l) {
        for (const auto& s : l.states) {
            if (s.state == tc::connection_state::disconnected &&
                s.reason == tc::disconnect_reason::network &&
                s.message.find("source address not-an-address") != std::string::npos) {
                return true;
            }
        }
        return false;
    }));
    CHECK(unusable.events->read([](const auto& l) { return l.connections(); }) == 0);
}

TEST_CASE("a client reaches the gateway by address or by name", "[integration][sdk]") {
    // An address literal skips the resolver; a name goes through it (localhost: /etc/hosts, no
    // network needed).
    gateway_fixture f;
    auto by_name = tcp_endpoint(*f.gw);
    by_name.host = "localhost";
    sdk_device literal(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device named(f, acme, 2, 20, by_name);
    literal.wait_connected();
    named.wait_connected();
}

TEST_CASE("callbacks on the runtime's network thread run there, in order, and may call the SDK",
          "[integration][sdk]") {
    gateway_fixture f;
    auto rt = tc::runtime::create(1);
    auto on_network = rt->network_executor();
    CHECK(on_network->runs_in_order());
    const auto use_network = [&](tc::options& o) { o.executor = on_network; };
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw), rt, use_network);
    sdk_device bob(f, acme, 9, 90, tcp_endpoint(*f.gw), rt, use_network);
    alice.wait_connected();
    bob.wait_connected();

    std::promise<std::thread::id> network_thread;
    on_network->post([&] { network_thread.set_value(std::this_thread::get_id()); });
    const auto network_id = network_thread.get_future().get();

    // Each completion sends the next message from inside the callback: no re-entrancy, no
    // deadlock, and the completions arrive in the order of the sends.
    const auto conv = tc::conv_id::direct(7, 9);
    constexpr int count = 100;
    std::vector<tc::seq_t> completed;
    std::set<std::thread::id> threads;
    std::promise<void> all_sent;
    std::function<void(int)> send_from = [&](int i) {
        alice.client->send(conv, tc::content::from_text(std::to_string(i)),
                           [&, i](tc::result<tc::sent> r) {
                               threads.insert(std::this_thread::get_id());
                               completed.push_back(r ? r.value().seq : 0);
                               if (i + 1 < count) {
                                   send_from(i + 1);
                               } else {
                                   all_sent.set_value();
                               }
                           });
    };
    send_from(0);
    REQUIRE(all_sent.get_future().wait_for(20s) == std::future_status::ready);
    CHECK(threads == std::set<std::thread::id>{network_id});
    for (int i = 0; i < count; ++i) CHECK(completed[i] == static_cast<tc::seq_t>(i + 1));

    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == count; }));
    std::vector<std::string> expected;
    for (int i = 0; i < count; ++i) expected.push_back(std::to_string(i));
    CHECK(bob.events->read([&](const auto& l) { return texts(l, conv); }) == expected);
}

TEST_CASE("a token that expires mid-connection is renewed through the provider and nothing is lost",
          "[integration][sdk][token]") {
    gateway_fixture f([](server::config& c) { c.auth.max_skew_seconds = 0; });
    std::atomic<int> asked{0};
    // Tokens for two seconds: the server closes the connection when one expires.
    auto short_lived = [&f, &asked] {
        ++asked;
        return f.token("k1", f.k1.private_pem, [](auth::token_claims& t) {
            t.user = 7;
            t.device = 70;
            t.expires_at = unix_now() + 2;
        });
    };
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw), {},
                     [&](tc::options& o) { o.token_provider = short_lived; });
    sdk_device bob(f, acme, 9, 90, tcp_endpoint(*f.gw));
    alice.wait_connected();
    bob.wait_connected();
    const auto conv = tc::conv_id::direct(7, 9);
    for (int i = 0; i < 10; ++i) alice.client->send(conv, tc::content::from_text("before"));

    REQUIRE(alice.events->wait([](const auto& l) {
        for (const auto& s : l.states) {
            if (s.reason == tc::disconnect_reason::token_expired) return true;
        }
        return false;
    }));
    REQUIRE(alice.events->wait([](const auto& l) { return l.connections() >= 2; }));
    CHECK(asked.load() >= 2);
    const auto after = alice.send(conv, "after");
    CHECK(after.seq == 11);
    REQUIRE(bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == 11; }));
    CHECK(bob.events->read([&](const auto& l) { return texts(l, conv).back(); }) == "after");
}

TEST_CASE(
    "an app that stops taking events: the server closes it as a slow consumer, and it "
    "catches up exactly once when it resumes",
    "[integration][sdk][slow]") {
    gateway_fixture f([](server::config& c) {
        c.limits.outbound_queue_frames = 64;
        c.limits.inbound_frames_per_second = 100'000;
        c.limits.inbound_burst = 100'000;
    });
    f.expect_dropped_frames = true;  // bob's queue, when it overflows
    auto gate = std::make_shared<gate_executor>();
    // A small receive buffer and backlog, so that the server's queue (not the kernel's buffers)
    // takes the pressure.
    sdk_device bob(f, acme, 9, 90, tcp_endpoint(*f.gw), {}, [&](tc::options& o) {
        o.executor = gate;
        o.max_app_backlog = 100;
        o.socket_receive_buffer = 64 * 1024;
    });
    bob.wait_connected();  // and caught up: only live pushes close a slow consumer
    gate->close();
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw));
    alice.wait_connected();
    const auto conv = tc::conv_id::direct(7, 9);
    constexpr int total = 3000;
    const std::string padding(4000, '.');  // 12 MB in all
    send_results acks;
    for (int i = 0; i < total; ++i) {
        alice.client->send(conv, tc::content::from_text(std::to_string(i) + padding),
                           acks.callback());
    }
    REQUIRE(acks.wait(total, 120s));
    for (const auto& r : acks.results) REQUIRE(r.ok());

    gate->open();
    REQUIRE(
        bob.events->wait([&](const auto& l) { return l.messages_of(conv).size() == total; }, 120s));
    bob.events->read([&](const auto& l) {
        const auto got = l.messages_of(conv);
        for (int i = 0; i < total; ++i) {
            REQUIRE(got[i].seq == static_cast<tc::seq_t>(i + 1));
            REQUIRE(got[i].content.text == std::to_string(i) + padding);
        }
        // The server closed it: the Disconnect may not get through a full pipe, so the client
        // may only see the connection end; either way it came back and caught up.
        bool dropped = false;
        for (const auto& s : l.states) {
            dropped |= s.state == tc::connection_state::disconnected &&
                       (s.reason == tc::disconnect_reason::slow_consumer ||
                        s.reason == tc::disconnect_reason::network);
        }
        CHECK(dropped);
        CHECK(l.connections() >= 2);
        return 0;
    });
}

TEST_CASE("a send that cannot fit the server's limits is refused by send() and never resent",
          "[integration][sdk]") {
    gateway_fixture f;
    sdk_device alice(f, acme, 7, 70, tcp_endpoint(*f.gw));
    alice.wait_connected();
    const tc::conv_id conv = tc::conv_id::direct(7, 9);
    tc::content payload;
    payload.custom_type = "file/v1";
    payload.custom_data = std::string(100 * 1024, 'x');
    awaited<tc::sent> refused;
    alice.client->send(conv, payload, refused.callback());
    const auto r = refused.get();
    REQUIRE_FALSE(r);
    CHECK(r.err().code == tc::error_code::content_too_large);
    CHECK_FALSE(r.err().retryable);
    // The connection was never put at risk, and the next send goes through on it.
    CHECK(alice.send(conv, "after the refusal").seq == 1);
    alice.events->read([](const recording_listener& l) { CHECK(l.connections() == 1); });
}

TEST_CASE("a group's owner lets members added later read the whole history", "[integration][sdk]") {
    gateway_fixture f;
    sdk_device owner(f, acme, 1, 10, tcp_endpoint(*f.gw));
    sdk_device carol(f, acme, 3, 30, tcp_endpoint(*f.gw));
    owner.wait_connected();
    carol.wait_connected();
    awaited<tc::sent> created;
    owner.client->create_group("team", {2}, created.callback());
    const auto group = created.get().value().conv;
    owner.send(group, "before carol");
    const auto history_of_carol = [&] {
        awaited<tc::history_page> page;
        carol.client->history(group, 0, false, 50, page.callback());
        auto r = page.get();
        REQUIRE(r);
        return r->events.size();
    };
    awaited<tc::sent> set;
    owner.client->set_group_history(group, true, set.callback());
    REQUIRE(set.get());
    awaited<tc::sent> added;
    owner.client->add_members(group, {3}, added.callback());
    REQUIRE(added.get());
    CHECK(history_of_carol() == 4);  // created, the message, the setting, her admission
    awaited<tc::sent> back;
    owner.client->set_group_history(group, false, back.callback());
    REQUIRE(back.get());
    CHECK(history_of_carol() == 2);  // from her admission on
    awaited<tc::sent> refused;
    carol.client->set_group_history(group, true, refused.callback());
    const auto r = refused.get();
    REQUIRE_FALSE(r);
    CHECK(r.err().code == tc::error_code::permission_denied);
}
