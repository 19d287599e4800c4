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
    const auto refuse = [](v1::Frame answer) {
        return visible_timeline{std::move(answer), 1, std::nullopt};
    };
    auto meta = store.conversation(who.tenant, conv);
    if (!meta) return refuse(store_failed(req_id));
    if (conv.type == storage::conv_type::direct) {
        if (is_party(who, conv)) return {std::nullopt, 1, std::move(*meta)};
        return refuse(error_frame(req_id, v1::NOT_MEMBER, "not a member"));
    }
    auto member = store.member(who.tenant, conv, who.user);
    if (!member) return refuse(store_failed(req_id));
    if (!*member || !*meta) return refuse(error_frame(req_id, v1::NOT_MEMBER, "not a member"));
    // The group shows new members everything, or each member from the event that added it.
    const auto from =
        (*meta)->whole_history ? 1 : std::max<storage::seq_t>((*member)->joined_seq, 1);
    return {std::nullopt, from, std::move(*meta)};
}

}  // namespace tern::core
