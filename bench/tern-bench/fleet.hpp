// The bench's clients: many SDK clients on one runtime (its network threads), their callbacks all
// run in order on the runtime's first network thread (no thread switch per callback), each a
// device of its own user with a token minted from a development key. Clients
// can bind to several source addresses (127.0.0.x) to pass one address's ephemeral port range.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tern/client/client.hpp>

#include "histogram.hpp"
#include "tracker.hpp"

namespace tern::bench {

struct fleet_options {
    std::vector<tern::client::endpoint> endpoints;
    std::string ca_file;    // trust for tls/wss; empty: the system's
    bool insecure = false;  // do not verify the server's certificate
    std::string key_file;   // signing key for development tokens (ternctl keygen)
    std::string kid = "dev";
    std::uint64_t tenant = 1;
    unsigned sources = 1;  // bind client i to 127.0.0.(1 + i % sources); 1: do not bind
    unsigned threads = 1;  // the runtime's network threads
    // Client i starts at endpoints[i % n], the others after it as fallbacks (a cluster's
    // nodes); false: every client tries them in the order given.
    bool spread = false;
};

class fleet {
public:
    fleet(fleet_options opts, tracker& t);
    ~fleet();
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    // A client for `user` (device 1), not connected yet. Returns its index.
    std::uint32_t add(std::uint64_t user);

    void connect(std::uint32_t i);     // any thread
    void disconnect(std::uint32_t i);  // any thread
    [[nodiscard]] tern::client::client& at(std::uint32_t i) { return *clients_[i]; }
    [[nodiscard]] std::uint64_t user_of(std::uint32_t i) const { return users_[i]; }
    [[nodiscard]] std::uint32_t size() const noexcept {
        return static_cast<std::uint32_t>(clients_.size());
    }

    // Runs `f` on the callback thread and waits for it: reading the tracker and the login
    // histogram safely.
    void on_callback_thread(const std::function<void()>& f);
    // Posts `f` to the callback thread (completions the bench makes itself).
    void post(std::function<void()> f);

    // Readable from any thread.
    std::atomic<std::uint64_t> online{0};   // clients connected now
    std::atomic<std::uint64_t> logins{0};   // Welcomes received since the start
    std::atomic<std::uint64_t> drops{0};    // connections lost (not asked for)
    std::atomic<std::uint64_t> stopped{0};  // clients that stopped (disconnect(), or refused)
    // connect() to Welcome, for connects the bench asked for. Callback thread.
    histogram login;

private:
    class device_listener;
    void on_state(std::uint32_t i, const tern::client::state_change& s);

    fleet_options opts_;
    tracker& tracker_;
    std::shared_ptr<tern::client::runtime> runtime_;
    std::shared_ptr<tern::client::executor> callbacks_;
    std::function<std::string(std::uint64_t user)> mint_;  // a device token for the user
    std::vector<std::uint64_t> users_;
    std::vector<std::unique_ptr<tern::client::client>> clients_;
    std::deque<std::atomic<std::int64_t>> connect_asked_;  // ns; 0: none pending
    std::vector<bool> is_online_;                          // callback thread
};

}  // namespace tern::bench
