#include "notice_rules.hpp"

#include <algorithm>

namespace tern::core {

namespace {

// The entry of `user` in `table`, or where it would go (the table ascends by user).
template <class Table>
auto entry_of(Table& table, storage::user_id user) {
    return std::lower_bound(table.begin(), table.end(), user,
                            [](const auto& entry, storage::user_id u) { return entry.first < u; });
}

}  // namespace

storage::mute_setting mute_of(const mute_table* table, storage::user_id user) noexcept {
    if (!table) return {};
    const auto it = entry_of(*table, user);
    return it != table->end() && it->first == user ? it->second : storage::mute_setting{};
}

std::shared_ptr<const mute_table> with_mute(const mute_table* table, storage::user_id user,
                                            const storage::mute_setting& mute) {
    auto next = std::make_shared<mute_table>();
    if (table) *next = *table;
    const auto it = entry_of(*next, user);
    const bool present = it != next->end() && it->first == user;
    if (mute == storage::mute_setting{}) {
        if (present) next->erase(it);
    } else if (present) {
        it->second = mute;
    } else {
        next->insert(it, {user, mute});
    }
    if (next->empty()) return nullptr;
    return next;
}

notice_decision decide_notice(const event_facts& event, const recipient_facts& to) noexcept {
    using storage::notify_level;
    if (to.user == event.sender) return {notice::none, notice_reason::own_event};
    if (!event.is_message) return {notice::silent, notice_reason::not_a_message};
    // Governed urgency passes everything the recipient or the company set; nothing else does.
    if ((event.flags & flag_urgent) != 0 && to.urgent_allowed) {
        return {notice::alert, notice_reason::urgent};
    }
    if ((event.flags & flag_silent) != 0) return {notice::silent, notice_reason::sender_silenced};
    if (to.mute == notify_level::nothing) return {notice::none, notice_reason::muted};
    const bool mentioned = event.mentions_all || std::binary_search(event.mentions.begin(),
                                                                    event.mentions.end(), to.user);
    if (to.mute == notify_level::mentions && !mentioned) {
        return {notice::none, notice_reason::not_mentioned};
    }
    if ((event.flags & flag_no_unread) != 0) return {notice::silent, notice_reason::no_unread};
    if (to.do_not_disturb) return {notice::silent, notice_reason::do_not_disturb};
    if (!to.working && !to.notify_off_hours) return {notice::silent, notice_reason::off_hours};
    if (mentioned) return {notice::alert, notice_reason::mentioned};
    return {notice::alert, notice_reason::message};
}

}  // namespace tern::core
