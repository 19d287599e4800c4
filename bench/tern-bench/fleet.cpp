#include "fleet.hpp"

#include <algorithm>

#include <future>
#include <stdexcept>

#include <tern/tooling/tokens.hpp>

namespace tern::bench {
namespace tc = tern::client;

class fleet::device_listener final : public tc::listener {
public:
    device_listener(fleet& f, std::uint32_t index) : fleet_(f), index_(index) {}
    void on_state(const tc::state_change& s) override { fleet_.on_state(index_, s); }
    void on_event(const tc::event& e) override { fleet_.tracker_.on_event(index_, e, now_ns()); }

private:
    fleet& fleet_;
    std::uint32_t index_;
};

fleet::fleet(fleet_options opts, tracker& t)
    : opts_(std::move(opts)),
      tracker_(t),
      runtime_(tc::runtime::create(std::max(1u, opts_.threads))),
      callbacks_(runtime_->network_executor()) {
    if (opts_.endpoints.empty()) throw std::runtime_error("no endpoint to connect to");
    auto key = tern::auth::signing_key::from_private_pem_file(opts_.kid, opts_.key_file);
    if (!key) {
        throw std::runtime_error(opts_.key_file + ": " + key.error().message() +
                                 " (a P-256 or Ed25519 private key, ternctl keygen)");
    }
    mint_ = [key = *key, tenant = opts_.tenant](std::uint64_t user) {
        auto token = tern::tooling::device_token(key, tenant, user, 1, std::chrono::hours(24));
        if (!token) throw std::runtime_error("token signing failed: " + token.error().message());
        return *token;
    };
}

fleet::~fleet() {
    // Clients first (their destructors wait for their callbacks), then the executor and runtime.
    clients_.clear();
}

std::uint32_t fleet::add(std::uint64_t user) {
    const auto index = size();
    tc::options o;
    o.endpoints = opts_.endpoints;
    if (opts_.spread) {
        std::rotate(o.endpoints.begin(),
                    o.endpoints.begin() + static_cast<std::ptrdiff_t>(index % o.endpoints.size()),
                    o.endpoints.end());
    }
    o.tls.ca_file = opts_.ca_file;
    o.tls.verify_peer = !opts_.insecure;
    o.token_provider = [token = mint_(user)] { return token; };
    o.device_id = 1;
    o.app_version = "tern-bench";
    o.executor = callbacks_;
    o.log_level = tc::log_level::error;
    if (opts_.sources > 1) o.local_address = "127.0.0." + std::to_string(1 + index % opts_.sources);
    users_.push_back(user);
    connect_asked_.emplace_back(0);
    is_online_.push_back(false);
    clients_.push_back(std::make_unique<tc::client>(
        std::move(o), std::make_shared<device_listener>(*this, index), runtime_));
    return index;
}

void fleet::connect(std::uint32_t i) {
    connect_asked_[i].store(now_ns(), std::memory_order_relaxed);
    clients_[i]->connect();
}

void fleet::disconnect(std::uint32_t i) { clients_[i]->disconnect(); }

void fleet::post(std::function<void()> f) { callbacks_->post(std::move(f)); }

void fleet::on_callback_thread(const std::function<void()>& f) {
    std::promise<void> done;
    callbacks_->post([&] {
        f();
        done.set_value();
    });
    done.get_future().wait();
}

void fleet::on_state(std::uint32_t i, const tc::state_change& s) {
    if (s.state == tc::connection_state::connected) {
        if (is_online_[i]) return;
        is_online_[i] = true;
        online.fetch_add(1, std::memory_order_relaxed);
        logins.fetch_add(1, std::memory_order_relaxed);
        const auto asked = connect_asked_[i].exchange(0, std::memory_order_relaxed);
        if (asked != 0) login.record(static_cast<std::uint64_t>(now_ns() - asked));
        return;
    }
    if (is_online_[i]) {
        is_online_[i] = false;
        online.fetch_sub(1, std::memory_order_relaxed);
        if (s.reason != tc::disconnect_reason::client_closed) {
            drops.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (s.state == tc::connection_state::stopped) stopped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tern::bench
