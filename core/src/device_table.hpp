// The device table: the devices online on each shard, and everything that reaches them: a
// committed event's pushes, receipts and read counts for one user, typing for a group's members,
// and the catch-up that brings a device from its inbox cursor to the head before live pushes
// take over (catch_up.cpp).
//
// A device's cursor is the newest inbox_seq pushed or synced to it. A push that does not follow
// its cursor (a push lost or overtaken) sends the device back to the store, so no gap is ever
// left; while a device catches up, live pushes to it wait (the catch-up reads them).
//
// Threading: the members marked "any thread" post to the shards that hold a recipient's device
// (device_directory.hpp); the others run on the device's own shard. Per-shard state is touched
// only there.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "context.hpp"
#include "device_directory.hpp"
#include "keys.hpp"
#include "notice_rules.hpp"
#include "push_desk.hpp"
#include "session_handover.hpp"
#include "tenant_policies.hpp"
#include "user_profile.hpp"

namespace tern::core {

// A committed event on its way to its recipients' devices: shared by every shard it goes to.
struct delivery {
    storage::event_bytes event;
    std::vector<storage::inbox_assignment> inbox;
    std::chrono::steady_clock::time_point accepted_at;  // the request's arrival at its owner
    notice_basis basis;  // how each recipient's devices announce it (notice_rules.hpp)
};

class device_table {
public:
    // `pushes`: where pushes for devices that are not in front of their user go (null: none).
    device_table(const context& ctx, const std::atomic<bool>& draining, push_port* pushes);

    // Which devices are pushed through the relay (push_desk.hpp).
    [[nodiscard]] push_desk& pushes() noexcept { return pushes_; }

    // ---- on the device's shard ---------------------------------------------------------------

    // A device its home shard admitted: reads where it resumes (its hint, else the later of the
    // cursor its Acks left and the floor of its previous session: session_handover.hpp) with the
    // inbox head and the first page, sends the Welcome, registers the device and pushes the
    // page. False when the device did not open (gone, a store failure, the server draining): the
    // caller undoes the admission.
    bool open(const std::shared_ptr<device_port>& device, const resume_point& resume,
              v1::Frame welcome);

    // The device acknowledged everything up to inbox_seq (its Ack).
    void acknowledged(const std::shared_ptr<device_port>& device, std::uint64_t inbox_seq);

    // What a closed device leaves behind: the users whose presence it followed, and the newest
    // inbox_seq it acknowledged or resumed from (its next session's floor).
    struct closed_device {
        std::vector<storage::user_id> watched;
        std::uint64_t acked = 0;
    };
    closed_device close(const std::shared_ptr<device_port>& device);

    // The users whose presence the device follows, ascending; null for a device not open here.
    [[nodiscard]] std::vector<storage::user_id>* watching(
        const std::shared_ptr<device_port>& device);

    // Every open device of `shard`.
    void for_each(std::size_t shard,
                  const std::function<void(const std::shared_ptr<device_port>&)>& f);

    // ---- any thread --------------------------------------------------------------------------

    // After a commit, from the writer's completion, in commit order: the event to each shard
    // holding a recipient's device (one post per shard, the batch shared).
    void dispatch(storage::tenant_id tenant, std::shared_ptr<const delivery> batch);
    // A frame for every device of one user.
    void to_user(storage::tenant_id tenant, storage::user_id user,
                 std::shared_ptr<const v1::Frame> frame);
    // The user's notification settings changed (after the commit): every device of theirs
    // announces what follows by them (null: none), with the hours the tenant's policy gives.
    void set_profile(storage::tenant_id tenant, storage::user_id user,
                     std::shared_ptr<const user_profile> profile);
    // The tenant's policy changed (after the commit; null: removed): every device of the
    // tenant announces what follows by it.
    void set_policy(storage::tenant_id tenant, std::shared_ptr<const tenant_policy> policy);
    // The tenant's policy as last committed or stored (null: none, or the read failed: counted).
    [[nodiscard]] std::shared_ptr<const tenant_policy> policy(storage::tenant_id tenant);
    // The user's own settings from the store (null: none, or the read failed: counted).
    [[nodiscard]] std::shared_ptr<const user_profile> own_profile(const requester& who);
    // A frame for every device of `members` (ascending) but `except`'s, dropped for a device
    // whose queue is busy (typing: ephemeral).
    void to_members(storage::tenant_id tenant,
                    std::shared_ptr<const std::vector<storage::user_id>> members,
                    storage::user_id except, std::shared_ptr<const v1::Frame> frame);

private:
    struct device_entry {
        std::shared_ptr<device_port> port;
        std::uint64_t cursor = 0;                 // newest inbox_seq pushed or synced
        std::uint64_t acked = 0;                  // newest inbox_seq acknowledged or resumed from
        bool catching_up = false;                 // reading the store; live pushes wait
        std::vector<storage::user_id> watching;   // presence followed, ascending
        std::shared_ptr<const user_profile> own;  // the user's settings (null: none)
        std::shared_ptr<const user_profile> profile;  // with the hours the policy gives
        hours_cache hours;                            // whether the user is at work now
    };
    using user_devices = std::unordered_map<user_key, std::vector<device_entry>, key_hash>;
    struct shard_devices {
        user_devices online;
    };

    void deliver(std::size_t shard, storage::tenant_id tenant, const delivery& batch);
    bool push(device_entry& device, std::uint64_t inbox_seq, const storage::event_bytes& event,
              notice announce);
    void send_to_user(std::size_t shard, const user_key& user, const v1::Frame& frame);
    void send_to_members(std::size_t shard, storage::tenant_id tenant,
                         const std::vector<storage::user_id>& members, storage::user_id except,
                         const v1::Frame& frame);
    device_entry* find(std::size_t shard, const user_key& user, const device_port* port);

    // catch_up.cpp: the pager.
    [[nodiscard]] storage::result<storage::inbox_page> first_page(const requester& who,
                                                                  const resume_point& resume) const;
    void start_catch_up(std::size_t shard, const user_key& user, device_entry& device);
    void catch_up(std::size_t shard, const user_key& user, const std::weak_ptr<device_port>& weak);
    void push_page(std::size_t shard, const user_key& user, device_entry& device,
                   const std::vector<storage::inbox_item>& page);

    context ctx_;
    const std::atomic<bool>& draining_;
    device_directory directory_;
    shard_local<shard_devices> shards_;
    tenant_policies policies_;
    push_desk pushes_;
};

}  // namespace tern::core
