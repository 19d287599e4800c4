#include <tern/cluster/nats_link.hpp>

#include <mutex>
#include <vector>

#include "guarded_handler.hpp"

namespace tern::cluster {

nats_error::nats_error(const std::string& what, natsStatus status, jsErrCode js_code)
    : std::runtime_error(
          what + ": " + natsStatus_GetText(status) +
          (js_code != 0 ? " (JetStream error " + std::to_string(js_code) + ")" : std::string())),
      status_(status),
      js_code_(js_code) {}

void check(natsStatus s, const char* what, jsErrCode js_code) {
    if (s != NATS_OK) throw nats_error(what, s, js_code);
}

subscription::subscription(natsConnection* nc, const std::string& subject, handler h)
    : state_(std::make_shared<guarded>()) {
    state_->handler = std::move(h);
    void* closure = guarded::closure_for(state_);
    if (const auto s = natsConnection_Subscribe(&sub_, nc, subject.c_str(),
                                                &subscription::on_message, closure);
        s != NATS_OK) {
        guarded::release(closure);
        check(s, "subscribe");
    }
    guarded::release_when_complete(sub_, closure);
    // No limit on pending messages: a handler only hands work on, and dropping a message here
    // would lose a request or a push in silence (libnats' default cuts at 65,536).
    natsSubscription_SetPendingLimits(sub_, -1, -1);
}

subscription::~subscription() {
    state_->close();
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
}

void subscription::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    guarded::of(closure).run(nats_message(msg));
}

struct nats_link::callbacks {
    std::mutex mutex;  // held while a callback runs
    link_observer observer;
    bool closed = false;

    template <class Member>
    void run(Member which) {
        std::lock_guard lock(mutex);
        if (!closed && observer.*which) (observer.*which)();
    }
    // Kept until the process ends (reachable, so no leak is reported): libnats gives no sign
    // that it will not call again. One per link, and a process has one or two links.
    static std::shared_ptr<callbacks> make(link_observer o) {
        static std::mutex keep_mutex;
        static std::vector<std::shared_ptr<callbacks>> kept;
        auto c = std::make_shared<callbacks>();
        c->observer = std::move(o);
        std::lock_guard lock(keep_mutex);
        kept.push_back(c);
        return c;
    }
};

nats_link::nats_link(const nats_settings& settings, link_observer observer)
    : settings_(settings), callbacks_(callbacks::make(std::move(observer))) {
    check(natsOptions_Create(&options_), "nats options");
    std::vector<const char*> servers;
    for (const auto& s : settings_.servers) servers.push_back(s.c_str());
    try {
        check(natsOptions_SetServers(options_, servers.data(), static_cast<int>(servers.size())),
              "nats servers");
        if (!settings_.user.empty()) {
            check(natsOptions_SetUserInfo(options_, settings_.user.c_str(),
                                          settings_.password.c_str()),
                  "nats user");
        }
        check(natsOptions_SetName(options_, settings_.name.c_str()), "nats name");
        // The local server first: it holds this node's replicas and leads its partitions.
        check(natsOptions_SetNoRandomize(options_, true), "nats order");
        if (settings_.send_asap) check(natsOptions_SetSendAsap(options_, true), "send asap");
        check(natsOptions_SetPingInterval(options_, settings_.ping_interval.count()), "ping");
        check(natsOptions_SetMaxPingsOut(options_, settings_.max_pings_out), "pings out");
        check(natsOptions_SetMaxReconnect(options_, -1), "reconnect");
        check(natsOptions_SetReconnectWait(options_, settings_.reconnect_wait.count()), "wait");
        check(natsOptions_SetTimeout(options_, settings_.api_timeout.count()), "timeout");
        // Requests waiting on a dropped connection fail at once rather than at their timeout.
        check(natsOptions_SetFailRequestsOnDisconnect(options_, true), "fail requests");
        check(
            natsOptions_SetDisconnectedCB(options_, &nats_link::on_disconnected, callbacks_.get()),
            "cb");
        check(natsOptions_SetReconnectedCB(options_, &nats_link::on_reconnected, callbacks_.get()),
              "cb");
        if (settings_.retry_first_connect) {
            check(natsOptions_SetRetryOnFailedConnect(options_, true, nullptr, nullptr), "retry");
        }
        const auto s = natsConnection_Connect(&nc_, options_);
        // With retries on, NATS_NOT_YET_CONNECTED means "connecting in the background".
        if (s != NATS_OK && !(settings_.retry_first_connect && s == NATS_NOT_YET_CONNECTED)) {
            check(s, "connecting to NATS");
        }
    } catch (...) {
        natsConnection_Destroy(nc_);
        natsOptions_Destroy(options_);
        throw;
    }
}

nats_link::~nats_link() {
    {
        std::lock_guard lock(callbacks_->mutex);
        callbacks_->closed = true;
    }
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
    natsOptions_Destroy(options_);
}

bool nats_link::connected() const noexcept {
    return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

bool nats_link::publish(const std::string& subject, std::string_view data,
                        const std::string& reply) noexcept {
    const auto s = reply.empty()
                       ? natsConnection_Publish(nc_, subject.c_str(), data.data(),
                                                static_cast<int>(data.size()))
                       : natsConnection_PublishRequest(nc_, subject.c_str(), reply.c_str(),
                                                       data.data(), static_cast<int>(data.size()));
    return s == NATS_OK;
}

nats_message nats_link::request(const std::string& subject, std::string_view data,
                                std::chrono::milliseconds timeout) {
    natsMsg* reply = nullptr;
    check(natsConnection_Request(&reply, nc_, subject.c_str(), data.data(),
                                 static_cast<int>(data.size()), timeout.count()),
          "request");
    return nats_message(reply);
}

std::unique_ptr<subscription> nats_link::subscribe(const std::string& subject,
                                                   subscription::handler h) {
    return std::make_unique<subscription>(nc_, subject, std::move(h));
}

void nats_link::close() noexcept { natsConnection_Close(nc_); }

void nats_link::on_disconnected(natsConnection*, void* closure) {
    static_cast<callbacks*>(closure)->run(&link_observer::disconnected);
}

void nats_link::on_reconnected(natsConnection*, void* closure) {
    static_cast<callbacks*>(closure)->run(&link_observer::reconnected);
}

}  // namespace tern::cluster
