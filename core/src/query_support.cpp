#include "query_support.hpp"

#include <algorithm>
#include <string>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"

namespace tern::core {

using wire::error_frame;

v1::Frame does_not_fit(std::uint64_t req_id, std::size_t bytes) {
    return error_frame(req_id, v1::INTERNAL,
                       "a stored item of " + std::to_string(bytes) + " bytes does not fit a frame");
}

v1::Frame store_failed(std::uint64_t req_id) {
    return error_frame(req_id, v1::UNAVAILABLE, "store read failed");
}

visible_timeline timeline_of(const storage::store& store, const requester& who,
                             std::uint64_t req_id, const storage::conv_id& conv) {
    if (conv.type == storage::conv_type::direct) {
        if (is_party(who, conv)) return {};
        return {error_frame(req_id, v1::NOT_MEMBER, "not a member")};
    }
    auto member = store.member(who.tenant, conv, who.user);
    if (!member) return {store_failed(req_id)};
    if (!*member) return {error_frame(req_id, v1::NOT_MEMBER, "not a member")};
    auto meta = store.conversation(who.tenant, conv);
    if (!meta) return {store_failed(req_id)};
    if (*meta && (*meta)->whole_history) return {};  // the group shows new members everything
    return {std::nullopt, std::max<storage::seq_t>((*member)->joined_seq, 1)};
}

}  // namespace tern::core
