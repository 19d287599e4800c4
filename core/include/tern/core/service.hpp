// The core: everything a device asks after its handshake, with no socket, thread or clock of its
// own. It reaches its shards through a router, its devices through device ports, the store
// through a commit port (writes) and the store's reads, and reports through telemetry.
//
// - Requests that append an event (send, group operations, recall, edit) hop to the
//   conversation's owner shard, which dedups, decides and submits the entry to the commit port;
//   once it is durable the port's completion posts the event to the shards holding a
//   recipient's device, then the outcome to the owner, which acknowledges the sender.
// - Acks and read marks are entries applied by the store's rules; the receipts they move reach
//   the devices that care (a direct peer, a group's senders as coalesced counts).
// - Reads (sync, history, who-read, conversation list, group info) are answered on the device's
//   shard from the store's published state, bounded by page sizes.
// - Devices are admitted on their user's home shard (the device limit, replacement, presence),
//   then resume from their inbox cursor: a catch-up from the store, then live pushes.
//
// docs/architecture.md follows one message through it; docs/threading.md says which shard runs
// what.
//
// Threading: on_open, on_request and on_close run on the device's shard (the router's thread for
// that shard). The administration members may be called from any thread and answer through a
// callback that runs on one of the shards' threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tern/core/clock.hpp>
#include <tern/core/commit_port.hpp>
#include <tern/core/frame_handler.hpp>
#include <tern/core/limits.hpp>
#include <tern/core/policy_outcome.hpp>
#include <tern/core/push_port.hpp>
#include <tern/core/router.hpp>
#include <tern/core/telemetry.hpp>
#include <tern/storage/store.hpp>

namespace tern::v1 {
class TenantPolicy;
class UrgentAudit;
}  // namespace tern::v1

namespace tern::core {

class service final : public frame_handler {
public:
    // Everything must outlive the service; the router must not run its tasks after the service
    // is destroyed (stop it first). `pushes`: where the pushes for devices that are offline or in
    // the background go (null: ternd without a push relay).
    service(router& routes, storage::store& store, commit_port& commits, const limits& limits,
            telemetry& telemetry, const clock& clock = system_clock(), push_port* pushes = nullptr);
    ~service() override;
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    void on_open(const std::shared_ptr<device_port>& device, const v1::Hello& hello,
                 v1::Frame welcome) override;
    void on_request(const std::shared_ptr<device_port>& device, v1::Frame& frame) override;
    void on_close(const std::shared_ptr<device_port>& device) override;

    // ---- administration (any thread) ----------------------------------------------------------

    // The open devices with a connection id above `after_id`, ascending, at most `limit`;
    // `done` runs once every shard has answered.
    void list_devices(std::uint64_t after_id, std::size_t limit,
                      std::function<void(std::vector<device_info>)> done);
    // Closes a user's devices (or one device) with DISCONNECT_KICKED; `done` gets how many.
    void kick(storage::tenant_id tenant, storage::user_id user,
              std::optional<storage::device_id> device, std::function<void(std::size_t)> done);
    // From now on refuses new devices (DISCONNECT_SERVER_DRAINING) and closes the open ones in
    // even batches over `window`, so that they reconnect elsewhere, not all at once. Idempotent.
    void drain(std::chrono::milliseconds window);
    [[nodiscard]] bool draining() const noexcept;

    // Replaces the tenant's notification policy (docs/notifications.md, "Company policy")
    // through the log; `done` once it is durable and every device of the tenant follows it, or
    // with the reason it was refused (invalid: the field; unavailable: retry).
    void set_policy(storage::tenant_id tenant, const v1::TenantPolicy& policy,
                    std::function<void(policy_outcome)> done);
    // The tenant's policy as stored (encoded tern.v1.TenantPolicy; nullopt: none set).
    [[nodiscard]] storage::result<std::optional<std::string>> policy(
        storage::tenant_id tenant) const;
    // The tenant's audit trail of urgent messages sent at or after `from_ms`, oldest first, at
    // most `limit` (docs/notifications.md); false when the store could not be read.
    [[nodiscard]] bool urgent_audit(storage::tenant_id tenant, std::int64_t from_ms,
                                    std::size_t limit, v1::UrgentAudit& out) const;

    // The push relay reported `token` of the device dead: its registration goes, unless the
    // device registered another since. Any thread; failures are counted and logged.
    void forget_push_token(storage::tenant_id tenant, storage::user_id user,
                           storage::device_id device, const std::string& token);

private:
    struct parts;
    std::unique_ptr<parts> parts_;
};

}  // namespace tern::core
