// What a unit test of the core's components stands on: the in-memory store, a manual router
// with two shards (it is also the clock), a commit port committed by hand, telemetry that
// records, the default limits, and the context the components share. settle() runs everything
// until the core is idle: posted tasks, then commits, then what they posted, and so on.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tern/core/limits.hpp>
#include <tern/core/service.hpp>
#include <tern/core/telemetry.hpp>
#include <tern/storage/memory_store.hpp>

#include "context.hpp"
#include "counting_store.hpp"
#include "decide.hpp"
#include "fake_device.hpp"
#include "manual_commits.hpp"
#include "manual_router.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::test {

// The tenant the core's unit tests run in (the ids a test names are users of it).
constexpr storage::tenant_id acme = 1;

class recording_telemetry final : public core::telemetry {
public:
    void message_received() override { ++received; }
    void fanout(std::size_t recipients) override { fanouts.push_back(recipients); }
    void messages_delivered(std::size_t pushes, std::chrono::nanoseconds) override {
        delivered += pushes;
    }
    void failed(core::failure what, std::string_view detail) override {
        failures.emplace_back(what, std::string(detail));
    }
    void digest(core::digest_outcome what) override { digests.push_back(what); }
    [[nodiscard]] std::size_t count(core::failure what) const {
        std::size_t n = 0;
        for (const auto& f : failures) n += f.first == what ? 1 : 0;
        return n;
    }

    std::size_t received = 0;
    std::size_t delivered = 0;
    std::vector<std::size_t> fanouts;
    std::vector<std::pair<core::failure, std::string>> failures;
    std::vector<core::digest_outcome> digests;
};

// The core's push port, recording what the core handed it (push_desk's decisions).
class recording_pushes final : public core::push_port {
public:
    struct submitted {
        push::push_message message;
        std::chrono::milliseconds delay{};
    };
    struct read_mark {
        std::uint64_t tenant = 0;
        std::uint64_t user = 0;
        std::string conv_type;
        std::uint64_t conv_id = 0;
        std::uint64_t conv_peer = 0;
        std::uint64_t up_to = 0;
    };
    void submit(push::push_message m, std::chrono::milliseconds delay) override {
        pushes.push_back({std::move(m), delay});
    }
    void read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
              std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) override {
        reads.push_back({tenant, user, conv_type, conv_id, conv_peer, up_to});
    }
    // The pushes to `device` of `user` (of the test tenant), oldest first.
    [[nodiscard]] std::vector<submitted> to(std::uint64_t user, std::uint64_t device) const {
        std::vector<submitted> out;
        for (const auto& p : pushes) {
            if (p.message.to.user == user && p.message.to.device == device) out.push_back(p);
        }
        return out;
    }

    std::vector<submitted> pushes;
    std::vector<read_mark> reads;
};

struct core_harness {
    explicit core_harness(std::size_t shards = 2) : router(shards) {}

    // Runs until nothing is left: tasks, commits, and what they post in turn.
    void settle() {
        do {
            router.run();
        } while (commits.commit() != 0);
        router.run();
    }
    // Moves the clock forward, running the timers due on the way, then settles what they began
    // (their commits, and what those post).
    void advance(std::chrono::milliseconds by) {
        router.advance(by);
        settle();
    }

    std::unique_ptr<storage::store> memory = storage::make_memory_store();
    counting_store counted{*memory};  // what the core reads, counted
    storage::store* store = &counted;
    manual_router router;
    manual_commits commits{*store};
    recording_telemetry telemetry;
    core::limits limits;
    core::context ctx{router, *store, commits, limits, telemetry, router};
};

// ---- frames a device sends ---------------------------------------------------------------------

inline v1::Frame settings_frame(std::uint64_t req_id, const v1::NotificationSettings& settings) {
    v1::Frame f;
    f.set_req_id(req_id);
    *f.mutable_set_notification_settings()->mutable_settings() = settings;
    return f;
}

inline v1::Frame text_send(std::uint64_t req_id, const storage::conv_id& conv, std::string text,
                           std::string client_msg_id) {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* s = f.mutable_send();
    core::to_proto(conv, *s->mutable_conv());
    s->set_client_msg_id(std::move(client_msg_id));
    s->mutable_content()->set_text(std::move(text));
    return f;
}

inline v1::Frame mark_read_frame(std::uint64_t req_id, const storage::conv_id& conv,
                                 storage::seq_t up_to) {
    v1::Frame f;
    f.set_req_id(req_id);
    core::to_proto(conv, *f.mutable_mark_read()->mutable_conv());
    f.mutable_mark_read()->set_up_to_seq(up_to);
    return f;
}

// RegisterPushToken{platform, token, app_id}.
inline v1::Frame push_token_frame(std::uint64_t req_id, const std::string& platform,
                                  const std::string& token,
                                  const std::string& app_id = "com.example") {
    v1::Frame f;
    f.set_req_id(req_id);
    auto* r = f.mutable_register_push_token();
    r->set_platform(platform);
    r->set_token(token);
    r->set_app_id(app_id);
    return f;
}

inline v1::Frame urgent_ack_frame(std::uint64_t req_id, const storage::conv_id& conv,
                                  storage::seq_t seq) {
    v1::Frame f;
    f.set_req_id(req_id);
    core::to_proto(conv, *f.mutable_acknowledge_urgent()->mutable_conv());
    f.mutable_acknowledge_urgent()->set_seq(seq);
    return f;
}

inline v1::Frame ack_frame(std::uint64_t inbox_seq) {
    v1::Frame f;
    f.mutable_ack()->set_inbox_seq(inbox_seq);
    return f;
}

inline v1::Frame hello_frame(std::uint64_t req_id = 1) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_hello()->set_protocol_version(1);
    return f;
}

inline v1::Frame welcome_frame(std::uint64_t req_id = 1) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_welcome()->set_protocol_version(1);
    return f;
}

// The notice of the last push `device` received (docs/notifications.md).
inline v1::Notice last_notice(const fake_device& device) {
    const auto pushes = device.of(v1::Frame::kPush);
    if (pushes.empty()) throw std::runtime_error("no push received");
    return pushes.back().push().notice();
}

// The core behind its facade, on the harness: devices open through it as a connection would.
struct service_harness : core_harness {
    // `with_pushes`: the core has a push port (the recording one below); without it the push
    // desk does nothing (ternd without a relay).
    explicit service_harness(std::size_t shards = 2, bool with_pushes = true)
        : core_harness(shards), push_port(with_pushes ? &pushes : nullptr) {}

    // A device of (tenant, user, device) on `shard`, through on_open, admitted and caught up.
    std::shared_ptr<fake_device> open(core::requester who, std::size_t shard,
                                      std::optional<std::uint64_t> resume = std::nullopt) {
        auto d = connect(who, shard, resume);
        settle();
        return d;
    }
    // The same, but only handed to the core: the test runs what follows.
    std::shared_ptr<fake_device> connect(core::requester who, std::size_t shard,
                                         std::optional<std::uint64_t> resume = std::nullopt) {
        auto d = fake_device::make(who, shard);
        d->on_closed = [this, shard, weak = std::weak_ptr<fake_device>(d)] {
            router.post(shard, [this, weak] {
                if (auto device = weak.lock()) core.on_close(device);
            });
        };
        auto hello = hello_frame();
        hello.mutable_hello()->set_platform(platform);
        if (resume) hello.mutable_hello()->set_resume_inbox_seq(*resume);
        core.on_open(d, hello.hello(), welcome_frame(hello.req_id()));
        return d;
    }
    // A request from `device`, handed to the core and no further (the test runs what follows).
    void submit(const std::shared_ptr<fake_device>& device, v1::Frame frame) {
        core.on_request(device, frame);
    }
    // A request from `device`, then everything it causes.
    void request(const std::shared_ptr<fake_device>& device, v1::Frame frame) {
        core.on_request(device, frame);
        settle();
    }
    // The device's connection ends (its on_close reaches the core).
    void close(const std::shared_ptr<fake_device>& device) {
        device->close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "bye");
        settle();
    }

    // The platform the next connect() names in its Hello (a desktop's holds its user's phone
    // pushes while in the foreground).
    v1::Platform platform = v1::PLATFORM_IOS;
    recording_pushes pushes;
    core::push_port* push_port;
    core::service core{router, *store, commits, limits, telemetry, router, push_port};
};

// A group created by `owner` with `members`, through the facade; returns its conversation.
inline storage::conv_id create_group(service_harness& h, const std::shared_ptr<fake_device>& owner,
                                     const std::vector<storage::user_id>& members,
                                     const std::string& client_msg_id = "g-1") {
    static std::uint64_t next_req_id = 900'000;
    const auto req_id = next_req_id++;
    v1::Frame f;
    f.set_req_id(req_id);
    auto* g = f.mutable_group_create();
    g->set_name("team");
    for (auto m : members) g->add_member_ids(m);
    g->set_client_msg_id(client_msg_id);
    h.request(owner, f);
    const auto ack = owner->reply_to(req_id);
    if (!ack || !ack->has_send_ack()) throw std::runtime_error("the group was not created");
    return storage::conv_id::group(ack->send_ack().conv().id());
}

}  // namespace tern::test
