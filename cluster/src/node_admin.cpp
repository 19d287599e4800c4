// What operators (the admin listener) and other nodes (kick and policy requests) ask of a
// cluster node: its connections, kicks, tenants' policies, the partitions' state, readiness, and
// a stream copy's removal.
#include <algorithm>
#include <cctype>
#include <future>

#include <spdlog/spdlog.h>

#include "bus_subjects.hpp"
#include "node_parts.hpp"
#include "tern/v1/notifications.pb.h"

namespace tern::cluster {

std::optional<std::vector<core::device_info>> node::devices(std::uint64_t after_id,
                                                            std::size_t limit,
                                                            std::chrono::milliseconds wait) {
    auto promise = std::make_shared<std::promise<std::vector<core::device_info>>>();
    auto answer = promise->get_future();
    parts_->relay->list_devices(after_id, limit, [promise](std::vector<core::device_info> list) {
        promise->set_value(std::move(list));
    });
    if (answer.wait_for(wait) != std::future_status::ready) return std::nullopt;
    return answer.get();
}

void node::forget_push_token(storage::tenant_id tenant, storage::user_id user,
                             storage::device_id device, const std::string& token) {
    if (const auto t = parts_->term_of(parts_->map.of(tenant))) {
        t->service.forget_push_token(tenant, user, device, token);
    }
}

std::optional<std::size_t> node::kick(storage::tenant_id tenant, storage::user_id user,
                                      std::optional<storage::device_id> device,
                                      std::chrono::milliseconds wait) {
    auto& p = *parts_;
    const auto partition = p.map.of(tenant);
    if (const auto t = p.term_of(partition)) {  // this node owns it
        auto promise = std::make_shared<std::promise<std::size_t>>();
        auto answer = promise->get_future();
        t->service.kick(tenant, user, device,
                        [promise](std::size_t kicked) { promise->set_value(kicked); });
        if (answer.wait_for(wait) != std::future_status::ready) return std::nullopt;
        return answer.get();
    }
    const auto leader = p.leader_of(partition);
    if (leader.empty()) return std::nullopt;
    v1::KickRequest ask;
    ask.set_tenant(tenant);
    ask.set_user(user);
    if (device) ask.set_device(*device);
    try {
        const auto reply =
            p.link->request(detail::admin_inbox(leader), ask.SerializeAsString(), wait);
        const auto bytes = data_of(reply.get());
        v1::KickReply r;
        if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !r.owner()) {
            return std::nullopt;  // not the owner (any more): the caller tries again
        }
        return static_cast<std::size_t>(r.kicked());
    } catch (const nats_error& e) {
        spdlog::warn("cluster: kick: asking {}, the owner of partition {}: {}", leader, partition,
                     e.what());
        return std::nullopt;
    }
}

namespace {

using policy_status = core::policy_outcome::status;

v1::PolicyReply::Outcome wire_outcome(policy_status s) {
    switch (s) {
        case policy_status::stored:
            return v1::PolicyReply::STORED;
        case policy_status::invalid:
            return v1::PolicyReply::INVALID;
        case policy_status::unavailable:
            break;
    }
    return v1::PolicyReply::UNAVAILABLE;
}

core::policy_outcome outcome_of(const v1::PolicyReply& r) {
    switch (r.outcome()) {
        case v1::PolicyReply::STORED:
            return {policy_status::stored, r.message()};
        case v1::PolicyReply::INVALID:
            return {policy_status::invalid, r.message()};
        default:
            return {policy_status::unavailable, r.message()};
    }
}

// The owner's answer to a policy request, from its term's core: `answer` runs once, on this
// thread (a read, a refusal) or on the commit writer's (a replacement).
void serve_policy(detail::term& t, const v1::PolicyRequest& ask,
                  std::function<void(v1::PolicyReply)> answer) {
    v1::PolicyReply r;
    r.set_owner(true);
    if (ask.audit()) {
        tern::v1::UrgentAudit audit;
        const auto limit = std::clamp<std::uint32_t>(ask.audit_limit(), 1, 1000);
        if (!t.service.urgent_audit(ask.tenant(), ask.audit_from_ms(), limit, audit)) {
            r.set_outcome(v1::PolicyReply::UNAVAILABLE);
            r.set_message("store read failed; retry");
        } else {
            r.set_policy(audit.SerializeAsString());
        }
        return answer(std::move(r));
    }
    if (!ask.replace()) {
        const auto stored = t.service.policy(ask.tenant());
        if (!stored) {
            r.set_outcome(v1::PolicyReply::UNAVAILABLE);
            r.set_message("store read failed (" + stored.error().message() + "); retry");
        } else if (*stored) {
            r.set_policy(**stored);
        }
        return answer(std::move(r));
    }
    tern::v1::TenantPolicy policy;
    if (!policy.ParseFromString(ask.policy())) {
        r.set_outcome(v1::PolicyReply::INVALID);
        r.set_message("not an encoded tern.v1.TenantPolicy");
        return answer(std::move(r));
    }
    t.service.set_policy(ask.tenant(), policy,
                         [answer = std::move(answer)](core::policy_outcome o) {
                             v1::PolicyReply done;
                             done.set_owner(true);
                             done.set_outcome(wire_outcome(o.result));
                             done.set_message(o.message);
                             answer(std::move(done));
                         });
}

}  // namespace

std::optional<v1::PolicyReply> node::parts::ask_policy(const v1::PolicyRequest& ask,
                                                       std::chrono::milliseconds wait) {
    const auto partition = map.of(ask.tenant());
    if (const auto t = term_of(partition)) {  // this node owns it
        auto promise = std::make_shared<std::promise<v1::PolicyReply>>();
        auto answer = promise->get_future();
        serve_policy(*t, ask, [promise](v1::PolicyReply r) { promise->set_value(std::move(r)); });
        if (answer.wait_for(wait) != std::future_status::ready) return std::nullopt;
        return answer.get();
    }
    const auto leader = leader_of(partition);
    if (leader.empty()) return std::nullopt;
    try {
        const auto reply =
            link->request(detail::policy_inbox(leader), ask.SerializeAsString(), wait);
        const auto bytes = data_of(reply.get());
        v1::PolicyReply r;
        if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !r.owner()) {
            return std::nullopt;  // not the owner (any more): the caller tries again
        }
        return r;
    } catch (const nats_error& e) {
        spdlog::warn("cluster: policy of tenant {}: asking {}, the owner of partition {}: {}",
                     ask.tenant(), leader, partition, e.what());
        return std::nullopt;
    }
}

std::optional<core::policy_outcome> node::set_policy(storage::tenant_id tenant,
                                                     const std::string& policy,
                                                     std::chrono::milliseconds wait) {
    v1::PolicyRequest ask;
    ask.set_tenant(tenant);
    ask.set_replace(true);
    ask.set_policy(policy);
    const auto reply = parts_->ask_policy(ask, wait);
    if (!reply) return std::nullopt;
    return outcome_of(*reply);
}

std::optional<node::owner_read> node::policy(storage::tenant_id tenant,
                                             std::chrono::milliseconds wait) {
    v1::PolicyRequest ask;
    ask.set_tenant(tenant);
    const auto reply = parts_->ask_policy(ask, wait);
    if (!reply) return std::nullopt;
    return owner_read{outcome_of(*reply), reply->policy()};
}

std::optional<node::owner_read> node::urgent_audit(storage::tenant_id tenant, std::int64_t from_ms,
                                                   std::size_t limit,
                                                   std::chrono::milliseconds wait) {
    v1::PolicyRequest ask;
    ask.set_tenant(tenant);
    ask.set_audit(true);
    ask.set_audit_from_ms(from_ms);
    ask.set_audit_limit(static_cast<std::uint32_t>(limit));
    const auto reply = parts_->ask_policy(ask, wait);
    if (!reply) return std::nullopt;
    return owner_read{outcome_of(*reply), reply->policy()};
}

std::vector<partition_report> node::partitions() const {
    std::vector<partition_report> out;
    for (const auto& slot : parts_->slots) {
        partition_report r;
        r.partition = slot->id;
        const auto status = slot->rep->status();
        r.applied = status.applied;
        r.digest = status.digest;
        r.halted = status.halted;
        r.refused = status.refused;
        std::lock_guard lock(slot->mutex);
        r.leader = slot->leader;
        r.owner = slot->term != nullptr;
        r.last_seq = slot->last_seq;
        r.stream_current = slot->stream_current;
        r.has_copy = slot->has_copy;
        if (r.halted.empty()) r.halted = slot->problem;
        out.push_back(std::move(r));
    }
    return out;
}

std::optional<peer_removal_refused> node::remove_peer(std::uint32_t partition,
                                                      const std::string& peer) {
    auto& p = *parts_;
    if (partition >= p.slots.size()) {
        return peer_removal_refused{true, "partition " + std::to_string(partition) +
                                              " does not exist (there are " +
                                              std::to_string(p.slots.size()) + ")"};
    }
    const bool valid_name =
        !peer.empty() && peer.size() <= 64 && std::all_of(peer.begin(), peer.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        });
    if (!valid_name)
        return peer_removal_refused{true, "peer: a node name, 1 to 64 of A-Z a-z 0-9 - _"};
    try {
        p.slots[partition]->log->remove_peer(peer);
    } catch (const nats_error& e) {
        spdlog::warn("cluster: partition {}: removing {}'s copy of its stream: {}", partition, peer,
                     e.what());
        // No answer (a timeout, no responder, JetStream "temporarily unavailable" during an
        // election) is worth asking again; anything else JetStream said is a refusal.
        const bool busy = e.status() == NATS_TIMEOUT || e.status() == NATS_NO_RESPONDERS ||
                          e.js_code() == JSClusterNotAvailErr;
        return peer_removal_refused{!busy, e.what()};
    }
    spdlog::warn(
        "cluster: partition {}: {}'s copy of its stream removed at an operator's request; "
        "JetStream places a fresh one",
        partition, peer);
    p.wake();
    return std::nullopt;
}

bool node::ready() const {
    for (const auto& r : partitions()) {
        if (!r.has_copy && !r.leader.empty()) continue;  // applied elsewhere: only its leader
        if (r.leader.empty() || !r.halted.empty() || r.applied < r.last_seq || !r.stream_current) {
            return false;
        }
    }
    return true;
}

void node::parts::kick_asked(natsMsg* request) {
    const char* reply_to = natsMsg_GetReply(request);
    const auto bytes = data_of(request);
    v1::KickRequest ask;
    if (!reply_to || !ask.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        bus->malformed("an admin request", bytes.size());
        return;
    }
    const auto answer = [this, to = std::string(reply_to)](bool owner, std::size_t kicked) {
        v1::KickReply r;
        r.set_owner(owner);
        r.set_kicked(kicked);
        bus->send(to, r.SerializeAsString());
    };
    const auto t = term_of(map.of(ask.tenant()));
    if (!t) return answer(false, 0);
    t->service.kick(ask.tenant(), ask.user(),
                    ask.has_device() ? std::optional(ask.device()) : std::nullopt,
                    [answer](std::size_t kicked) { answer(true, kicked); });
}

void node::parts::policy_asked(natsMsg* request) {
    const char* reply_to = natsMsg_GetReply(request);
    const auto bytes = data_of(request);
    v1::PolicyRequest ask;
    if (!reply_to || !ask.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        bus->malformed("a policy request", bytes.size());
        return;
    }
    const auto answer = [this, to = std::string(reply_to)](const v1::PolicyReply& r) {
        bus->send(to, r.SerializeAsString());
    };
    const auto t = term_of(map.of(ask.tenant()));
    if (!t) return answer(v1::PolicyReply{});  // owner false
    serve_policy(*t, ask, answer);
}

}  // namespace tern::cluster
