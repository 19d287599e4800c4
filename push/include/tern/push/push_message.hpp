// What ternd tells a push relay about one device (docs/notifications.md, "Push relays"): the
// message that woke it, how many more it stands for, and the badge. No socket here: the relay
// contracts (relay_format.hpp) encode it, the queue (push_queue.hpp) holds it, the sender
// (relay_sender.hpp) posts it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tern::push {

// Which device of which user.
struct device_key {
    std::uint64_t tenant = 0;
    std::uint64_t user = 0;
    std::uint64_t device = 0;
    friend auto operator<=>(const device_key&, const device_key&) = default;
};

// How the relay should deliver it: the escalation of an unacknowledged urgent message names a
// channel a relay may wire to SMS or a call; everything else is `push`.
enum class channel : std::uint8_t { push, sms, call };
[[nodiscard]] const char* to_string(channel c) noexcept;

// A work-start digest's numbers: what reached the user outside their working hours (no phone
// buzzed then) and is still unread at their next work start.
struct digest_counts {
    std::uint32_t messages = 0;
    std::uint32_t conversations = 0;
    std::uint32_t mentions = 0;
    friend bool operator==(const digest_counts&, const digest_counts&) = default;
};

struct push_message {
    device_key to;
    std::string platform;  // "apns", "fcm", or the name of another relay's service
    std::string token;     // the platform's device token
    std::string app_id;
    // The conversation, as the protocol names it: "direct" or "group", its id and peer (0 for a
    // group).
    std::string conv_type;
    std::uint64_t conv_id = 0;
    std::uint64_t conv_peer = 0;
    std::uint64_t seq = 0;     // the newest message it stands for
    std::uint64_t sender = 0;  // 0 when the tenant's privacy setting hides the sender
    std::string preview;       // the text as the tenant's privacy setting allows; may be empty
    bool alert = true;         // false: silent (update the badge, no sound)
    bool urgent = false;
    channel via = channel::push;
    std::uint32_t count = 1;  // messages it stands for (coalesced per device)
    std::uint32_t badge = 0;  // the user's total unread
    // Set on a work-start digest (kind "digest" to the relay): the conversation fields are then
    // empty, count is the digest's messages.
    std::optional<digest_counts> digest;
};

}  // namespace tern::push
