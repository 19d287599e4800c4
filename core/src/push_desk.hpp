// The push desk: which of a recipient's devices are pushed through the relay, when, and with
// what (docs/notifications.md, "Push relays"). Each user's home shard (router::home_of) keeps
// what that needs for the users homed there: their devices' push registrations (read from the
// store the first time a message reaches them, then kept), their notification settings, and
// which of their connections are open and in the foreground (SetAppState).
//
// For every committed message, each recipient's home shard decides as the device table does
// (decide_for) and pushes each registered device that is not open in the foreground, when the
// decision is alert, or silent for a reason other than off hours (off hours nobody's phone
// buzzes: the work-start digest tells them). While the user has a desktop or web device open in
// the foreground, a push to another device waits the grace (limits::push_grace) and a read
// anywhere meanwhile cancels it: the active device wins. A read cancels the pushes still waiting
// for what it covered, and the user's devices that are not in front of them get a silent push
// that carries the new badge (the online ones learn it from receipts: ReceiptUpdate with their
// own cursor).
//
// An urgent message a recipient has not acknowledged is pushed to them again after the policy's
// escalate_after, up to escalate_times times, each naming its channel (push, sms, call) to the
// relay; the timers run on the conversation's owner shard on the core's clock, and stop at the
// acknowledgement, a recall, or the last time.
//
// The work-start digest is kept here too, with or without a push port: each message the
// decision holds back because its recipient is off hours (or in do-not-disturb off hours) is
// counted on the recipient's home shard, per conversation, and a timer for the user's next work
// start is armed on the core's clock. Reads take off what they cover. At the work start what is
// left goes to the user's online devices as a Digest frame and, through the relay, as one push to
// each registered device that is not in front of them. The tallies are in memory: a restart
// forgets them (counted as dropped only when the table's bound forgets one).
//
// With no push port (ternd without [push]) nothing is pushed: registrations are not read, app
// states not kept; only the digest's tallies and the settings that time them are.
//
// Threading: dispatch(), read(), registration_changed() and settings_changed() from any thread
// (they post to the home shard); on_app_state() on the device's shard; connected() and
// disconnected() on the home shard (the presence desk's admission). A home shard's table is
// touched only there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <tern/core/push_port.hpp>

#include "context.hpp"
#include "keys.hpp"
#include "notice_rules.hpp"
#include "tenant_policies.hpp"
#include "user_profile.hpp"

namespace tern::core {

struct delivery;

class push_desk {
public:
    // How a frame reaches every online device of a user (the device table's to_user).
    using user_sender =
        std::function<void(storage::tenant_id, storage::user_id, std::shared_ptr<const v1::Frame>)>;

    push_desk(const context& ctx, push_port* port, tenant_policies& policies, user_sender to_user);

    [[nodiscard]] bool enabled() const noexcept { return port_ != nullptr; }

    // After a commit, from the writer's completion: each recipient's home shard considers
    // pushing their devices.
    void dispatch(storage::tenant_id tenant, const std::shared_ptr<const delivery>& batch);
    // After a read mark (or a send, which reads what came before it) moved `reader`'s cursors.
    void read(storage::tenant_id tenant, storage::user_id reader,
              const std::vector<storage::delivered_change>& changes);
    // After a push registration of the user was committed (set or removed): read again.
    void registration_changed(storage::tenant_id tenant, storage::user_id user);
    // After the user's own settings were committed (null: none).
    void settings_changed(storage::tenant_id tenant, storage::user_id user,
                          std::shared_ptr<const user_profile> own);

    // At the core's start (a restart, a cluster term's start): the escalations still due for the
    // urgent messages already sent are armed again, from the store (each tenant with a policy
    // that escalates, its urgent index over the policy's window), on shard 0 a page of tenants
    // at a time. Each comes at its own time; one that fell due while the server was down is not
    // sent late (the next comes on time).
    void rearm_escalations();

    // SetAppState, on the device's shard.
    void on_app_state(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    // On the home shard: a connection of the user's was admitted (`desktop`: its Hello named a
    // desktop or web platform) / ended.
    void connected(std::size_t home, const requester& who, std::uint64_t connection, bool desktop);
    void disconnected(std::size_t home, const requester& who, std::uint64_t connection);

private:
    // What a push of one message says, the same for every device of every recipient.
    struct message_basis {
        push::push_message message;
        std::string text;  // the preview, if the tenant's policy shows it
        storage::conv_id conv;
    };

    struct open_connection {
        storage::device_id device = 0;
        std::uint64_t id = 0;  // device_port::id()
        bool desktop = false;
        bool foreground = true;  // a connection starts in front of its user
    };
    // What reached a user off hours in one conversation and is not read yet.
    struct digest_part {
        std::uint32_t messages = 0;
        std::uint32_t mentions = 0;
        std::uint64_t first_seq = 0;  // the oldest unread of them
        std::uint64_t last_seq = 0;
        std::uint64_t recency = 0;  // the count when the newest arrived: most recent first
    };
    struct digest_tally {
        std::map<storage::conv_id, digest_part> parts;
        std::int64_t since_ms = 0;
        std::uint64_t counted = 0;  // messages counted so far, read or not
        std::uint64_t timer = 0;    // the armed timer's number: an older timer finds another
    };
    struct user_entry {
        bool registered_known = false;  // `registrations` read from the store
        std::vector<storage::push_registration> registrations;
        bool own_known = false;  // `own` read from the store or committed
        std::shared_ptr<const user_profile> own;
        bool profile_known = false;  // `profile` resolved from `own` under `policy_held`
        std::shared_ptr<const tenant_policy> policy_held;
        std::shared_ptr<const user_profile> profile;  // in force
        hours_cache hours;
        std::vector<open_connection> online;
        std::unique_ptr<digest_tally> digest;  // null: nothing off hours since the last one
    };
    struct home_table {
        std::unordered_map<user_key, user_entry, key_hash> users;
        std::uint64_t next_timer = 1;
    };

    void consider(std::size_t home, storage::tenant_id tenant, const delivery& batch,
                  const std::vector<std::uint32_t>& recipients);
    // ---- the work-start digest
    // Counts the message for the user's digest and arms the work-start timer if none is.
    void tally(std::size_t home, const user_key& user, user_entry& entry,
               const message_basis& basis, bool mentioned, std::int64_t now_ms);
    // Arms (again) the timer for the user's next work start after `now_ms`; forgets the tally
    // when there is none within the schedule's horizon.
    void arm_digest(std::size_t home, const user_key& user, user_entry& entry, std::int64_t now_ms);
    void digest_due(std::size_t home, const user_key& user, std::uint64_t timer);
    void send_digest(std::size_t home, const user_key& user, user_entry& entry,
                     const digest_tally& tally);
    // A read takes what it covers off the user's tally.
    static void read_off(digest_tally& tally,
                         const std::vector<storage::delivered_change>& changes);
    // The message for one registered device, as the tenant's policy lets it show.
    [[nodiscard]] static push::push_message message_for(const message_basis& basis,
                                                        storage::user_id user,
                                                        const storage::push_registration& r,
                                                        const tenant_policy* policy);
    // Escalation: armed on the conversation's owner shard for the `attempt`-th time, after the
    // policy's escalate_after (or `delay`).
    void arm_escalation(storage::tenant_id tenant, std::shared_ptr<const message_basis> basis,
                        std::uint32_t attempt,
                        std::optional<std::chrono::milliseconds> delay = std::nullopt);
    void rearm_from(storage::tenant_id after);
    void rearm_tenant(storage::tenant_id tenant, std::int64_t now_ms);
    void escalate(storage::tenant_id tenant, const std::shared_ptr<const message_basis>& basis,
                  std::uint32_t attempt);
    void push_again(std::size_t home, storage::tenant_id tenant, const message_basis& basis,
                    const std::vector<storage::user_id>& users, push::channel via);
    void clear_badges(std::size_t home, storage::tenant_id tenant, storage::user_id user,
                      std::vector<storage::delivered_change> changes);
    // The user's entry with its registrations read (and, when there are any, the profile in
    // force); null when the store could not be read (counted).
    user_entry* registered(std::size_t home, const user_key& user);
    // The user's entry, made if missing (what it keeps is read when first needed).
    user_entry& entry_of(std::size_t home, const user_key& user);
    // The profile in force under the tenant's policy: `policy` when the caller read it (once
    // for many users), else read here.
    const user_profile* profile_of(const user_key& user, user_entry& entry);
    const user_profile* profile_of(
        const user_key& user, user_entry& entry,
        const storage::result<std::shared_ptr<const tenant_policy>>& policy);
    // Keeps the table bounded: past limits::push_users_cached, the users with no open
    // connection and no digest pending are forgotten (read again when a message next reaches
    // them); if that is not enough, those with a digest pending too (counted dropped).
    void bound(home_table& table);

    [[nodiscard]] static bool in_front(const user_entry& entry, storage::device_id device);
    [[nodiscard]] static bool desk_active(const user_entry& entry, storage::device_id except);

    context ctx_;
    push_port* port_;
    tenant_policies& policies_;
    user_sender to_user_;
    shard_local<home_table> homes_;
};

}  // namespace tern::core
