#include "session_host.hpp"

#include <map>

#include <spdlog/spdlog.h>

#include <tern/core/device_port.hpp>
#include <tern/storage/stable_hash.hpp>

#include "bus_subjects.hpp"
#include "tern/cluster/v1/bus.pb.h"

namespace tern::cluster::detail {

namespace pb = tern::cluster::v1;

namespace {

std::string serialize(const pb::OwnerToGateway& m) {
    std::string out;
    m.SerializeToString(&out);
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// A device connected to a gateway node, as the partition's core sees it.
class remote_device final : public core::device_port,
                            public std::enable_shared_from_this<remote_device> {
public:
    remote_device(session_host& host, std::shared_ptr<term> owner, std::string gateway,
                  std::uint64_t connection, core::requester who, std::size_t shard,
                  std::uint64_t id, const pb::SessionOpen& open, flow_window window)
        : host_(host),
          term_(std::move(owner)),
          gateway_(std::move(gateway)),
          connection_(connection),
          who_(who),
          shard_(shard),
          id_(id),
          transport_(open.transport()),
          remote_(open.remote()),
          connected_at_ms_(open.connected_at_ms() != 0 ? open.connected_at_ms() : now_ms()),
          flow_(window) {}

    [[nodiscard]] const core::requester& who() const noexcept override { return who_; }
    [[nodiscard]] std::size_t shard() const noexcept override { return shard_; }
    [[nodiscard]] std::uint64_t id() const noexcept override { return id_; }

    bool admit(const tern::v1::Frame& welcome) override {
        if (closed_) return false;
        admitted_ = true;
        pb::OwnerToGateway m;
        auto& a = *m.mutable_admitted();
        a.set_connection(connection_);
        *a.mutable_welcome() = welcome;
        host_.publish(shard_, gateway_, serialize(m));
        return true;
    }
    void send(const tern::v1::Frame& frame) override {
        if (closed_) return;
        pb::OwnerToGateway m;
        auto& f = *m.mutable_frame();
        f.set_connection(connection_);
        *f.mutable_frame() = frame;
        host_.publish(shard_, gateway_, serialize(m));
        flow_.sent(frame.ByteSizeLong() + frame_overhead, flow_clock::now());
    }
    bool push(std::uint64_t inbox_seq, const storage::event_bytes& event,
              core::notice announce) override {
        if (closed_) return true;
        host_.queue_push(shard_, gateway_, connection_, inbox_seq, event, announce);
        flow_.sent(event->size() + frame_overhead, flow_clock::now());
        return true;
    }
    // Room while less than the window is unconsumed: sent to the gateway and not yet reported
    // written to the device (SessionConsumed). What paces itself (a catch-up) waits on this, as
    // on a single node's connection queue; live pushes do not, and the gateway's connection
    // closes a device that falls too far behind.
    [[nodiscard]] bool has_room(std::size_t bytes) const noexcept override {
        if (closed_) return false;
        bool reset = false;
        const bool room = flow_.has_room(bytes, flow_clock::now(), &reset);
        if (reset) {
            spdlog::warn(
                "cluster: no flow report from gateway {} for its connection {} in {} s: taken "
                "for lost",
                gateway_, connection_, report_wait_limit.count());
        }
        return room;
    }
    [[nodiscard]] std::size_t queued_frames() const noexcept override { return flow_.unconsumed(); }
    // The gateway wrote `frames` of what this port sent (counted from the session's open here).
    void consumed(std::uint64_t frames) { flow_.consumed(frames, flow_clock::now()); }
    [[nodiscard]] bool closing() const noexcept override { return closed_; }
    void close(tern::v1::DisconnectReason reason, tern::v1::ErrorCode code,
               std::string message) override {
        if (closed_) return;
        closed_ = true;
        pb::OwnerToGateway m;
        auto& c = *m.mutable_close();
        c.set_connection(connection_);
        c.set_reason(reason);
        c.set_code(code);
        c.set_message(std::move(message));
        host_.publish(shard_, gateway_, serialize(m));
    }
    [[nodiscard]] core::device_info describe() override {
        return {id_,     who_,
                shard_,  transport_,
                remote_, connected_at_ms_,
                0,       gateway_ + "-" + std::to_string(connection_)};
    }

    // The term this session belongs to; null once it is gone. Held weakly: the term's core
    // holds this port, and a strong reference back would keep both alive for ever.
    [[nodiscard]] std::shared_ptr<term> owner() const noexcept { return term_.lock(); }
    [[nodiscard]] bool admitted() const noexcept { return admitted_; }
    void detach() noexcept { closed_ = true; }

private:
    session_host& host_;
    std::weak_ptr<term> term_;
    std::string gateway_;
    std::uint64_t connection_;
    core::requester who_;
    std::size_t shard_;
    std::uint64_t id_;
    std::string transport_;
    std::string remote_;
    std::int64_t connected_at_ms_;
    bool admitted_ = false;
    bool closed_ = false;

    // Flow control (shard_ only). Mutable: has_room, const to the core, opens the window again
    // after lost reports.
    mutable flow_sender flow_;
};

struct session_host::shard_state {
    struct key_hash {
        std::size_t operator()(const std::pair<std::string, std::uint64_t>& k) const noexcept {
            return std::hash<std::string>{}(k.first) ^ (k.second * 0x9e3779b97f4a7c15ULL);
        }
    };
    std::unordered_map<std::pair<std::string, std::uint64_t>, std::shared_ptr<remote_device>,
                       key_hash>
        sessions;
    // Pushes not yet sent, per gateway: events in the order they came, each once.
    std::map<std::string, pb::OwnerToGateway> pending;
    std::map<std::string, storage::event_bytes> last_event;  // the newest event per gateway
    bool flush_posted = false;
};

session_host::session_host(std::string node, bus& link, core::router& shards,
                           const partition_map& partitions, term_lookup terms, flow_window window)
    : node_(std::move(node)),
      link_(link),
      shards_(shards),
      partitions_(partitions),
      terms_(std::move(terms)),
      window_(window) {
    for (std::size_t i = 0; i < shards_.shard_count(); ++i) {
        state_.push_back(std::make_unique<shard_state>());
    }
}

session_host::~session_host() = default;

std::size_t session_host::shard_of(const std::string& gateway) const noexcept {
    return static_cast<std::size_t>(storage::stable_hash{}.feed(gateway).value() %
                                    shards_.shard_count());
}

void session_host::on_message(std::string_view bytes) {
    auto m = std::make_unique<pb::GatewayToOwner>();
    link_.received();
    if (!m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return link_.malformed("a gateway", bytes.size());
    }
    const auto shard = shard_of(m->session().gateway());
    shards_.post(shard, [this, shard, m = std::move(m)] { handle(shard, *m); });
}

void session_host::handle(std::size_t shard, const pb::GatewayToOwner& m) {
    auto& s = *state_[shard];
    const auto key = std::make_pair(m.session().gateway(), m.session().connection());
    switch (m.body_case()) {
        case pb::GatewayToOwner::kOpen: {
            const auto& open = m.open();
            const auto partition = partitions_.of(open.tenant());
            auto owner = terms_(partition);
            if (!owner || !owner->serving() || partition != open.partition()) {
                return not_owner(key.first, key.second, partition);
            }
            if (auto old = s.sessions.find(key); old != s.sessions.end()) {
                // A repeated open (the gateway re-opened): the old port ends first.
                auto port = old->second;
                s.sessions.erase(old);
                port->detach();
                if (auto t = port->owner(); t && port->admitted() && t->serving()) {
                    t->service.on_close(port);
                }
            }
            const core::requester who{open.tenant(),
                                      open.user(),
                                      open.device(),
                                      {open.roles().begin(), open.roles().end()}};
            auto port = std::make_shared<remote_device>(*this, owner, key.first, key.second, who,
                                                        shard, next_id_++, open, window_);
            s.sessions[key] = port;
            auto hello = open.hello();
            if (open.reopen()) hello.set_resume_inbox_seq(open.resume_after());
            owner->service.on_open(port, hello, open.welcome());
            return;
        }
        case pb::GatewayToOwner::kFrame: {
            auto it = s.sessions.find(key);
            auto t = it == s.sessions.end() ? nullptr : it->second->owner();
            if (!t || !t->serving()) return not_owner(key.first, key.second, 0);
            auto port = it->second;
            auto frame = m.frame();
            t->service.on_request(port, frame);
            return;
        }
        case pb::GatewayToOwner::kConsumed: {
            if (auto it = s.sessions.find(key); it != s.sessions.end()) {
                it->second->consumed(m.consumed().frames());
            }
            return;
        }
        case pb::GatewayToOwner::kClosed: {
            auto it = s.sessions.find(key);
            if (it == s.sessions.end()) return;
            auto port = it->second;
            s.sessions.erase(it);
            port->detach();
            if (auto t = port->owner(); t && port->admitted() && t->serving()) {
                t->service.on_close(port);
            }
            return;
        }
        case pb::GatewayToOwner::BODY_NOT_SET:
            return;
    }
}

void session_host::term_ended(const std::shared_ptr<term>& ended) {
    for (std::size_t shard = 0; shard < state_.size(); ++shard) {
        shards_.post(shard, [this, shard, ended] {
            auto& s = *state_[shard];
            flush_all(shard);
            for (auto it = s.sessions.begin(); it != s.sessions.end();) {
                const auto t = it->second->owner();
                if (t && t != ended) {
                    ++it;
                    continue;
                }
                it->second->detach();
                not_owner(it->first.first, it->first.second, ended->partition);
                it = s.sessions.erase(it);
            }
        });
    }
}

void session_host::not_owner(const std::string& gateway, std::uint64_t connection,
                             std::uint32_t partition) {
    pb::OwnerToGateway m;
    auto& n = *m.mutable_not_owner();
    n.set_connection(connection);
    n.set_partition(partition);
    link_.send(gateway_inbox(gateway), serialize(m));
}

void session_host::publish(std::size_t shard, const std::string& gateway,
                           const std::string& bytes) {
    flush(shard, gateway);
    link_.send(gateway_inbox(gateway), bytes);
}

void session_host::queue_push(std::size_t shard, const std::string& gateway,
                              std::uint64_t connection, std::uint64_t inbox_seq,
                              const storage::event_bytes& event, core::notice announce) {
    auto& s = *state_[shard];
    auto& batch = *s.pending[gateway].mutable_pushes();
    auto& last = s.last_event[gateway];
    if (batch.events_size() == 0 || last != event) {
        batch.add_events()->set_event(*event);
        last = event;
    }
    auto& d = *batch.mutable_events(batch.events_size() - 1)->add_deliveries();
    d.set_connection(connection);
    d.set_inbox_seq(inbox_seq);
    d.set_notice(static_cast<std::uint32_t>(announce));
    if (!s.flush_posted) {
        s.flush_posted = true;
        shards_.post(shard, [this, shard] { flush_all(shard); });
    }
}

void session_host::flush(std::size_t shard, const std::string& gateway) {
    auto& s = *state_[shard];
    auto it = s.pending.find(gateway);
    if (it == s.pending.end()) return;
    link_.send(gateway_inbox(gateway), serialize(it->second));
    s.pending.erase(it);
    s.last_event.erase(gateway);
}

void session_host::flush_all(std::size_t shard) {
    auto& s = *state_[shard];
    s.flush_posted = false;
    while (!s.pending.empty()) {
        const std::string gateway = s.pending.begin()->first;  // flush() erases the entry
        flush(shard, gateway);
    }
}

}  // namespace tern::cluster::detail
