// Urgent messages (MESSAGE_FLAG_URGENT, docs/notifications.md, "Urgent messages"): an urgent
// message passes mute, do-not-disturb and quiet hours, so each one is governed before its owner
// sees it. Here, on the sender's home shard (router::home_of), one place per sender:
//
// - the tenant's policy must let the sender send urgent (a role of their token, or listed);
// - the sender's daily budget must not be spent: the urgent messages stored today (the store's
//   urgent index, which the same commit writes) plus those still on their way to their owners.
//   Serializing on the home shard is what keeps two sends to two conversations (two owners) from
//   both taking the last one.
//
// The reason is checked here too (and with the rest of the content by the owner, decide.cpp), so
// that a send refused for it holds no place in the budget. A send its owner refuses for another
// reason (not a member, say) holds its place until it is presumed failed, ten seconds later. A
// retry of an urgent send already stored goes on to its owner, which answers it as a duplicate, and
// spends nothing. Every stored urgent message is in the tenant's audit trail (urgent_audit below).
//
// Threading: submit() from any thread; the rest on the home shard.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "context.hpp"
#include "conversation_owner.hpp"
#include "device_table.hpp"
#include "keys.hpp"

namespace tern::v1 {
class UrgentAudit;
}

namespace tern::core {

class urgent_desk {
public:
    urgent_desk(const context& ctx, device_table& devices, conversation_owner& owner);

    void submit(event_request req);

private:
    // An urgent send passed on to its owner and not yet seen stored (nor failed).
    struct on_its_way {
        std::string client_msg_id;
        std::int64_t since_ms = 0;
    };
    struct home {
        std::unordered_map<user_key, std::vector<on_its_way>, key_hash> pending;
    };

    void check(std::size_t shard, event_request req);
    // Drops the sends that were stored since, or failed (not stored within ten seconds).
    [[nodiscard]] bool prune(const requester& who, std::vector<on_its_way>& pending,
                             std::int64_t now_ms);

    context ctx_;
    device_table& devices_;
    conversation_owner& owner_;
    shard_local<home> homes_;
};

// The tenant's urgent messages sent at or after `from_ms`, oldest first, at most `limit`, each
// with its reason read from the stored event; false when a read failed.
[[nodiscard]] bool urgent_audit(const storage::store& store, storage::tenant_id tenant,
                                std::int64_t from_ms, std::size_t limit, v1::UrgentAudit& out);

}  // namespace tern::core
