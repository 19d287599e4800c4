// The conversation owner: on the shard that owns a conversation (router::owner_of), everything
// that appends to its timeline. For each request it dedups by client_msg_id (the requests still
// in flight, then the store's records), decides (decide.hpp, through the request table) on its
// cached view of the conversation, and submits the entry to the commit writer. When the entry is
// durable, the writer's completion hands the event to the device table (dispatch) and posts the
// outcome back here, which acknowledges the sender and every retry that waited (settle).
//
// Under back-pressure (a full commit port) it refuses requests retryably, and keeps each device's
// requests in a conversation in the order the device sent them (order_fence.hpp).
//
// It also relays typing: the owner's cached membership says who may type and who hears it; and
// keeps its members' mute settings (MuteConversation), so that every delivery it decides carries
// the settings in force when it was decided (notice_rules.hpp).
//
// It records members' acknowledgements of urgent messages (AcknowledgeUrgent), once per member
// and event, and tells the sender's devices.
//
// Threading: own(), relay_typing(), set_mute(), acknowledge() and settle() run on the owner
// shard; submit(), submit_typing(), submit_mute() and submit_urgent_ack() from any thread (they
// post there). Per-shard state is touched
// only there.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "context.hpp"
#include "decide.hpp"
#include "device_table.hpp"
#include "keys.hpp"
#include "notice_rules.hpp"
#include "order_fence.hpp"
#include "receipts.hpp"
#include "requests.hpp"

namespace tern::core {

// An event-appending request on its way to its conversation's owner.
struct event_request {
    requester who;
    v1::Frame frame;
    reply_to reply;
    const request_kind* kind = nullptr;
};

class conversation_owner {
public:
    conversation_owner(const context& ctx, device_table& devices, receipts& receipts);

    // Any thread: to the owner of the conversation the request names (for a group creation, the
    // group its id is derived from). Refuses a malformed conversation id at once.
    void submit(event_request req);
    // Any thread: a Typing frame, to the owner of its conversation.
    void submit_typing(const std::shared_ptr<device_port>& from, const v1::Frame& frame);
    // Any thread: a MuteConversation, checked here, then to the owner of its conversation.
    void submit_mute(const std::shared_ptr<device_port>& from, const v1::Frame& frame);
    // Any thread: an AcknowledgeUrgent, checked here, then to the owner of its conversation.
    void submit_urgent_ack(const std::shared_ptr<device_port>& from, const v1::Frame& frame);

    // A group's id is derived from its creation request, (tenant, creator, client_msg_id), so a
    // retry names the same group and reaches the same owner, whose dedup answers it. 63 bits:
    // a collision inside one tenant is improbable enough that the owner merely refuses one.
    [[nodiscard]] static std::uint64_t group_id_for(const requester& who,
                                                    const std::string& client_msg_id);

private:
    // One member's acknowledgement of one event.
    struct urgent_ack_key {
        storage::seq_t seq = 0;
        storage::user_id user = 0;
        friend auto operator<=>(const urgent_ack_key&, const urgent_ack_key&) = default;
    };
    // What the owner knows of a conversation.
    struct owned_conv {
        conv_state state;
        bool loaded = false;
        bool stale = false;         // a commit failed: reload once nothing is in flight
        std::size_t in_flight = 0;  // its entries in the writer's hands (events, mute settings)
        std::set<storage::seq_t> recalls_in_flight;  // targets of recalls not yet committed
        // The members' ids, ascending, shared with typing relays; rebuilt after a change.
        std::shared_ptr<const std::vector<storage::user_id>> member_ids;
        // The members who muted it (null: none), shared with deliveries; replaced on a change.
        std::shared_ptr<const mute_table> mutes;
        // Urgent acknowledgements in the writer's hands, with every request waiting on each.
        std::map<urgent_ack_key, std::vector<reply_to>> acks_in_flight;
    };
    struct dedup_key {
        storage::tenant_id tenant = 0;
        storage::user_id user = 0;
        std::string client_msg_id;
        friend bool operator==(const dedup_key&, const dedup_key&) = default;
    };
    struct dedup_hash {
        std::size_t operator()(const dedup_key& k) const noexcept {
            return mix(mix(k.tenant, k.user), std::hash<std::string>{}(k.client_msg_id));
        }
    };
    // A request whose entry is in the writer's hands, with every request waiting on its id.
    struct pending_event {
        request_identity identity;
        storage::conv_id conv;
        storage::seq_t seq = 0;
        std::int64_t server_time_ms = 0;
        storage::seq_t recalls = 0;     // a recall: its target
        std::vector<reply_to> waiters;  // the first one sent it; the others are retries
    };
    struct shard_convs {
        std::unordered_map<conv_key, owned_conv, key_hash> convs;
        std::unordered_map<dedup_key, pending_event, dedup_hash> pending;
        order_fence fence;  // a device's requests in order, under back-pressure
    };

    void own(std::size_t shard, const conv_key& key, event_request req);
    // True when the request was answered from dedup (in flight or stored): a retry gets the
    // original's outcome, another request under the same id CLIENT_MSG_ID_REUSED.
    bool answered_by_dedup(shard_convs& local, const conv_key& key, const dedup_key& dkey,
                           const request_identity& identity, const event_request& req);
    void commit(std::size_t shard, const conv_key& key, const dedup_key& dkey, owned_conv& oc,
                storage::append_event entry, notice_basis basis, const reply_to& reply,
                std::chrono::steady_clock::time_point accepted_at);
    void settle(std::size_t shard, const conv_key& key, const dedup_key& dkey,
                boost::system::error_code ec);
    void relay_typing(std::size_t shard, const conv_key& key, const reply_to& from,
                      storage::user_id user, v1::Frame frame);
    void set_mute(std::size_t shard, const conv_key& key, const reply_to& from,
                  storage::user_id user, storage::mute_setting mute);
    void mute_settled(std::size_t shard, const conv_key& key, boost::system::error_code ec);
    void acknowledge(std::size_t shard, const conv_key& key, const reply_to& from,
                     urgent_ack_key ack);
    void acknowledged(std::size_t shard, const conv_key& key, urgent_ack_key ack,
                      std::int64_t at_ms, storage::user_id sender, boost::system::error_code ec);
    // The owner's view of the conversation, loaded from the store when needed; null when it
    // cannot be had now (`reply` was answered).
    owned_conv* load(shard_convs& local, const conv_key& key, const reply_to& reply);
    target_event target_of(const conv_key& key, storage::seq_t seq, const owned_conv& oc);
    std::int64_t event_time(storage::tenant_id tenant, const storage::dedup_record& rec);
    // Mirrors the store's membership rules on the cached view (docs/storage.md).
    static void apply_membership(owned_conv& oc, storage::seq_t seq,
                                 const std::vector<storage::membership_change>& changes);

    context ctx_;
    device_table& devices_;
    receipts& receipts_;
    shard_local<shard_convs> shards_;
};

}  // namespace tern::core
