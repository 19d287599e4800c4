#include <tern/cluster/partition_log.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include <tern/cluster/log_codec.hpp>

#include "guarded_handler.hpp"

namespace tern::cluster {
namespace {

constexpr const char* expected_header = "Nats-Expected-Last-Sequence";

std::string two_digits(std::uint32_t partition) {
    char b[16];
    std::snprintf(b, sizeof b, "%02u", partition);
    return b;
}

struct stream_info_deleter {
    void operator()(jsStreamInfo* si) const noexcept { jsStreamInfo_Destroy(si); }
};
using stream_info_ptr = std::unique_ptr<jsStreamInfo, stream_info_deleter>;

stream_state state_of(const jsStreamInfo& si) {
    stream_state out;
    out.first_seq = si.State.FirstSeq;
    out.last_seq = si.State.LastSeq;
    if (si.Cluster) {
        if (si.Cluster->Leader) out.leader = si.Cluster->Leader;
        for (int i = 0; i < si.Cluster->ReplicasLen; ++i) {
            const auto* r = si.Cluster->Replicas[i];
            out.replicas.push_back({r->Name ? r->Name : "", r->Current, r->Offline, r->Lag});
        }
    }
    return out;
}

jsOptions api_options(const nats_settings& s) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = s.api_timeout.count();
    return o;
}

}  // namespace

std::string stream_name(std::uint32_t partition) { return "TERN_P" + two_digits(partition); }
std::string log_subject(std::uint32_t partition) { return "tern.log.p" + two_digits(partition); }

// Appends waiting for their acknowledgement, by the sequence they expect to follow (each
// append expects a different one: the owner numbers them). Shared with libnats' ack thread.
struct partition_log::pending_appends {
    std::mutex mutex;
    std::map<std::uint64_t, append_done> by_expected;
};

partition_log::partition_log(nats_link& link, std::uint32_t partition, log_settings settings,
                             nats_link* appends)
    : link_(link),
      partition_(partition),
      settings_(std::move(settings)),
      stream_(stream_name(partition)),
      subject_(log_subject(partition)),
      pending_(std::make_shared<pending_appends>()) {
    auto o = api_options(link_.settings());
    check(natsConnection_JetStream(&js_, link_.connection(), &o), "JetStream context");
    auto& append_link = appends ? *appends : link_;
    auto a = api_options(append_link.settings());
    a.PublishAsync.AckHandler = &partition_log::on_ack;
    // A raw pointer to the table, which outlives every acknowledgement: the context is
    // destroyed (and with it its reply subscription) before the table.
    a.PublishAsync.AckHandlerClosure = pending_.get();
    a.PublishAsync.MaxPending = 65'536;
    if (const auto s = natsConnection_JetStream(&append_js_, append_link.connection(), &a);
        s != NATS_OK) {
        jsCtx_Destroy(js_);
        check(s, "JetStream context for appends");
    }
}

partition_log::~partition_log() {
    // Anything still waiting fails: its outcome will be learnt from the stream.
    jsCtx_Destroy(append_js_);
    jsCtx_Destroy(js_);
    std::map<std::uint64_t, append_done> left;
    {
        std::lock_guard lock(pending_->mutex);
        left.swap(pending_->by_expected);
    }
    for (auto& [expected, done] : left) {
        done({append_status::failed, 0, "the partition log was closed"});
    }
}

std::optional<stream_state> partition_log::info() const {
    auto o = api_options(link_.settings());
    jsStreamInfo* raw = nullptr;
    jsErrCode code = jsErrCode(0);
    const auto s = js_GetStreamInfo(&raw, js_, stream_.c_str(), &o, &code);
    stream_info_ptr si(raw);
    if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) return std::nullopt;
    check(s, "stream info", code);
    return state_of(*si);
}

stream_state partition_log::ensure() {
    if (auto existing = info(); existing && existing->last_seq > 0) return *existing;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject_.c_str()};
    cfg.Name = stream_.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = settings_.replicas;
    cfg.Retention = js_LimitsPolicy;
    cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(settings_.max_age).count();
    cfg.Discard = js_DiscardOld;
    cfg.DenyDelete = true;  // a log with a hole in it would stop every replica
    cfg.DenyPurge = true;
    auto o = api_options(link_.settings());
    jsStreamInfo* raw = nullptr;
    jsErrCode code = jsErrCode(0);
    const auto s = js_AddStream(&raw, js_, &cfg, &o, &code);
    stream_info_ptr created(raw);
    // Another node may have created it a moment ago: that is fine, the config is the same.
    if (s != NATS_OK && code != JSStreamNameExistErr) check(s, "creating the stream", code);

    // The genesis, fenced on an empty stream so that only one is ever written.
    natsMsg* msg = nullptr;
    const auto bytes = encode_genesis({partition_, settings_.partitions, settings_.cluster});
    check(natsMsg_Create(&msg, subject_.c_str(), nullptr, bytes.data(),
                         static_cast<int>(bytes.size())),
          "genesis message");
    nats_message owned(msg);
    natsMsgHeader_Set(msg, expected_header, "0");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = settings_.append_timeout.count();
    jsPubAck* ack = nullptr;
    code = jsErrCode(0);
    const auto ps = js_PublishMsg(&ack, js_, msg, &po, &code);
    jsPubAck_Destroy(ack);
    if (ps != NATS_OK && code != JSStreamWrongLastSequenceErr) check(ps, "genesis", code);
    auto now = info();
    if (!now) throw nats_error("the stream vanished after it was created", NATS_NOT_FOUND);
    return *now;
}

void partition_log::step_down() {
    const auto subject = "$JS.API.STREAM.LEADER.STEPDOWN." + stream_;
    auto reply = link_.request(subject, {}, link_.settings().api_timeout);
    const auto body = data_of(reply.get());
    if (body.find("\"success\":true") == std::string_view::npos) {
        throw nats_error("stepdown refused: " + std::string(body), NATS_ERR);
    }
}

void partition_log::remove_peer(const std::string& peer) {
    const auto subject = "$JS.API.STREAM.PEER.REMOVE." + stream_;
    const auto reply =
        link_.request(subject, R"({"peer":")" + peer + R"("})", link_.settings().api_timeout);
    const std::string body(data_of(reply.get()));
    if (body.find(R"("success":true)") != std::string::npos) return;
    // With no spare server to move the copy to (three servers, three replicas), nats-server
    // 2.9.10 answers "peer remap failed" (10075) yet has dropped the peer: the stream runs on
    // the two other copies (measured). Scaling it down by one and back up places a fresh copy on
    // that server, caught up from the others.
    if (body.find(R"("err_code":10075)") == std::string::npos) {
        const bool busy = body.find(R"("err_code":10008)") != std::string::npos;
        throw nats_error("peer removal refused: " + body, NATS_ERR,
                         busy ? JSClusterNotAvailErr : jsErrCode(0));
    }
    const auto holds = [&peer](const stream_state& s) {
        if (s.leader == peer) return true;
        return std::any_of(s.replicas.begin(), s.replicas.end(),
                           [&peer](const replica_state& r) { return r.name == peer; });
    };
    // The leader's view of its peers follows the answer within moments, and JetStream's API
    // may not answer while the group changes: both are retried for a while. Each step is
    // idempotent (a stream already at that size stays).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string last_error;
    for (;;) {
        try {
            if (const auto now = info(); now && !holds(*now)) return place_fresh_copy();
            last_error = peer + " still holds a copy";
        } catch (const nats_error& e) {
            last_error = e.what();
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw nats_error("peer removal unfinished (" + last_error + "): " + body, NATS_TIMEOUT);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

void partition_log::place_fresh_copy() {
    auto o = api_options(link_.settings());
    jsStreamInfo* raw = nullptr;
    jsErrCode code = jsErrCode(0);
    check(js_GetStreamInfo(&raw, js_, stream_.c_str(), &o, &code), "stream info", code);
    stream_info_ptr si(raw);
    auto& config = *si->Config;
    const auto replicas = config.Replicas;
    for (const auto step : {replicas - 1, replicas}) {
        config.Replicas = step;
        jsStreamInfo* updated = nullptr;
        code = jsErrCode(0);
        const auto s = js_UpdateStream(&updated, js_, &config, &o, &code);
        stream_info_ptr owned(updated);
        check(s, "placing a fresh copy (scaling the stream)", code);
    }
}

void partition_log::append(std::string_view bytes, std::uint64_t expected_last, append_done done) {
    natsMsg* msg = nullptr;
    auto s = natsMsg_Create(&msg, subject_.c_str(), nullptr, bytes.data(),
                            static_cast<int>(bytes.size()));
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(msg, expected_header, std::to_string(expected_last).c_str());
    }
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        return done({append_status::failed, 0, natsStatus_GetText(s)});
    }
    {
        std::lock_guard lock(pending_->mutex);
        pending_->by_expected[expected_last] = std::move(done);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = settings_.append_timeout.count();
    s = js_PublishMsgAsync(append_js_, &msg, &po);  // takes the message when it succeeds
    if (s == NATS_OK) return;
    natsMsg_Destroy(msg);
    append_done failed;
    {
        std::lock_guard lock(pending_->mutex);
        auto it = pending_->by_expected.find(expected_last);
        if (it == pending_->by_expected.end()) return;  // the ack handler ran it already
        failed = std::move(it->second);
        pending_->by_expected.erase(it);
    }
    failed({append_status::failed, 0, natsStatus_GetText(s)});
}

void partition_log::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
    nats_message owned(msg);
    auto& table = *static_cast<pending_appends*>(closure);
    const char* expected_text = nullptr;
    if (natsMsgHeader_Get(msg, expected_header, &expected_text) != NATS_OK) return;
    const auto expected = std::strtoull(expected_text, nullptr, 10);
    append_done done;
    {
        std::lock_guard lock(table.mutex);
        auto it = table.by_expected.find(expected);
        if (it == table.by_expected.end()) return;
        done = std::move(it->second);
        table.by_expected.erase(it);
    }
    if (ack) {
        if (ack->Sequence == expected + 1) return done({append_status::ok, ack->Sequence, {}});
        // A duplicate reply or a stream that moved under us: not the entry we asked for.
        return done({append_status::fenced, ack->Sequence, "acknowledged at another sequence"});
    }
    std::string text = err && err->ErrText ? err->ErrText : "append failed";
    const bool fenced = err && err->ErrCode == JSStreamWrongLastSequenceErr;
    done({fenced ? append_status::fenced : append_status::failed, 0, std::move(text)});
}

std::unique_ptr<log_reader> partition_log::read_from(std::uint64_t from, entry_handler on_entry) {
    return std::make_unique<log_reader>(js_, stream_, subject_, from, settings_.home_server,
                                        std::move(on_entry));
}

log_reader::log_reader(jsCtx* js, const std::string& stream, const std::string& subject,
                       std::uint64_t from, const std::string& home_server,
                       partition_log::entry_handler on_entry)
    : home_server_(home_server) {
    constexpr int attempts = 8;  // placement looks random among 3 copies: 8 misses ~ 4 %
    // What a consumer delivers before its placement is accepted waits in the gate; a rejected
    // consumer's entries are dropped with it (the accepted one delivers them again).
    struct gate {
        partition_log::entry_handler deliver;
        bool open = false;
        std::vector<std::pair<std::uint64_t, std::string>> held;
    };
    std::shared_ptr<gate> g;
    std::string where;
    for (int attempt = 1;; ++attempt) {
        g = std::make_shared<gate>();
        state_ = std::make_shared<guarded>();
        state_->handler = [g](std::uint64_t sequence, std::string_view bytes) {
            if (g->open) return g->deliver(sequence, bytes);
            g->held.emplace_back(sequence, std::string(bytes));
        };
        where = subscribe(js, stream, subject, from);
        if (home_server.empty() || where == home_server || attempt == attempts) break;
        state_->close();
        unsubscribe();  // deletes the consumer
    }
    at_home_ = home_server.empty() || where == home_server;
    if (!at_home_) {
        spdlog::warn(
            "cluster: {}: reading through {}'s copy, not this node's ({}): its server may be "
            "down",
            stream, where.empty() ? "an unknown server" : where, home_server);
    }
    std::lock_guard lock(state_->mutex);  // deliveries wait while the held ones go first
    g->deliver = std::move(on_entry);
    for (const auto& [sequence, bytes] : g->held) g->deliver(sequence, bytes);
    g->held.clear();
    g->open = true;
}

std::string log_reader::subscribe(jsCtx* js, const std::string& stream, const std::string& subject,
                                  std::uint64_t from) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = std::max<std::uint64_t>(from, 1);
    void* closure = guarded::closure_for(state_);
    jsErrCode code = jsErrCode(0);
    if (const auto s = js_Subscribe(&sub_, js, subject.c_str(), &log_reader::on_message, closure,
                                    nullptr, &so, &code);
        s != NATS_OK) {
        guarded::release(closure);
        check(s, "reading the partition log", code);
    }
    guarded::release_when_complete(sub_, closure);
    natsSubscription_SetPendingLimits(sub_, -1, -1);
    return placement();
}

std::string log_reader::placement() const {
    std::string server;
    jsConsumerInfo* ci = nullptr;
    if (natsSubscription_GetConsumerInfo(&ci, sub_, nullptr, nullptr) == NATS_OK && ci) {
        if (ci->Cluster && ci->Cluster->Leader) server = ci->Cluster->Leader;
        jsConsumerInfo_Destroy(ci);
    }
    return server;
}

bool log_reader::still_at_home() {
    if (home_server_.empty()) return true;
    if (const auto where = placement(); !where.empty()) at_home_ = where == home_server_;
    return at_home_;
}

void log_reader::unsubscribe() {
    natsSubscription_Unsubscribe(sub_);
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
}

log_reader::~log_reader() {
    state_->close();
    unsubscribe();
}

void log_reader::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    nats_message owned(msg);
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return;  // not a stream message
    const auto sequence = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    guarded::of(closure).run(sequence, data_of(msg));
}

}  // namespace tern::cluster
