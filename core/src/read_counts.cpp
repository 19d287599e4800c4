#include "read_counts.hpp"

#include <algorithm>

namespace tern::core {

std::vector<sender_read_counts> count_reads(std::span<const storage::stored_event> events,
                                            std::span<const storage::member_cursor> members) {
    std::vector<sender_read_counts> out;
    for (const auto& e : events) {
        if (e.kind != storage::event_kind::message || e.recalled) continue;
        read_count c{e.seq, 0, 0};
        for (const auto& [member, cursor] : members) {
            if (member.user == e.sender || member.joined_seq > e.seq) continue;
            ++c.members;
            if (cursor.read_up_to >= e.seq) ++c.read;
        }
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const auto& s) { return s.sender == e.sender; });
        if (it == out.end()) it = out.insert(out.end(), sender_read_counts{e.sender, {}});
        it->counts.push_back(c);
    }
    return out;
}

}  // namespace tern::core
