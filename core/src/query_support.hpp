// What the read-only answers (queries.cpp, query_lists.cpp) share: the frame's byte budget, the
// membership check, and the errors they answer with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <tern/core/limits.hpp>
#include <tern/core/requester.hpp>
#include <tern/storage/store.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::core {

// A reply built to the frame's byte budget, item by item. Every event the owner stores fits a
// frame with its envelope (limits::max_event_bytes), and every list item is far smaller than a
// frame, so a page always takes its first item and is never empty while items remain. One that
// does not fit (an event stored before that rule, or a bug) is refused with an error: never a
// reply dropped in silence.
class reply_budget {
public:
    explicit reply_budget(const limits& l)
        : room_(l.max_frame_bytes - limits::event_envelope_bytes / 2) {}

    enum class verdict { take, full, never_fits };
    // Whether an item of `size` encoded bytes joins the reply (its tag and length included).
    verdict offer(std::size_t size) {
        const auto cost = size + per_item;
        if (used_ + cost <= room_) {
            used_ += cost;
            return verdict::take;
        }
        return used_ == 0 ? verdict::never_fits : verdict::full;
    }

private:
    // An item's own tag and length, and a Push's inbox_seq, within a reply.
    static constexpr std::size_t per_item = 24;
    std::size_t room_;
    std::size_t used_ = 0;
};

[[nodiscard]] v1::Frame does_not_fit(std::uint64_t req_id, std::size_t bytes);
[[nodiscard]] v1::Frame store_failed(std::uint64_t req_id);

// What of a conversation's timeline `who` may read: from the event that made them a member
// (a member added to a group does not read what was said before it joined; the users of a direct
// conversation read all of it), or the refusal to answer with.
struct visible_timeline {
    std::optional<v1::Frame> refused;
    storage::seq_t from = 1;
    std::optional<storage::conv_meta> meta;  // the conversation's record (none: not begun)
};
[[nodiscard]] visible_timeline timeline_of(const storage::store& store, const requester& who,
                                           std::uint64_t req_id, const storage::conv_id& conv);

}  // namespace tern::core
