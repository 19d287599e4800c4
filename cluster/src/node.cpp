#include <tern/cluster/node.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <tern/cluster/ownership.hpp>
#include <tern/cluster/partition_map.hpp>
#include <tern/cluster/replica.hpp>

#include "bus.hpp"
#include "bus_subjects.hpp"
#include "peer_digests.hpp"
#include "relay.hpp"
#include "session_host.hpp"
#include "term.hpp"
#include "tern/cluster/v1/bus.pb.h"

namespace tern::cluster {

namespace {
// A ternd not heard from for this long is taken for gone (each sends every poll interval).
constexpr std::chrono::seconds silent_limit{5};
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
}  // namespace

// One partition on this node: its log, its replica, and its term while this node owns it.
struct partition_slot {
    std::uint32_t id = 0;
    std::unique_ptr<partition_log> log;
    std::unique_ptr<replica> rep;
    bool reading = false;  // the replica started (control thread only)
    std::string read_via;  // the leader when the replica's reader was made (control thread)

    mutable std::mutex mutex;  // the fields below
    std::shared_ptr<detail::term> term;
    std::string leader;
    std::uint64_t last_seq = 0;
    // This node's nats-server holds a current copy of the stream (it leads, or its replica is
    // caught up): until then a rolling restart must not take the next node down.
    bool stream_current = false;
    std::string problem;  // why this node cannot serve it, beyond the replica's own halt
    std::chrono::steady_clock::time_point asked_away{};  // the last stepdown for a silent leader
    // When the reader's placement was last asked of the server (control thread).
    std::chrono::steady_clock::time_point placement_checked{};
};

struct node::parts {
    parts(node_settings s, core::router& sh, storage::store& st, storage::commit_writer& w,
          const core::limits& l, core::telemetry& t, const core::clock& c)
        : settings(std::move(s)),
          shards(sh),
          store(st),
          writer(w),
          limits(l),
          telemetry(t),
          clock(c),
          map(settings.log.partitions, settings.placements) {
        for (std::uint32_t p = 0; p < settings.log.partitions; ++p) {
            auto slot = std::make_unique<partition_slot>();
            slot->id = p;
            slots.push_back(std::move(slot));
        }
    }

    void run();
    void look_at(partition_slot& slot);
    // A term from the replica's position (`applied_to`, read before the stream's information).
    void begin_term(partition_slot& slot, const replica_status& applied_to);
    void end_term(partition_slot& slot, const std::string& why);
    void wake() {
        std::lock_guard lock(mutex);
        woken = true;
        changed.notify_all();
    }
    [[nodiscard]] std::shared_ptr<detail::term> term_of(std::uint32_t p) const {
        if (p >= slots.size()) return nullptr;
        std::lock_guard lock(slots[p]->mutex);
        return slots[p]->term;
    }
    [[nodiscard]] std::string leader_of(std::uint32_t p) const {
        if (p >= slots.size()) return {};
        std::lock_guard lock(slots[p]->mutex);
        return slots[p]->leader;
    }

    node_settings settings;
    core::router& shards;
    storage::store& store;
    storage::commit_writer& writer;
    const core::limits& limits;
    core::telemetry& telemetry;
    const core::clock& clock;
    partition_map map;
    std::vector<std::unique_ptr<partition_slot>> slots;
    std::unique_ptr<detail::bus> bus;
    std::unique_ptr<detail::session_host> host;
    std::unique_ptr<detail::relay> relay;
    std::vector<std::unique_ptr<subscription>> subscriptions;
    std::uint64_t terms = 0;

    std::mutex mutex;
    std::condition_variable changed;
    bool woken = false;
    bool stopping = false;
    std::atomic<bool> step_down_all{false};
    std::thread control;

    // When each other ternd was last heard from (tern.alive.<node>, every round of each node's
    // control loop): a partition led by a nats-server whose ternd is silent is handed away.
    std::mutex alive_mutex;
    std::map<std::string, std::chrono::steady_clock::time_point> heard;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    [[nodiscard]] bool silent(const std::string& node);
    // Tells the other nodes this ternd lives and how far each replica applied, at most twice a
    // second (a round of the control loop can take seconds while NATS is slow, so it beats
    // between partitions too).
    void beat() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_beat < std::chrono::milliseconds(500)) return;
        last_beat = now;
        v1::Alive alive;
        for (const auto& slot : slots) {
            const auto status = slot->rep->status();
            auto& r = *alive.add_replicas();
            r.set_partition(slot->id);
            r.set_applied(status.applied);
            r.set_digest(status.digest);
        }
        bus->send("tern.alive." + settings.name, alive.SerializeAsString());
    }
    // A KickRequest from another node's admin listener: kicks through the partition's term if
    // this node owns it, and answers on the request's reply subject.
    void kick_asked(natsMsg* request);
    // A heartbeat from another node: when it was heard, and its replicas' positions.
    void heard_from(std::string_view subject, std::string_view payload);
    // Halts this node's replica of the partition when more peers disagree with its digest than
    // agree (peer_digests.hpp).
    void compare_with_peers(partition_slot& slot);
    detail::peer_digests peers;
    std::chrono::steady_clock::time_point last_beat{};
    // Last, so destroyed first: its callbacks (wake) use the members above. `link` holds the
    // subscriptions and the stream readers; `publisher` (send_asap) carries what this node
    // publishes on its hot path, the appends and the bus messages, each written at once.
    std::unique_ptr<nats_link> publisher;
    std::unique_ptr<nats_link> link;
};

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
        [&p](std::uint32_t partition) { return p.term_of(partition); });
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

core::frame_handler& node::gateway() { return *parts_->relay; }

const std::string& node::name() const noexcept { return parts_->settings.name; }

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
        if (r.halted.empty()) r.halted = slot->problem;
        out.push_back(std::move(r));
    }
    return out;
}

std::optional<std::string> node::remove_peer(std::uint32_t partition, const std::string& peer) {
    auto& p = *parts_;
    if (partition >= p.slots.size()) {
        return "partition " + std::to_string(partition) + " does not exist (there are " +
               std::to_string(p.slots.size()) + ")";
    }
    const bool valid_name =
        !peer.empty() && peer.size() <= 64 && std::all_of(peer.begin(), peer.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        });
    if (!valid_name) return "peer: a node name, 1 to 64 of A-Z a-z 0-9 - _";
    try {
        p.slots[partition]->log->remove_peer(peer);
    } catch (const nats_error& e) {
        spdlog::warn("cluster: partition {}: removing {}'s copy of its stream: {}", partition, peer,
                     e.what());
        return e.what();
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
        if (r.leader.empty() || !r.halted.empty() || r.applied < r.last_seq || !r.stream_current) {
            return false;
        }
    }
    return true;
}

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
            // Halted at once when the stream no longer reaches back to this store's position:
            // making a reader first can take seconds while this node's server has no copy yet.
            slot.rep->start(slot.log->ensure().first_seq);
            slot.reading = true;
            if (const auto status = slot.rep->status(); !status.halted.empty()) {
                spdlog::error("cluster: partition {}: {}", slot.id, status.halted);
            } else {
                spdlog::info(
                    "cluster: partition {}: reading its log on after entry {} (this node's "
                    "store)",
                    slot.id, status.applied);
            }
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
        }
        bool moved = false;
        std::shared_ptr<detail::term> current;
        const bool stream_current = stream && holds_current_copy(*stream, settings.name);
        {
            std::lock_guard lock(slot.mutex);
            moved = slot.leader != view.leader;
            slot.leader = view.leader;
            slot.last_seq = view.last_seq;
            slot.stream_current = stream_current;
            current = slot.term;
        }
        if (moved) {
            spdlog::info("cluster: partition {} is led by {}", slot.id,
                         view.leader.empty() ? "nobody (an election)" : view.leader);
            relay->leader_changed(slot.id);
        }
        if (!view.leader.empty() && (view.leader != slot.read_via || !slot.rep->reading())) {
            // A reader on its own server's copy reads on whoever leads; one placed elsewhere
            // is made again (replica::read_again says why), and so is one that could not be
            // made (no JetStream API during an election: next round). Never needlessly: while
            // JetStream recovers from a lost node, making a consumer can wait seconds.
            if (!slot.rep->reading_at_home()) slot.rep->read_again();
            slot.read_via = view.leader;
            slot.placement_checked = std::chrono::steady_clock::now();
        } else if (stream_current && slot.rep->reading() &&
                   std::chrono::steady_clock::now() - slot.placement_checked > placement_period) {
            // libnats re-creates an ordered consumer by itself (after a gap, a lost connection)
            // and JetStream may place it on another node's copy. This node's own server holds
            // a current copy, so a reader placed elsewhere can come home.
            slot.placement_checked = std::chrono::steady_clock::now();
            if (!slot.rep->still_reading_at_home()) {
                spdlog::info(
                    "cluster: partition {}: its reader moved off this node's copy; "
                    "reading again from this node's",
                    slot.id);
                slot.rep->read_again();
            }
        }
        if (current && current->log->ended()) {
            end_term(slot, "its log refused an append");
            current.reset();
        }
        view.owning = current != nullptr;
        if (!view.leader.empty() && view.leader != settings.name && silent(view.leader) &&
            std::chrono::steady_clock::now() - slot.asked_away > silent_limit) {
            // Its nats-server leads but its ternd is gone: nobody serves the partition. Ask the
            // stream for another leader (it may pick the same node again: asked again later).
            slot.asked_away = std::chrono::steady_clock::now();
            spdlog::warn(
                "cluster: partition {}: its leader {} has no live ternd; asking for "
                "another leader",
                slot.id, view.leader);
            slot.log->step_down();
            return;
        }
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
                                            clock);
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
