// Where a client keeps what must survive a reconnect: its outbox (requests not yet acknowledged,
// in order) and its inbox cursor (the last inbox_seq handed to the app). The default lives in
// memory; an app that wants them to survive a restart plugs in a persistent implementation.
//
// A client calls its store only from its own network thread, so an implementation serving one
// client needs no locking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tern/client/export.hpp>

namespace tern::client {

// One request of the outbox: an event-appending request (send, recall, edit, group operation),
// encoded as the protocol's Frame bytes with its client_msg_id, and when it gives up.
struct outbox_entry {
    std::string client_msg_id;
    std::string request;          // an encoded tern.v1.Frame (opaque to the store)
    std::int64_t expires_ms = 0;  // Unix time
};

class TERN_CLIENT_API state_store {
public:
    virtual ~state_store() = default;

    virtual void outbox_add(const outbox_entry& entry) = 0;
    virtual void outbox_remove(const std::string& client_msg_id) = 0;
    // In the order they were added.
    [[nodiscard]] virtual std::vector<outbox_entry> outbox() const = 0;

    // The newest inbox_seq handed to the app (0 at first).
    [[nodiscard]] virtual std::uint64_t inbox_cursor() const = 0;
    virtual void set_inbox_cursor(std::uint64_t inbox_seq) = 0;
};

[[nodiscard]] TERN_CLIENT_API std::unique_ptr<state_store> make_memory_state_store();

}  // namespace tern::client
