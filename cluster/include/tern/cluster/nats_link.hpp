// One connection of this ternd to NATS (libnats, the C client), with its JetStream context.
//
// libnats runs its own threads: a subscription's handler and a publish's acknowledgement run on
// them, never on a shard. Handlers must be short and hand their work on (router::post); they
// receive the message by value and may keep it.
//
// Only cluster sources and tests include this header (nats.h is not for widely included files).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

namespace tern::cluster {

// A NATS call failed: the status, and JetStream's error code when it gave one.
class nats_error : public std::runtime_error {
public:
    nats_error(const std::string& what, natsStatus status, jsErrCode js_code = jsErrCode(0));
    [[nodiscard]] natsStatus status() const noexcept { return status_; }
    [[nodiscard]] jsErrCode js_code() const noexcept { return js_code_; }

private:
    natsStatus status_;
    jsErrCode js_code_;
};

// Throws nats_error for anything but NATS_OK.
void check(natsStatus s, const char* what, jsErrCode js_code = jsErrCode(0));

struct nats_message_deleter {
    void operator()(natsMsg* m) const noexcept { natsMsg_Destroy(m); }
};
// An owned message.
using nats_message = std::unique_ptr<natsMsg, nats_message_deleter>;

[[nodiscard]] inline std::string_view data_of(const natsMsg* m) noexcept {
    auto* msg = const_cast<natsMsg*>(m);
    return {natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
}

struct nats_settings {
    std::vector<std::string> servers;  // nats://host:port, the local server first
    std::string user;                  // ternd's own NATS user (clients never speak NATS)
    std::string password;
    std::string name = "ternd";  // the connection's name, as nats-server lists it
    // A stalled server is noticed after about ping_interval x max_pings_out.
    std::chrono::milliseconds ping_interval{1000};
    int max_pings_out = 2;
    std::chrono::milliseconds reconnect_wait{250};
    // JetStream API calls (stream info, create, stepdown) and appends wait at most this long.
    std::chrono::milliseconds api_timeout{2000};
    // Whether the first connection attempt must succeed (tools) or is retried in the
    // background (ternd: its nats-server may start a moment later).
    bool retry_first_connect = true;
    // Write every publish at once instead of through libnats' flusher, which waits 1 ms before
    // each write (libnats 3.4.1). Only for a connection that publishes and never holds an
    // ordered consumer: a failed write while one is re-created makes 3.4.1 crash the process
    // (natsThread_Detach(NULL) in _recreateOrderedCons; nats.c #840, fixed after 3.4.1).
    bool send_asap = false;
};

// Told when the connection goes down and comes back (libnats' threads).
struct link_observer {
    std::function<void()> disconnected;
    std::function<void()> reconnected;
};

namespace detail {
template <class Handler>
struct guarded_handler;
}  // namespace detail

class subscription {
public:
    using handler = std::function<void(nats_message)>;
    subscription(natsConnection* nc, const std::string& subject, handler h);
    // Unsubscribes; once it returns the handler never runs again (a running one is waited
    // for, so never destroy a subscription from its own handler).
    ~subscription();
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;

private:
    using guarded = detail::guarded_handler<handler>;
    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);

    std::shared_ptr<guarded> state_;
    natsSubscription* sub_ = nullptr;
};

class nats_link {
public:
    explicit nats_link(const nats_settings& settings, link_observer observer = {});
    ~nats_link();
    nats_link(const nats_link&) = delete;
    nats_link& operator=(const nats_link&) = delete;

    [[nodiscard]] natsConnection* connection() const noexcept { return nc_; }
    [[nodiscard]] const nats_settings& settings() const noexcept { return settings_; }
    [[nodiscard]] bool connected() const noexcept;

    // Fire and forget; false when the connection cannot take it (closed, buffer full).
    bool publish(const std::string& subject, std::string_view data,
                 const std::string& reply = {}) noexcept;
    // A request and its reply (blocking: for tools, set-up and tests, never on a shard).
    [[nodiscard]] nats_message request(const std::string& subject, std::string_view data,
                                       std::chrono::milliseconds timeout);

    [[nodiscard]] std::unique_ptr<subscription> subscribe(const std::string& subject,
                                                          subscription::handler h);

    // Closes the connection (idempotent): later calls fail at once rather than wait for a
    // server. Stopping a JetStream reader on an open connection asks the server to delete its
    // consumer and waits for the answer: close first when stopping everything.
    void close() noexcept;

private:
    // libnats may still run a connection callback after the connection is destroyed (they run
    // on its own thread): the callbacks reach this through a state that outlives the link, and
    // do nothing once it is closed.
    struct callbacks;
    static void on_disconnected(natsConnection*, void* closure);
    static void on_reconnected(natsConnection*, void* closure);

    nats_settings settings_;
    std::shared_ptr<callbacks> callbacks_;
    natsOptions* options_ = nullptr;
    natsConnection* nc_ = nullptr;
};

}  // namespace tern::cluster
