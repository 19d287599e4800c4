// The SDK against a real in-process gateway: a listener that records everything it is told, and
// helpers that wait for what a test expects (never for a fixed time).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <vector>

#include <tern/client/client.hpp>

#include "gateway_fixture.hpp"

namespace tern::test {

namespace tc = tern::client;

class recording_listener final : public tc::listener {
public:
    void on_state(const tc::state_change& s) override {
        record([&] { states.push_back(s); });
    }
    void on_event(const tc::event& e) override {
        record([&] { events.push_back(e); });
    }
    void on_receipt(const tc::receipt_update& u) override {
        record([&] { receipts.push_back(u); });
    }
    void on_presence(const std::vector<tc::presence>& p) override {
        record([&] { presence.insert(presence.end(), p.begin(), p.end()); });
    }
    void on_typing(const tc::typing& t) override {
        record([&] { typing.push_back(t); });
    }
    void on_mute(const tc::mute_update& m) override {
        record([&] { mutes.push_back(m); });
    }
    void on_settings(const tc::notification_settings& s) override {
        record([&] { settings.push_back(s); });
    }
    void on_urgent_acknowledged(const tc::urgent_acknowledged& a) override {
        record([&] { urgent_acks.push_back(a); });
    }

    // Waits until `ready` (called under the lock) holds; false after `timeout`.
    bool wait(const std::function<bool(const recording_listener&)>& ready,
              std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return ready(*this); });
    }
    template <class F>
    auto read(F&& f) {
        std::lock_guard lock(mutex_);
        return f(*this);
    }

    bool connected() const {
        return !states.empty() && states.back().state == tc::connection_state::connected;
    }
    std::size_t connections() const {
        std::size_t n = 0;
        for (const auto& s : states) n += s.state == tc::connection_state::connected;
        return n;
    }
    std::vector<tc::event> messages_of(const tc::conv_id& conv) const {
        std::vector<tc::event> out;
        for (const auto& e : events) {
            if (e.conv == conv && e.kind == tc::event_kind::message) out.push_back(e);
        }
        return out;
    }

    std::vector<tc::state_change> states;
    std::vector<tc::event> events;
    std::vector<tc::receipt_update> receipts;
    std::vector<tc::presence> presence;
    std::vector<tc::typing> typing;
    std::vector<tc::mute_update> mutes;
    std::vector<tc::notification_settings> settings;
    std::vector<tc::urgent_acknowledged> urgent_acks;

private:
    template <class F>
    void record(F&& f) {
        {
            std::lock_guard lock(mutex_);
            f();
        }
        changed_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable changed_;
};

// Waits for a completion and returns its result.
template <class T>
struct awaited {
    std::promise<tc::result<T>> promise;
    tc::callback<T> callback() {
        return [this](tc::result<T> r) { promise.set_value(std::move(r)); };
    }
    tc::result<T> get() {
        auto f = promise.get_future();
        REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
        return f.get();
    }
};

// Collects the completions of many sends, from whatever thread they run on.
struct send_results {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<tc::result<tc::sent>> results;

    tc::callback<tc::sent> callback() {
        return [this](tc::result<tc::sent> r) {
            // Notified under the lock: the waiter may destroy this as soon as it sees the last.
            std::lock_guard lock(mutex);
            results.push_back(std::move(r));
            done.notify_all();
        };
    }
    // Waits for `n` completions; false after `timeout`.
    bool wait(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        return done.wait_for(lock, timeout, [&] { return results.size() >= n; });
    }
};

// One device of a user, connected through the SDK.
struct sdk_device {
    std::shared_ptr<recording_listener> events = std::make_shared<recording_listener>();
    std::unique_ptr<tc::client> client;

    sdk_device(const gateway_fixture& f, std::uint64_t tenant, std::uint64_t user,
               std::uint64_t device, tc::endpoint where, std::shared_ptr<tc::runtime> rt = {},
               const std::function<void(tc::options&)>& tune = {}) {
        tc::options o;
        o.endpoints = {std::move(where)};
        o.token_provider = [&f, tenant, user, device] { return f.token_for(tenant, user, device); };
        o.device_id = device;
        o.reconnect.initial_delay = std::chrono::milliseconds(20);
        o.reconnect.max_delay = std::chrono::milliseconds(500);
        if (tune) tune(o);
        client = std::make_unique<tc::client>(std::move(o), events, std::move(rt));
        client->connect();
    }

    void wait_connected() {
        REQUIRE(events->wait([](const recording_listener& l) { return l.connected(); }));
    }

    tc::sent send(const tc::conv_id& conv, const std::string& text) {
        awaited<tc::sent> done;
        client->send(conv, tc::content::from_text(text), done.callback());
        auto r = done.get();
        if (!r) FAIL("send failed: " << tc::to_string(r.err().code) << " " << r.err().message);
        return r.value();
    }
};

inline tc::endpoint tcp_endpoint(const server::gateway& gw) {
    return {tc::transport::tcp, "127.0.0.1", gw.tcp_port(), "/"};
}

}  // namespace tern::test
