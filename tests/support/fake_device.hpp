// A device port (core/device_port.hpp) for unit tests of the core: it records every frame the
// core hands it (pushes as Push frames), its admission and its close, and lets the test say
// whether its queue has room.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tern/core/device_port.hpp>

#include "tern/v1/events.pb.h"
#include "tern/v1/frame.pb.h"

namespace tern::test {

class fake_device final : public core::device_port {
public:
    fake_device(core::requester who, std::size_t shard, std::uint64_t id)
        : who_(who), shard_(shard), id_(id) {}

    static std::shared_ptr<fake_device> make(core::requester who, std::size_t shard) {
        static std::uint64_t next_id = 1;
        return std::make_shared<fake_device>(who, shard, next_id++);
    }

    // ---- core::device_port ---------------------------------------------------------------------
    [[nodiscard]] const core::requester& who() const noexcept override { return who_; }
    [[nodiscard]] std::size_t shard() const noexcept override { return shard_; }
    [[nodiscard]] std::uint64_t id() const noexcept override { return id_; }
    bool admit(const v1::Frame& welcome) override {
        if (closed_) return false;
        welcome_ = welcome;
        return true;
    }
    void send(const v1::Frame& frame) override {
        if (!closed_) frames.push_back(frame);
    }
    bool push(std::uint64_t inbox_seq, const storage::event_bytes& event,
              core::notice announce) override {
        if (event->size() > max_push_bytes) return false;
        if (closed_) return true;
        v1::Frame f;
        f.mutable_push()->set_inbox_seq(inbox_seq);
        f.mutable_push()->set_notice(static_cast<v1::Notice>(announce));
        f.mutable_push()->mutable_event()->ParseFromString(*event);
        frames.push_back(std::move(f));
        return true;
    }
    [[nodiscard]] bool has_room(std::size_t) const noexcept override { return room; }
    [[nodiscard]] std::size_t queued_frames() const noexcept override { return queued; }
    [[nodiscard]] bool closing() const noexcept override { return closed_.has_value(); }
    void close(v1::DisconnectReason reason, v1::ErrorCode, std::string message) override {
        if (closed_) return;
        closed_ = std::make_pair(reason, std::move(message));
        // A connection the core admitted tells the core it ended, as a real one does once its
        // Disconnect is flushed.
        if (welcome_ && on_closed) on_closed();
    }
    [[nodiscard]] core::device_info describe() override {
        return {id_, who_, shard_, "fake", "", 0, 0, "fake-" + std::to_string(id_)};
    }

    // ---- what the test reads -----------------------------------------------------------------
    [[nodiscard]] const std::optional<v1::Frame>& welcome() const { return welcome_; }
    [[nodiscard]] std::optional<v1::DisconnectReason> closed_with() const {
        return closed_ ? std::optional(closed_->first) : std::nullopt;
    }
    // The inbox_seqs of the pushes received, in order.
    [[nodiscard]] std::vector<std::uint64_t> pushed() const {
        std::vector<std::uint64_t> out;
        for (const auto& f : frames) {
            if (f.has_push()) out.push_back(f.push().inbox_seq());
        }
        return out;
    }
    // The frames of one body kind received, in order.
    [[nodiscard]] std::vector<v1::Frame> of(v1::Frame::BodyCase body) const {
        std::vector<v1::Frame> out;
        for (const auto& f : frames) {
            if (f.body_case() == body) out.push_back(f);
        }
        return out;
    }
    // The one reply to `req_id` (nullopt if none; the test fails on two).
    [[nodiscard]] std::optional<v1::Frame> reply_to(std::uint64_t req_id) const {
        std::optional<v1::Frame> found;
        for (const auto& f : frames) {
            if (f.req_id() != req_id || f.has_push()) continue;
            if (found) throw std::logic_error("two replies to one request");
            found = f;
        }
        return found;
    }

    std::vector<v1::Frame> frames;
    std::function<void()> on_closed;  // set by the harness: the core's on_close, posted
    bool room = true;
    std::size_t queued = 0;  // what queued_frames() says
    std::size_t max_push_bytes = 64 * 1024;

private:
    core::requester who_;
    std::size_t shard_;
    std::uint64_t id_;
    std::optional<v1::Frame> welcome_;
    std::optional<std::pair<v1::DisconnectReason, std::string>> closed_;
};

}  // namespace tern::test
