// Keeps a device's requests in one conversation in the order it sent them when the owner has to
// refuse one for back-pressure (a full commit queue). A client pipelines its sends; if request k
// is refused (retryable) and k+1 behind it is accepted, the conversation would store k+1 before
// k. So after refusing k, the owner refuses every other request of that device in that
// conversation until k comes back (the SDK sends its retries in the order it made the sends,
// k first), then lets them through in the order they come. A fence that k never lifts (a client
// that gave up on it) falls after `hold`.
//
// One per owner shard, touched only there. Empty but under back-pressure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <tern/core/requester.hpp>

#include "keys.hpp"

namespace tern::core {

class order_fence {
public:
    static constexpr std::chrono::milliseconds hold{60'000};

    // Whether request `id` of `who` in `conv` may go on at `now_ms`. A fence falls when the
    // request it waits for comes back, or after `hold`.
    [[nodiscard]] bool admits(const requester& who, const storage::conv_id& conv,
                              const std::string& id, std::int64_t now_ms) {
        if (fences_.empty()) return true;
        auto it = fences_.find({who, conv});
        if (it == fences_.end()) return true;
        if (it->second.id == id || now_ms - it->second.since_ms >= hold.count()) {
            fences_.erase(it);
            return true;
        }
        return false;
    }

    // Request `id` was refused for back-pressure: the device's others in `conv` wait for it
    // (unless a fence waits already, for an earlier one).
    void refused(const requester& who, const storage::conv_id& conv, const std::string& id,
                 std::int64_t now_ms) {
        fences_.try_emplace({who, conv}, fence{id, now_ms});
    }

    [[nodiscard]] std::size_t size() const noexcept { return fences_.size(); }

private:
    struct key {
        requester who;
        storage::conv_id conv;
        friend bool operator==(const key&, const key&) = default;
    };
    struct key_hasher {
        std::size_t operator()(const key& k) const noexcept {
            return mix(mix(key_hash{}(conv_key{k.who.tenant, k.conv}), k.who.user), k.who.device);
        }
    };
    struct fence {
        std::string id;  // the refused request the others wait for
        std::int64_t since_ms = 0;
    };
    std::unordered_map<key, fence, key_hasher> fences_;
};

}  // namespace tern::core
