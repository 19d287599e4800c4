#include "relay.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include <tern/core/every_shard.hpp>
#include <tern/wire/error_frame.hpp>

#include "bus_subjects.hpp"
#include "tern/cluster/v1/bus.pb.h"

namespace tern::cluster::detail {

namespace pb = tern::cluster::v1;

namespace {
// Frames a device may send while its session opens again; past it the device is closed (it
// reconnects and resumes, losing nothing acknowledged).
constexpr std::size_t max_buffered_frames = 256;
// An open not answered within this is sent again (to whoever leads then).
constexpr std::chrono::seconds open_answer_limit{3};
// Flow control (flow_control.hpp): while a report is due once the connection writes, it is
// looked at again, first soon, then less often while the device reads nothing (a stalled
// reader costs a look every 200 ms at most).
constexpr std::chrono::milliseconds first_report_check{2};
constexpr std::chrono::milliseconds last_report_check{200};
}  // namespace

struct relay::session {
    std::shared_ptr<core::device_port> device;
    std::uint32_t partition = 0;
    pb::SessionOpen open;  // kept for opening again: the Hello (no token) and the Welcome
    enum class phase { waiting_owner, opening, open } state = phase::waiting_owner;
    bool welcomed = false;            // the device has its Welcome
    std::string owner;                // the node the session was opened at
    std::set<std::uint64_t> waiting;  // req_ids sent to the owner and not answered yet
    std::uint64_t last_inbox = 0;     // the newest inbox_seq sent to the device
    std::vector<tern::v1::Frame> buffered;
    std::chrono::steady_clock::time_point asked;  // when the open was sent
    // Flow control, counted from the open at the current owner: what it sent, handed to the
    // device's connection, and how much of that the owner was told was written.
    flow_receiver flow;
    bool report_check_posted = false;
    std::chrono::milliseconds report_check = first_report_check;
};

struct relay::shard_state {
    std::unordered_map<std::uint64_t, std::unique_ptr<session>> sessions;
};

relay::relay(std::string node, bus& link, core::router& shards, const partition_map& partitions,
             leader_lookup leaders)
    : node_(std::move(node)),
      link_(link),
      shards_(shards),
      partitions_(partitions),
      leaders_(std::move(leaders)) {
    for (std::size_t i = 0; i < shards_.shard_count(); ++i) {
        state_.push_back(std::make_unique<shard_state>());
    }
}

relay::~relay() = default;

void relay::on_open(const std::shared_ptr<core::device_port>& device, const tern::v1::Hello& hello,
                    tern::v1::Frame welcome) {
    if (draining_) {
        device->send(wire::error_frame(welcome.req_id(), tern::v1::DRAINING,
                                       "the server is draining; reconnect"));
        return device->close(tern::v1::DISCONNECT_SERVER_DRAINING, tern::v1::DRAINING,
                             "the server is draining; reconnect");
    }
    auto s = std::make_unique<session>();
    s->device = device;
    const auto& who = device->who();
    s->partition = partitions_.of(who.tenant);
    auto& open = s->open;
    open.set_partition(s->partition);
    open.set_tenant(who.tenant);
    open.set_user(who.user);
    open.set_device(who.device);
    for (const auto& role : who.roles) open.add_roles(role);
    *open.mutable_hello() = hello;
    open.mutable_hello()->clear_token();  // verified here; never travels further
    *open.mutable_welcome() = std::move(welcome);
    const auto info = device->describe();
    open.set_transport(info.transport);
    open.set_remote(info.remote);
    open.set_connected_at_ms(info.connected_at_ms);
    auto& raw = *s;
    {
        std::lock_guard lock(where_mutex_);
        where_[device->id()] = device->shard();
    }
    state_[device->shard()]->sessions[device->id()] = std::move(s);
    send_open(raw);
}

void relay::send_open(session& s) {
    const auto owner = leaders_(s.partition);
    if (owner.empty()) {
        s.state = session::phase::waiting_owner;  // retry_waiting() tries again
        return;
    }
    pb::GatewayToOwner m;
    m.mutable_session()->set_gateway(node_);
    m.mutable_session()->set_connection(s.device->id());
    *m.mutable_open() = s.open;
    if (s.welcomed) {
        m.mutable_open()->set_reopen(true);
        if (s.last_inbox > 0)
            m.mutable_open()->set_resume_after(s.last_inbox);
        else
            m.mutable_open()->mutable_hello()->clear_resume_inbox_seq();
    }
    s.owner = owner;
    s.flow.restart();  // the owner's new session counts from zero
    s.state = session::phase::opening;
    s.asked = std::chrono::steady_clock::now();
    link_.send(owner_inbox(owner), m.SerializeAsString());
}

void relay::reopen(session& s) {
    // Whatever the old owner had not answered never will be: the device retries it.
    for (const auto req_id : s.waiting) {
        s.device->send(wire::error_frame(req_id, tern::v1::UNAVAILABLE,
                                         "the conversation moved to another server; retry"));
    }
    s.waiting.clear();
    send_open(s);
}

void relay::on_request(const std::shared_ptr<core::device_port>& device, tern::v1::Frame& frame) {
    auto& sessions = state_[device->shard()]->sessions;
    auto it = sessions.find(device->id());
    if (it == sessions.end()) return;
    auto& s = *it->second;
    if (s.state != session::phase::open) {
        if (s.buffered.size() >= max_buffered_frames) {
            return device->close(tern::v1::DISCONNECT_SLOW_CONSUMER, tern::v1::UNAVAILABLE,
                                 "too many requests while the server changed; reconnect");
        }
        s.buffered.push_back(std::move(frame));
        return;
    }
    forward(s, frame);
}

void relay::forward(session& s, const tern::v1::Frame& frame) {
    if (frame.req_id() != 0) s.waiting.insert(frame.req_id());
    pb::GatewayToOwner m;
    m.mutable_session()->set_gateway(node_);
    m.mutable_session()->set_connection(s.device->id());
    *m.mutable_frame() = frame;
    link_.send(owner_inbox(s.owner), m.SerializeAsString());
}

void relay::on_close(const std::shared_ptr<core::device_port>& device) {
    auto& sessions = state_[device->shard()]->sessions;
    auto it = sessions.find(device->id());
    if (it == sessions.end()) return;
    auto& s = *it->second;
    if (!s.owner.empty()) {
        pb::GatewayToOwner m;
        m.mutable_session()->set_gateway(node_);
        m.mutable_session()->set_connection(device->id());
        m.mutable_closed();
        link_.send(owner_inbox(s.owner), m.SerializeAsString());
    }
    sessions.erase(it);
    std::lock_guard lock(where_mutex_);
    where_.erase(device->id());
}

std::optional<std::size_t> relay::shard_of(std::uint64_t connection) const {
    std::lock_guard lock(where_mutex_);
    const auto it = where_.find(connection);
    if (it == where_.end()) return std::nullopt;
    return it->second;
}

void relay::on_message(std::string_view bytes) {
    pb::OwnerToGateway m;
    link_.received();
    if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return link_.malformed("an owner", bytes.size());
    }
    if (m.has_pushes()) {
        // One task per shard that holds a recipient, each event shared by its deliveries.
        std::map<std::size_t, std::vector<std::tuple<std::uint64_t, std::uint64_t,
                                                     storage::event_bytes, core::notice>>>
            by_shard;
        for (auto& e : *m.mutable_pushes()->mutable_events()) {
            auto event = std::make_shared<const std::string>(std::move(*e.mutable_event()));
            for (const auto& d : e.deliveries()) {
                if (const auto shard = shard_of(d.connection())) {
                    // A value this node does not know announces nothing rather than guess.
                    const auto announce =
                        d.notice() <= static_cast<std::uint32_t>(core::notice::alert)
                            ? static_cast<core::notice>(d.notice())
                            : core::notice::unspecified;
                    by_shard[*shard].emplace_back(d.connection(), d.inbox_seq(), event, announce);
                }
            }
        }
        for (auto& [shard, deliveries] : by_shard) {
            shards_.post(shard, [this, shard, list = std::move(deliveries)] {
                auto& sessions = state_[shard]->sessions;
                for (const auto& [connection, inbox_seq, event, announce] : list) {
                    auto it = sessions.find(connection);
                    if (it == sessions.end()) continue;
                    auto& s = *it->second;
                    s.last_inbox = std::max(s.last_inbox, inbox_seq);
                    // A push never ends the session here: a connection that closes itself as
                    // a slow consumer calls on_close later, from its own handlers.
                    s.device->push(inbox_seq, event, announce);
                    s.flow.relayed(event->size() + frame_overhead);
                    report_consumed(shard, s);  // at once unless a report is due
                }
            });
        }
        return;
    }
    std::uint64_t connection = 0;
    switch (m.body_case()) {
        case pb::OwnerToGateway::kAdmitted:
            connection = m.admitted().connection();
            break;
        case pb::OwnerToGateway::kFrame:
            connection = m.frame().connection();
            break;
        case pb::OwnerToGateway::kClose:
            connection = m.close().connection();
            break;
        case pb::OwnerToGateway::kNotOwner:
            connection = m.not_owner().connection();
            break;
        default:
            return;
    }
    const auto shard = shard_of(connection);
    if (!shard) return;  // the device is gone
    auto owned = std::make_unique<pb::OwnerToGateway>(std::move(m));
    shards_.post(*shard, [this, shard = *shard, m = std::move(owned)] { handle(shard, *m); });
}

void relay::handle(std::size_t shard, const pb::OwnerToGateway& m) {
    auto& sessions = state_[shard]->sessions;
    const auto find = [&](std::uint64_t connection) -> session* {
        auto it = sessions.find(connection);
        return it == sessions.end() ? nullptr : it->second.get();
    };
    switch (m.body_case()) {
        case pb::OwnerToGateway::kAdmitted: {
            auto* s = find(m.admitted().connection());
            if (!s || s->state != session::phase::opening) return;
            if (!s->welcomed) {
                if (!s->device->admit(m.admitted().welcome())) return;  // closed meanwhile
                s->welcomed = true;
            }
            s->state = session::phase::open;
            auto buffered = std::move(s->buffered);
            s->buffered.clear();
            for (const auto& f : buffered) forward(*s, f);
            return;
        }
        case pb::OwnerToGateway::kFrame: {
            auto* s = find(m.frame().connection());
            if (!s) return;
            const auto& frame = m.frame().frame();
            if (frame.req_id() != 0) s->waiting.erase(frame.req_id());
            if (frame.has_push()) {
                s->last_inbox = std::max(s->last_inbox, frame.push().inbox_seq());
            }
            // Before the Welcome this is a refusal (an Error answering the Hello), and a close
            // follows it.
            s->device->send(frame);
            s->flow.relayed(frame.ByteSizeLong() + frame_overhead);
            report_consumed(shard, *s);
            return;
        }
        case pb::OwnerToGateway::kClose: {
            auto* s = find(m.close().connection());
            if (!s) return;
            const auto& c = m.close();
            s->device->close(c.reason(), c.code(), c.message());
            return;
        }
        case pb::OwnerToGateway::kNotOwner: {
            auto* s = find(m.not_owner().connection());
            if (!s) return;
            s->state = session::phase::waiting_owner;
            // The leader may already be known to have moved: try at once, or at the next tick.
            const auto leader = leaders_(s->partition);
            if (!leader.empty() && leader != s->owner) reopen(*s);
            return;
        }
        default:
            return;
    }
}

void relay::report_consumed(std::size_t shard, session& s) {
    if (!s.flow.waiting() || s.owner.empty()) return;
    if (const auto written = s.flow.report(s.device->queued_frames())) {
        pb::GatewayToOwner m;
        m.mutable_session()->set_gateway(node_);
        m.mutable_session()->set_connection(s.device->id());
        m.mutable_consumed()->set_frames(*written);
        link_.send(owner_inbox(s.owner), m.SerializeAsString());
        s.report_check = first_report_check;
    } else {
        s.report_check = std::min(s.report_check * 2, last_report_check);
    }
    if (!s.flow.waiting() || s.report_check_posted) return;
    // No callback says when the connection wrote: look again shortly.
    s.report_check_posted = true;
    shards_.post_after(shard, s.report_check, [this, shard, connection = s.device->id()] {
        auto& sessions = state_[shard]->sessions;
        auto it = sessions.find(connection);
        if (it == sessions.end()) return;
        it->second->report_check_posted = false;
        report_consumed(shard, *it->second);
    });
}

void relay::leader_changed(std::uint32_t partition) {
    for (std::size_t shard = 0; shard < state_.size(); ++shard) {
        shards_.post(shard, [this, shard, partition] {
            const auto leader = leaders_(partition);
            if (leader.empty()) return;
            for (auto& [connection, s] : state_[shard]->sessions) {
                if (s->partition == partition && s->owner != leader) reopen(*s);
            }
        });
    }
}

void relay::list_devices(std::uint64_t after_id, std::size_t limit,
                         std::function<void(std::vector<core::device_info>)> done) {
    // Each shard writes only its own part.
    auto parts = std::make_shared<std::vector<std::vector<core::device_info>>>(state_.size());
    core::on_every_shard(
        shards_,
        [this, parts, after_id](std::size_t shard) {
            for (const auto& [connection, s] : state_[shard]->sessions) {
                if (connection > after_id) (*parts)[shard].push_back(s->device->describe());
            }
        },
        [parts, limit, done = std::move(done)] { done(core::first_by_id(*parts, limit)); });
}

void relay::drain(std::chrono::milliseconds window) {
    if (draining_.exchange(true)) return;
    for (std::size_t shard = 0; shard < state_.size(); ++shard) {
        shards_.post(shard, [this, shard, window] {
            auto& sessions = state_[shard]->sessions;
            const auto n = sessions.size();
            std::size_t i = 0;
            for (auto& [connection, s] : sessions) {
                const auto at =
                    n <= 1 ? std::chrono::milliseconds(0)
                           : window * static_cast<std::int64_t>(i++) / static_cast<std::int64_t>(n);
                shards_.post_after(shard, at, [device = std::weak_ptr(s->device)] {
                    if (auto d = device.lock()) {
                        d->close(tern::v1::DISCONNECT_SERVER_DRAINING, tern::v1::DRAINING,
                                 "the server is draining; reconnect");
                    }
                });
            }
        });
    }
}

void relay::retry_waiting() {
    for (std::size_t shard = 0; shard < state_.size(); ++shard) {
        shards_.post(shard, [this, shard] {
            // An open unanswered for long was lost (the owner died, or NATS dropped it).
            const auto stale = std::chrono::steady_clock::now() - open_answer_limit;
            for (auto& [connection, s] : state_[shard]->sessions) {
                if (s->state == session::phase::waiting_owner ||
                    (s->state == session::phase::opening && s->asked < stale)) {
                    reopen(*s);
                }
            }
        });
    }
}

}  // namespace tern::cluster::detail
