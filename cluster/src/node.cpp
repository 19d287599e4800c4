// A cluster node's lifecycle and its control loop: ownership terms begun and ended as the
// streams' leaders move, heartbeats, and the replicas' readers kept on this node's own copy.
// What operators ask of it is in node_admin.cpp; its parts are in node_parts.hpp.
#include <tern/cluster/node.hpp>

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <tern/cluster/ownership.hpp>

#include "bus_subjects.hpp"
#include "node_parts.hpp"

namespace tern::cluster {

namespace {
// How often each replica's reader is asked where its consumer lives.
constexpr std::chrono::seconds placement_period{15};

// Whether the node named `self` holds a current copy of the stream: it leads it, or the leader
// lists it as a current, online replica.
bool holds_current_copy(const stream_state& s, const std::string& self) {
    if (s.leader == self) return true;
    for (const auto& r : s.replicas) {
        if (r.name == self) return r.current && !r.offline;
    }
    return false;
}

// Whether the stream is known to have no copy on the node named `self`: it has a leader, and
// neither the leader nor its followers are `self` (more nodes than replicas). Unknown while
// there is no leader, as during an election.
bool copy_elsewhere(const stream_state& s, const std::string& self) {
    if (s.leader.empty() || s.leader == self) return false;
    return std::none_of(s.replicas.begin(), s.replicas.end(),
                        [&](const replica_state& r) { return r.name == self; });
}
}  // namespace

node::node(node_settings settings, core::router& shards, storage::store& store,
           storage::commit_writer& writer, const core::limits& limits, core::telemetry& telemetry,
           const core::clock& clock)
    : parts_(std::make_unique<parts>(std::move(settings), shards, store, writer, limits, telemetry,
                                     clock)) {
    auto& p = *parts_;
    p.link = std::make_unique<nats_link>(
        p.settings.nats, link_observer{[] {
                                           spdlog::warn(
                                               "cluster: NATS connection lost; "
                                               "reconnecting");
                                       },
                                       [&p] {
                                           spdlog::info("cluster: NATS connection back");
                                           p.wake();
                                       }});
    auto publishing = p.settings.nats;
    publishing.name += "-publisher";
    publishing.send_asap = true;
    p.publisher = std::make_unique<nats_link>(publishing);
    p.settings.log.home_server = p.settings.name;  // each replica reads its own server's copy
    for (auto& slot : p.slots) {
        slot->log =
            std::make_unique<partition_log>(*p.link, slot->id, p.settings.log, p.publisher.get());
        auto* raw = slot.get();
        slot->rep =
            std::make_unique<replica>(slot->id, *slot->log, p.store, p.writer,
                                      [raw](std::uint64_t sequence, storage::entry_result outcome) {
                                          std::shared_ptr<detail::term> t;
                                          {
                                              std::lock_guard lock(raw->mutex);
                                              t = raw->term;
                                          }
                                          if (t) t->log->applied(sequence, std::move(outcome));
                                      });
        slot->rep->set_durable(false);  // a standby until a term begins
    }
    p.bus = std::make_unique<detail::bus>(*p.publisher, p.settings.observer);
    p.host = std::make_unique<detail::session_host>(
        p.settings.name, *p.bus, p.shards, p.map,
        [&p](std::uint32_t partition) { return p.term_of(partition); },
        // A quarter of a connection's queue: the gateway's half-full mark leaves room for live
        // pushes on top.
        detail::flow_window{limits.outbound_queue_frames / 4, limits.outbound_queue_bytes / 4});
    p.relay = std::make_unique<detail::relay>(
        p.settings.name, *p.bus, p.shards, p.map,
        [&p](std::uint32_t partition) { return p.leader_of(partition); });
}

node::~node() { stop(); }

void node::start() {
    auto& p = *parts_;
    p.subscriptions.push_back(
        p.link->subscribe(detail::owner_inbox(p.settings.name),
                          [&p](nats_message m) { p.host->on_message(data_of(m.get())); }));
    p.subscriptions.push_back(
        p.link->subscribe(detail::gateway_inbox(p.settings.name),
                          [&p](nats_message m) { p.relay->on_message(data_of(m.get())); }));
    p.subscriptions.push_back(
        p.link->subscribe(detail::leader_advisories, [&p](nats_message) { p.wake(); }));
    p.subscriptions.push_back(p.link->subscribe(detail::admin_inbox(p.settings.name),
                                                [&p](nats_message m) { p.kick_asked(m.get()); }));
    p.subscriptions.push_back(p.link->subscribe(detail::policy_inbox(p.settings.name),
                                                [&p](nats_message m) { p.policy_asked(m.get()); }));
    p.subscriptions.push_back(p.link->subscribe("tern.alive.*", [&p](nats_message m) {
        p.heard_from(natsMsg_GetSubject(m.get()), data_of(m.get()));
    }));
    p.control = std::thread([&p] {
        pthread_setname_np(pthread_self(), "tern-cluster");
        p.run();
    });
}

void node::stop() {
    auto& p = *parts_;
    {
        std::lock_guard lock(p.mutex);
        if (p.stopping) return;
        p.stopping = true;
        p.changed.notify_all();
    }
    if (p.control.joinable()) p.control.join();
    // Leadership first: a partition this node leads would otherwise wait for this ternd to
    // come back (its nats-server keeps leading), and a stepdown takes milliseconds.
    for (auto& slot : p.slots) {
        std::string leader;
        {
            std::lock_guard lock(slot->mutex);
            leader = slot->leader;
        }
        if (leader != p.settings.name || !p.link->connected()) continue;
        try {
            slot->log->step_down();
            spdlog::info("cluster: partition {}: leadership handed over", slot->id);
        } catch (const std::exception& e) {
            spdlog::warn("cluster: partition {}: stepdown failed: {}", slot->id, e.what());
        }
    }
    p.subscriptions.clear();
    for (auto& slot : p.slots) p.end_term(*slot, "the node is stopping");
    // Ephemeral consumers go with the connection; deleting each one by one would wait for the
    // server (seconds apiece when it is gone too).
    p.link->close();
    p.publisher->close();
    for (auto& slot : p.slots) slot->rep->stop();
}

void node::drain(std::chrono::milliseconds window) {
    parts_->step_down_all = true;
    parts_->wake();
    parts_->relay->drain(window);
}

core::frame_handler& node::gateway() { return *parts_->relay; }

const std::string& node::name() const noexcept { return parts_->settings.name; }

void node::parts::run() {
    for (;;) {
        for (auto& slot : slots) {
            {
                std::lock_guard lock(mutex);
                if (stopping) return;  // a round can take seconds while NATS is away
            }
            beat();
            look_at(*slot);
        }
        relay->retry_waiting();
        beat();
        std::unique_lock lock(mutex);
        changed.wait_for(lock, settings.poll_interval, [this] { return stopping || woken; });
        if (stopping) return;
        woken = false;
    }
}

void node::parts::look_at(partition_slot& slot) {
    try {
        if (!slot.reading) {
            if (slot.placed_here()) {
                start_reading(slot);
            } else if (const auto stream = slot.log->info()) {
                follow(slot, *stream, false);  // no copy here: its leader, for the relay
            }
            if (!slot.reading) return;
        }
        if (slot.rep->status().halted.empty()) compare_with_peers(slot);
        // Applied first, then the stream: the replica keeps applying meanwhile, and the other
        // order could see it past a correct last sequence (ownership.hpp).
        const auto status = slot.rep->status();
        const auto stream = slot.log->info();
        partition_view view;
        view.applied = status.applied;
        view.halted = !status.halted.empty();
        view.draining = step_down_all;
        if (stream) {
            view.leader = stream->leader;
            view.last_seq = stream->last_seq;
            slot.rep->log_starts_at(stream->first_seq);
            view.halted = !slot.rep->status().halted.empty();
            if (copy_elsewhere(*stream, settings.name)) return stop_reading(slot, *stream);
        }
        const bool stream_current = stream && holds_current_copy(*stream, settings.name);
        follow(slot, stream ? *stream : stream_state{}, stream_current);
        keep_reader_home(slot, view.leader, stream_current);
        std::shared_ptr<detail::term> current = term_of(slot.id);
        if (current && current->log->ended()) {
            end_term(slot, "its log refused an append");
            current.reset();
        }
        view.owning = current != nullptr;
        if (leader_silent(slot, view.leader)) return;
        switch (decide_ownership(settings.name, view)) {
            case ownership_action::begin_term:
                return begin_term(slot, status);
            case ownership_action::end_term:
                return end_term(slot, view.leader == settings.name
                                          ? "this node cannot serve it"
                                          : "leadership moved to " + view.leader);
            case ownership_action::step_down:
                spdlog::warn("cluster: partition {}: handing leadership away ({})", slot.id,
                             view.halted ? slot.rep->status().halted : "draining");
                slot.log->step_down();
                return;
            case ownership_action::diverged: {
                std::lock_guard lock(slot.mutex);
                if (slot.problem.empty()) {
                    slot.problem = "this node applied entry " + std::to_string(view.applied) +
                                   " but the log ends at " + std::to_string(view.last_seq) +
                                   ": the log lost acknowledged entries";
                    spdlog::error("cluster: partition {}: {}", slot.id, slot.problem);
                }
                return;
            }
            case ownership_action::catch_up:
            case ownership_action::none:
                return;
        }
    } catch (const std::exception& e) {
        spdlog::warn("cluster: partition {}: {}", slot.id, e.what());
    }
}

void node::parts::start_reading(partition_slot& slot) {
    const auto stream = slot.log->ensure();
    // Whether this node applies the partition is known once the stream has a leader (and a
    // reader cannot be made before that anyway): until then, next round.
    if (stream.leader.empty() || copy_elsewhere(stream, settings.name)) {
        follow(slot, stream, false);
        if (!slot.placed_here()) {
            spdlog::info(
                "cluster: partition {}: its stream has no copy on this node's nats-server; "
                "this node does not apply it and relays its requests to its owner",
                slot.id);
        }
        return;
    }
    // Halted at once when the stream no longer reaches back to this store's position: making a
    // reader first can take seconds while this node's server has no copy yet.
    slot.rep->start(stream.first_seq);
    slot.reading = true;
    slot.read_via.clear();
    if (const auto status = slot.rep->status(); !status.halted.empty()) {
        spdlog::error("cluster: partition {}: {}", slot.id, status.halted);
    } else {
        spdlog::info("cluster: partition {}: reading its log on after entry {} (this node's store)",
                     slot.id, status.applied);
    }
}

void node::parts::stop_reading(partition_slot& slot, const stream_state& stream) {
    spdlog::warn(
        "cluster: partition {}: its stream's copy on this node's nats-server is gone (moved or "
        "removed); this node stops applying it at entry {}",
        slot.id, slot.rep->status().applied);
    end_term(slot, "its stream has no copy on this node");
    slot.rep->stop();
    slot.reading = false;
    follow(slot, stream, false);
}

void node::parts::follow(partition_slot& slot, const stream_state& stream, bool stream_current) {
    bool moved = false;
    {
        std::lock_guard lock(slot.mutex);
        moved = slot.leader != stream.leader;
        slot.leader = stream.leader;
        slot.last_seq = stream.last_seq;
        slot.stream_current = stream_current;
        if (!stream.leader.empty()) slot.has_copy = !copy_elsewhere(stream, settings.name);
    }
    if (moved) {
        spdlog::info("cluster: partition {} is led by {}", slot.id,
                     stream.leader.empty() ? "nobody (an election)" : stream.leader);
        relay->leader_changed(slot.id);
    }
    if (!slot.reading) leader_silent(slot, stream.leader);
}

void node::parts::keep_reader_home(partition_slot& slot, const std::string& leader,
                                   bool stream_current) {
    if (!leader.empty() && (leader != slot.read_via || !slot.rep->reading())) {
        // A reader on its own server's copy reads on whoever leads; one placed elsewhere is
        // made again (replica::read_again says why), and so is one that could not be made (no
        // JetStream API during an election: next round). Never needlessly: while JetStream
        // recovers from a lost node, making a consumer can wait seconds.
        if (!slot.rep->reading_at_home()) slot.rep->read_again();
        slot.read_via = leader;
        slot.placement_checked = std::chrono::steady_clock::now();
    } else if (stream_current && slot.rep->reading() &&
               std::chrono::steady_clock::now() - slot.placement_checked > placement_period) {
        // libnats re-creates an ordered consumer by itself (after a gap, a lost connection) and
        // JetStream may place it on another node's copy. This node's own server holds a current
        // copy, so a reader placed elsewhere can come home.
        slot.placement_checked = std::chrono::steady_clock::now();
        if (!slot.rep->still_reading_at_home()) {
            spdlog::info(
                "cluster: partition {}: its reader moved off this node's copy; reading again "
                "from this node's",
                slot.id);
            slot.rep->read_again();
        }
    }
}

bool node::parts::leader_silent(partition_slot& slot, const std::string& leader) {
    if (leader.empty() || leader == settings.name || !silent(leader) ||
        std::chrono::steady_clock::now() - slot.asked_away <= silent_limit) {
        return false;
    }
    // Its nats-server leads but its ternd is gone: nobody serves the partition. Ask the stream
    // for another leader (it may pick the same node again: asked again later).
    slot.asked_away = std::chrono::steady_clock::now();
    spdlog::warn(
        "cluster: partition {}: its leader {} has no live ternd; asking for another leader",
        slot.id, leader);
    slot.log->step_down();
    return true;
}

void node::parts::beat() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_called > silent_limit) {
        // This node itself stood still (paused, starved, or blocked on NATS): what it heard
        // from the others is as old as the stall, and the heartbeats that arrived meanwhile
        // may not be read yet. Judge their silence afresh, or a node back from a pause would
        // ask a live leader to step down.
        spdlog::warn(
            "cluster: this node's control loop stood still for {} ms; its peers' silence is "
            "judged afresh",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_called).count());
        started = now;
    }
    last_called = now;
    if (now - last_beat < std::chrono::milliseconds(500)) return;
    last_beat = now;
    v1::Alive alive;
    for (const auto& slot : slots) {
        if (!slot->reading) continue;  // only what this node applies
        const auto status = slot->rep->status();
        auto& r = *alive.add_replicas();
        r.set_partition(slot->id);
        r.set_applied(status.applied);
        r.set_digest(status.digest);
    }
    bus->send("tern.alive." + settings.name, alive.SerializeAsString());
}

void node::parts::heard_from(std::string_view subject, std::string_view payload) {
    const std::string peer(subject.substr(subject.rfind('.') + 1));
    if (peer == settings.name) return;
    {
        std::lock_guard lock(alive_mutex);
        heard[peer] = std::chrono::steady_clock::now();
    }
    v1::Alive alive;
    if (!alive.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
    for (const auto& r : alive.replicas()) {
        peers.heard(peer, r.partition(), {r.applied(), r.digest()});
    }
}

void node::parts::compare_with_peers(partition_slot& slot) {
    const auto v =
        peers.compare(slot.id, [&slot](std::uint64_t s) { return slot.rep->digest_at(s); });
    if (!v.outvoted()) return;
    const auto why = "this node's copy of the log diverged from its peers' (" + v.detail + "; " +
                     std::to_string(v.disagree) + " peer(s) disagree, " + std::to_string(v.agree) +
                     " agree): rebuild this node from a healthy node's checkpoint "
                     "(docs/cluster.md, \"A diverged replica\")";
    spdlog::error("cluster: partition {}: {}", slot.id, why);
    slot.rep->halt(why);
}

bool node::parts::silent(const std::string& node) {
    const auto now = std::chrono::steady_clock::now();
    if (now - started < silent_limit) return false;  // this node may not have heard anyone yet
    std::lock_guard lock(alive_mutex);
    const auto it = heard.find(node);
    return it == heard.end() || now - it->second > silent_limit;
}

void node::parts::begin_term(partition_slot& slot, const replica_status& applied_to) {
    const auto applied = applied_to.applied;
    auto log = std::make_shared<owner_log>(
        *slot.log, applied, applied_to.digest, [this](const std::string&) { wake(); },
        owner_log::default_in_flight, settings.observer.appended);
    auto t = std::make_shared<detail::term>(slot.id, ++terms, shards, log, store, limits, telemetry,
                                            clock, settings.pushes,
                                            [this, partition = slot.id](storage::tenant_id tenant) {
                                                return map.of(tenant) == partition;
                                            });
    slot.rep->set_durable(true);  // before any entry of the term can be applied
    {
        std::lock_guard lock(slot.mutex);
        slot.term = t;
    }
    spdlog::info("cluster: partition {}: this node owns it from entry {} (term {})", slot.id,
                 applied + 1, t->number);
    if (settings.observer.owner_changed) settings.observer.owner_changed(true);
}

void node::parts::end_term(partition_slot& slot, const std::string& why) {
    std::shared_ptr<detail::term> t;
    {
        std::lock_guard lock(slot.mutex);
        t = std::move(slot.term);
        slot.term = nullptr;
    }
    if (!t) return;
    slot.rep->set_durable(false);
    spdlog::info("cluster: partition {}: term {} ends: {}", slot.id, t->number, why);
    if (settings.observer.owner_changed) settings.observer.owner_changed(false);
    t->routes.close();
    t->log->end(why);
    host->term_ended(t);
    // The core goes once no shard is still inside one of its tasks.
    t->routes.after_running([t]() mutable { t.reset(); });
}

}  // namespace tern::cluster
