// Read counts for group senders ("read by 3 of 5"), computed from cursors: per message, the
// members other than its sender who were members when it was sent, and how many of them have
// read_up_to >= its seq. One pass over the members serves a whole window of messages, so a
// conversation's counts cost O(members x messages in the window) per coalescing interval, never
// one notification per reader per message.
#pragma once

#include <span>
#include <vector>

#include <tern/storage/types.hpp>

namespace tern::core {

struct read_count {
    storage::seq_t seq = 0;
    std::uint32_t read = 0;
    std::uint32_t members = 0;
    friend bool operator==(const read_count&, const read_count&) = default;
};

// The counts of one sender's messages, ascending by seq.
struct sender_read_counts {
    storage::user_id sender = 0;
    std::vector<read_count> counts;
};

// Counts for every message (not recalled) among `events`, grouped by sender in order of first
// appearance. `members`: the conversation's members with their cursors.
[[nodiscard]] std::vector<sender_read_counts> count_reads(
    std::span<const storage::stored_event> events, std::span<const storage::member_cursor> members);

}  // namespace tern::core
