// Where the core hands the pushes it decided for devices that are offline or in the background
// (docs/notifications.md, "Push relays"): ternd's relay sender (tern::push) behind a small
// adapter; a test's recording port. The core decides whom to push, when and with what; the port
// only delivers, on threads of its own.
//
// Contract, for every implementation: each member is called from any thread, returns at once
// (never waits on the network) and never calls back into the core synchronously.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <tern/push/push_message.hpp>

namespace tern::core {

class push_port {
public:
    virtual ~push_port() = default;

    // A push for m.to, to go after `delay` (0: at once; the active-device grace holds a phone's
    // push while its user sits at a desktop) unless a read cancels it first.
    virtual void submit(push::push_message m, std::chrono::milliseconds delay) = 0;
    // The user read the conversation up to `up_to` on some device: pushes still waiting that
    // announce no more than that are not sent.
    // (relay_sender::read: the conversation as the protocol names it, "direct" or "group".)
    virtual void read(std::uint64_t tenant, std::uint64_t user, const std::string& conv_type,
                      std::uint64_t conv_id, std::uint64_t conv_peer, std::uint64_t up_to) = 0;
};

}  // namespace tern::core
