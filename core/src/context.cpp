#include "context.hpp"

#include <tern/wire/error_frame.hpp>
#include <tern/wire/errors.hpp>
#include <tern/wire/time.hpp>

namespace tern::core {

void reply(router& routes, const reply_to& r, v1::Frame frame) {
    frame.set_req_id(r.req_id);
    routes.post(r.shard, [device = r.device, f = std::move(frame)] {
        if (auto d = device.lock()) d->send(f);
    });
}

void answer(device_port& device, std::uint64_t req_id, v1::Frame frame) {
    frame.set_req_id(req_id);
    device.send(frame);
}

void refuse_handshake(device_port& device, std::uint64_t req_id, v1::ErrorCode code,
                      const std::string& message) {
    device.send(wire::error_frame(req_id, code, message));
    device.close(wire::handshake_disconnect(code), code, message);
}

v1::ErrorCode code_of_storage_error(const boost::system::error_code& ec) {
    if (ec == storage::errc::no_space) return v1::STORAGE_FULL;
    return v1::UNAVAILABLE;
}

v1::Frame ok_frame(std::uint64_t req_id) {
    v1::Frame f;
    f.set_req_id(req_id);
    f.mutable_ok();
    return f;
}

const clock& system_clock() noexcept {
    class wall_clock final : public clock {
    public:
        std::int64_t unix_ms() const noexcept override { return wire::unix_ms(); }
    };
    static const wall_clock instance;
    return instance;
}

std::string_view to_string(failure f) noexcept {
    switch (f) {
        case failure::commit_failed:
            return "commit_failed";
        case failure::commit_queue_full:
            return "commit_queue_full";
        case failure::store_read_failed:
            return "store_read_failed";
        case failure::push_not_framed:
            return "push_not_framed";
        case failure::handover_timed_out:
            return "handover_timed_out";
        case failure::event_too_large:
            return "event_too_large";
    }
    return "unknown";
}

std::string_view to_string(digest_outcome d) noexcept {
    switch (d) {
        case digest_outcome::sent:
            return "sent";
        case digest_outcome::all_read:
            return "all_read";
        case digest_outcome::dropped:
            return "dropped";
    }
    return "unknown";
}

}  // namespace tern::core
