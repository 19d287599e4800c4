#include <tern/storage/memory_store.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "apply_rules.hpp"

namespace tern::storage {
namespace {

// The receipt cursor plus the unread ordinal at read_up_to (how many countable events precede
// and include it), which makes unread = conv.countable - read_ordinal an O(1) computation.
struct cursor_state {
    receipt_cursor cursor;
    std::uint64_t read_ordinal = 0;
};

struct event_state {
    stored_event event;
    std::uint64_t ordinal = 0;  // countable events up to and including this one
};

struct conv_state {
    conv_meta meta;
    std::map<seq_t, event_state> timeline;
    std::map<user_id, member_record> members;
    std::map<user_id, cursor_state> cursors;
    std::map<std::pair<seq_t, user_id>, std::int64_t> urgent_acks;  // ack_urgent: when
};

struct user_state {
    std::map<std::uint64_t, std::pair<conv_id, seq_t>> inbox;
    std::uint64_t inbox_head = 0;
    std::set<conv_id> convs;
    std::map<device_id, std::uint64_t> devices;
};

using conv_key = std::pair<tenant_id, conv_id>;
using user_key = std::pair<tenant_id, user_id>;
using dedup_key = std::tuple<tenant_id, user_id, std::string>;

// The reference model: plain maps, the apply rules of docs/storage.md written as directly as
// possible. Durability modes make no difference here.
class memory_store final : public store {
public:
    result<std::vector<entry_result>> apply(std::span<const log_entry> entries,
                                            durability /*mode*/) override {
        std::lock_guard lock(mutex_);
        std::vector<entry_result> out;
        out.reserve(entries.size());
        for (const auto& entry : entries) {
            out.push_back(std::visit([this](const auto& e) { return apply_one(e); }, entry));
            ++applied_;
        }
        return out;
    }

    result<void> sync() override { return {}; }

    // Nothing here is durable, so nothing needs hiding: staged entries are visible at once.
    result<staged> stage(std::span<const log_entry> entries) override {
        auto results = apply(entries, durability::memory);
        if (!results) return results.error();
        return staged{std::move(*results), nullptr};
    }
    result<void> publish(const staged_token& /*token*/, bool /*sync*/) override { return {}; }

    result<std::optional<conv_meta>> conversation(tenant_id t, const conv_id& c) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<conv_meta>{};
        return std::optional<conv_meta>{conv->meta};
    }

    result<std::vector<stored_event>> timeline(tenant_id t, const conv_id& c, seq_t from,
                                               direction dir, std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::vector<stored_event> out;
        const auto* conv = find_conv(t, c);
        if (!conv || limit == 0) return out;
        if (dir == direction::forward) {
            for (auto it = conv->timeline.lower_bound(std::max<seq_t>(from, 1));
                 it != conv->timeline.end() && out.size() < limit; ++it) {
                out.push_back(it->second.event);
            }
        } else {
            const seq_t start = from == 0 ? conv->meta.head_seq : from;
            for (auto it = conv->timeline.upper_bound(start);
                 it != conv->timeline.begin() && out.size() < limit;) {
                --it;
                out.push_back(it->second.event);
            }
        }
        return out;
    }

    result<std::vector<member_record>> members(tenant_id t, const conv_id& c) const override {
        std::lock_guard lock(mutex_);
        std::vector<member_record> out;
        if (const auto* conv = find_conv(t, c)) {
            for (const auto& [user, m] : conv->members) out.push_back(m);
        }
        return out;
    }

    result<std::optional<member_record>> member(tenant_id t, const conv_id& c,
                                                user_id u) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<member_record>{};
        auto it = conv->members.find(u);
        if (it == conv->members.end()) return std::optional<member_record>{};
        return std::optional<member_record>{it->second};
    }

    result<std::vector<conv_summary>> conversations_of(tenant_id t, user_id u) const override {
        std::lock_guard lock(mutex_);
        std::vector<conv_summary> out;
        const auto* user = find_user(t, u);
        if (!user) return out;
        for (const auto& c : user->convs) {
            const auto& conv = convs_.at({t, c});
            const auto& cursor = conv.cursors.at(u);
            const auto& member = conv.members.at(u);
            out.push_back({conv.meta, member.member_role, cursor.cursor,
                           conv.meta.countable - cursor.read_ordinal, member.mute});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return conv_position::before(conv_position::of(a.meta), conv_position::of(b.meta));
        });
        return out;
    }

    result<conv_summary_page> conversation_page(tenant_id t, user_id u,
                                                const std::optional<conv_position>& after,
                                                std::size_t limit) const override {
        auto all = conversations_of(t, u);
        if (!all) return all.error();
        conv_summary_page page;
        for (auto& c : *all) {
            if (after && !conv_position::before(*after, conv_position::of(c.meta))) continue;
            if (page.items.size() == limit) {
                page.has_more = true;
                break;
            }
            page.items.push_back(std::move(c));
        }
        return page;
    }

    result<std::vector<member_record>> members_after(tenant_id t, const conv_id& c, user_id after,
                                                     std::size_t limit) const override {
        auto all = members(t, c);
        if (!all) return all.error();
        std::vector<member_record> out;
        for (const auto& m : *all) {
            if (m.user <= after) continue;
            if (out.size() == limit) break;
            out.push_back(m);
        }
        return out;
    }

    result<std::optional<receipt_cursor>> receipt(tenant_id t, const conv_id& c,
                                                  user_id u) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<receipt_cursor>{};
        auto it = conv->cursors.find(u);
        if (it == conv->cursors.end()) return std::optional<receipt_cursor>{};
        return std::optional<receipt_cursor>{it->second.cursor};
    }

    result<std::vector<member_cursor>> member_cursors(tenant_id t,
                                                      const conv_id& c) const override {
        std::lock_guard lock(mutex_);
        std::vector<member_cursor> out;
        const auto* conv = find_conv(t, c);
        if (!conv) return out;
        for (const auto& [user, m] : conv->members) {
            out.push_back({m, conv->cursors.at(user).cursor});
        }
        return out;
    }

    result<std::optional<who_read>> readers(tenant_id t, const conv_id& c,
                                            seq_t seq) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<who_read>{};
        auto ev = conv->timeline.find(seq);
        if (ev == conv->timeline.end()) return std::optional<who_read>{};
        who_read out;
        for (const auto& [user, m] : conv->members) {
            if (user == ev->second.event.sender || m.joined_seq > seq) continue;
            (conv->cursors.at(user).cursor.read_up_to >= seq ? out.read : out.unread)
                .push_back(user);
        }
        return std::optional<who_read>{std::move(out)};
    }

    result<std::optional<urgent_roll>> urgent_acks(tenant_id t, const conv_id& c,
                                                   seq_t seq) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<urgent_roll>{};
        auto ev = conv->timeline.find(seq);
        if (ev == conv->timeline.end()) return std::optional<urgent_roll>{};
        urgent_roll out;
        for (const auto& [user, m] : conv->members) {
            if (user == ev->second.event.sender || m.joined_seq > seq) continue;
            auto ack = conv->urgent_acks.find({seq, user});
            if (ack == conv->urgent_acks.end()) {
                out.awaiting.push_back(user);
            } else {
                out.acknowledged.push_back({user, ack->second});
            }
        }
        return std::optional<urgent_roll>{std::move(out)};
    }

    result<std::optional<std::int64_t>> urgent_acked(tenant_id t, const conv_id& c, seq_t seq,
                                                     user_id u) const override {
        std::lock_guard lock(mutex_);
        const auto* conv = find_conv(t, c);
        if (!conv) return std::optional<std::int64_t>{};
        auto ack = conv->urgent_acks.find({seq, u});
        if (ack == conv->urgent_acks.end()) return std::optional<std::int64_t>{};
        return std::optional<std::int64_t>{ack->second};
    }

    result<std::vector<push_registration>> push_tokens(tenant_id t, user_id u) const override {
        std::lock_guard lock(mutex_);
        std::vector<push_registration> out;
        for (auto it = pushes_.lower_bound({t, u, 0});
             it != pushes_.end() && std::get<0>(it->first) == t && std::get<1>(it->first) == u;
             ++it) {
            out.push_back(it->second);
        }
        return out;
    }

    result<std::uint64_t> inbox_head(tenant_id t, user_id u) const override {
        std::lock_guard lock(mutex_);
        const auto* user = find_user(t, u);
        return user ? user->inbox_head : 0;
    }

    result<std::vector<inbox_item>> inbox_after(tenant_id t, user_id u, std::uint64_t after,
                                                std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        return items_after(t, u, after, limit);
    }

    result<inbox_page> inbox_page_after(tenant_id t, user_id u, std::uint64_t after,
                                        std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        inbox_page page;
        const auto* user = find_user(t, u);
        page.head = user ? user->inbox_head : 0;
        page.after = std::min(after, page.head);
        page.items = items_after(t, u, page.after, limit);
        return page;
    }

    result<std::uint64_t> device_cursor(tenant_id t, user_id u, device_id d) const override {
        std::lock_guard lock(mutex_);
        const auto* user = find_user(t, u);
        if (!user) return 0;
        auto it = user->devices.find(d);
        return it == user->devices.end() ? 0 : it->second;
    }

    result<std::optional<dedup_record>> find_dedup(tenant_id t, user_id sender,
                                                   std::string_view cmid) const override {
        std::lock_guard lock(mutex_);
        auto it = dedup_.find({t, sender, std::string(cmid)});
        if (it == dedup_.end()) return std::optional<dedup_record>{};
        return std::optional<dedup_record>{it->second};
    }

    result<std::uint64_t> applied_index() const override {
        std::lock_guard lock(mutex_);
        return applied_;
    }

    result<std::optional<std::string>> user_settings(tenant_id t, user_id u) const override {
        std::lock_guard lock(mutex_);
        auto it = settings_.find({t, u});
        if (it == settings_.end()) return std::optional<std::string>{};
        return std::optional<std::string>{it->second};
    }

    result<std::vector<tenant_id>> policy_tenants(tenant_id after,
                                                  std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::vector<tenant_id> out;
        for (auto it = settings_.upper_bound({after, UINT64_MAX});
             it != settings_.end() && out.size() < limit; ++it) {
            if (it->first.second == tenant_policy_record) out.push_back(it->first.first);
        }
        return out;
    }

    result<std::vector<urgent_send>> urgent_sends(tenant_id t, std::int64_t from_ms,
                                                  std::size_t limit,
                                                  std::optional<user_id> sender) const override {
        std::lock_guard lock(mutex_);
        std::vector<urgent_send> out;
        for (auto it = urgent_.lower_bound({t, from_ms, conv_id{conv_type{0}, 0, 0}, 0});
             it != urgent_.end() && std::get<0>(it->first) == t && out.size() < limit; ++it) {
            if (sender && it->second != *sender) continue;
            const auto& [tenant, time, conv, seq] = it->first;
            out.push_back({time, conv, seq, it->second});
        }
        return out;
    }

    result<std::vector<scheduled_message>> scheduled_of(tenant_id t,
                                                        user_id sender) const override {
        std::lock_guard lock(mutex_);
        std::vector<scheduled_message> out;
        for (auto it = scheduled_.lower_bound({t, sender, 0});
             it != scheduled_.end() && std::get<0>(it->first) == t &&
             std::get<1>(it->first) == sender;
             ++it) {
            out.push_back(it->second);
        }
        return out;
    }

    result<std::optional<scheduled_message>> scheduled(tenant_id t, user_id sender,
                                                       std::uint64_t id) const override {
        std::lock_guard lock(mutex_);
        const auto it = scheduled_.find({t, sender, id});
        if (it == scheduled_.end()) return std::optional<scheduled_message>{};
        return std::optional<scheduled_message>{it->second};
    }

    result<std::vector<scheduled_ref>> scheduled_due(std::int64_t up_to_ms,
                                                     std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::vector<scheduled_ref> out;
        for (auto it = due_.begin();
             it != due_.end() && it->release_at_ms <= up_to_ms && out.size() < limit; ++it) {
            out.push_back(*it);
        }
        return out;
    }

    result<std::optional<log_position>> position(std::uint32_t partition) const override {
        std::lock_guard lock(mutex_);
        auto it = positions_.find(partition);
        if (it == positions_.end()) return std::optional<log_position>{};
        return std::optional<log_position>{it->second};
    }

    result<void> verify() const override {
        std::lock_guard lock(mutex_);
        return check() ? result<void>{} : result<void>{make_error_code(errc::inconsistent)};
    }

private:
    // Caller holds mutex_.
    std::vector<inbox_item> items_after(tenant_id t, user_id u, std::uint64_t after,
                                        std::size_t limit) const {
        std::vector<inbox_item> out;
        const auto* user = find_user(t, u);
        if (!user) return out;
        for (auto it = user->inbox.upper_bound(after);
             it != user->inbox.end() && out.size() < limit; ++it) {
            const auto& [conv, seq] = it->second;
            event_bytes bytes;
            if (const auto* cs = find_conv(t, conv)) {
                if (auto ev = cs->timeline.find(seq); ev != cs->timeline.end()) {
                    bytes = ev->second.event.bytes;
                }
            }
            out.push_back({it->first, conv, seq, std::move(bytes)});
        }
        return out;
    }

    const conv_state* find_conv(tenant_id t, const conv_id& c) const {
        auto it = convs_.find({t, c});
        return it == convs_.end() ? nullptr : &it->second;
    }
    const user_state* find_user(tenant_id t, user_id u) const {
        auto it = users_.find({t, u});
        return it == users_.end() ? nullptr : &it->second;
    }

    entry_result apply_one(const append_event& e) {
        auto existing = convs_.find({e.tenant, e.conv});
        const seq_t head = existing == convs_.end() ? 0 : existing->second.meta.head_seq;
        if (!detail::valid_append(e, head)) return make_error_code(errc::invalid_entry);

        auto& conv = convs_[{e.tenant, e.conv}];
        if (head == 0) {
            conv.meta.conv = e.conv;
            conv.meta.created_ms = e.server_time_ms;
        }
        std::set<user_id> recipients;
        for (const auto& [user, m] : conv.members) recipients.insert(user);

        for (const auto& change : e.membership) apply_membership(e, conv, change);
        if (e.new_name) conv.meta.name = *e.new_name;
        if (e.whole_history) conv.meta.whole_history = *e.whole_history;

        conv.meta.head_seq = e.seq;
        if (e.counts_unread) ++conv.meta.countable;
        conv.meta.last_event_ms = e.server_time_ms;
        conv.meta.member_count = static_cast<std::uint32_t>(conv.members.size());
        conv.timeline[e.seq] = {
            {e.seq, e.sender, e.server_time_ms, e.kind, e.counts_unread, false, e.bytes},
            conv.meta.countable};
        if (e.recalls != 0) conv.timeline.at(e.recalls).event.recalled = true;
        if (!e.client_msg_id.empty()) {
            dedup_[{e.tenant, e.sender, e.client_msg_id}] = {e.conv, e.seq, e.dedup_expires_ms,
                                                             e.dedup_kind, e.dedup_fingerprint};
        }
        if (e.urgent) urgent_[{e.tenant, e.server_time_ms, e.conv, e.seq}] = e.sender;

        // The sender has read everything up to its own event.
        apply_outcome outcome;
        if (auto it = conv.cursors.find(e.sender); it != conv.cursors.end()) {
            const seq_t previous = it->second.cursor.read_up_to;
            it->second.cursor.read_up_to = e.seq;
            it->second.cursor.delivered_up_to = e.seq;
            it->second.read_ordinal = conv.meta.countable;
            outcome.cursors.push_back({e.conv, it->second.cursor, previous});
        }

        for (const auto& [user, m] : conv.members) recipients.insert(user);
        for (user_id user : recipients) {
            auto& us = users_[{e.tenant, user}];
            us.inbox[++us.inbox_head] = {e.conv, e.seq};
            outcome.inbox.push_back({user, us.inbox_head});
        }
        return outcome;
    }

    void apply_membership(const append_event& e, conv_state& conv,
                          const membership_change& change) {
        auto& user = users_[{e.tenant, change.user}];
        if (!change.new_role) {
            conv.members.erase(change.user);
            conv.cursors.erase(change.user);
            user.convs.erase(e.conv);
            if (conv.meta.owner == change.user) conv.meta.owner = 0;
            return;
        }
        auto [it, added] = conv.members.try_emplace(
            change.user, member_record{change.user, *change.new_role, e.seq, {}});
        it->second.member_role = *change.new_role;
        if (added) {
            // A new member starts with everything before its joining event read.
            conv.cursors[change.user] = {{change.user, e.seq - 1, e.seq - 1}, conv.meta.countable};
            user.convs.insert(e.conv);
        }
        if (*change.new_role != role::owner && conv.meta.owner == change.user) {
            conv.meta.owner = 0;  // demoted without a successor: the group has no owner
        }
        if (*change.new_role == role::owner && conv.meta.owner != change.user) {
            // One owner per group: the previous owner, if still a member, becomes an admin.
            if (auto prev = conv.members.find(conv.meta.owner); prev != conv.members.end()) {
                prev->second.member_role = role::admin;
            }
            conv.meta.owner = change.user;
        }
    }

    entry_result apply_one(const ack_inbox& e) {
        if (e.tenant == 0 || e.user == 0) return make_error_code(errc::invalid_entry);
        apply_outcome outcome;
        auto uit = users_.find({e.tenant, e.user});
        if (uit == users_.end()) return outcome;
        auto& user = uit->second;
        auto& device = user.devices[e.device];
        const std::uint64_t up_to = std::min(e.inbox_seq, user.inbox_head);
        if (up_to <= device) return outcome;

        std::map<conv_id, seq_t> newest;
        for (auto it = user.inbox.upper_bound(device); it != user.inbox.end() && it->first <= up_to;
             ++it) {
            auto& n = newest[it->second.first];
            n = std::max(n, it->second.second);
        }
        device = up_to;
        for (const auto& [c, seq] : newest) {
            auto cit = convs_.find({e.tenant, c});
            if (cit == convs_.end()) continue;
            auto cur = cit->second.cursors.find(e.user);
            if (cur == cit->second.cursors.end() || cur->second.cursor.delivered_up_to >= seq) {
                continue;
            }
            cur->second.cursor.delivered_up_to = seq;
            outcome.cursors.push_back({c, cur->second.cursor, cur->second.cursor.read_up_to});
        }
        return outcome;
    }

    entry_result apply_one(const mark_read& e) {
        if (e.tenant == 0 || !detail::valid_conv(e.conv)) {
            return make_error_code(errc::invalid_entry);
        }
        auto cit = convs_.find({e.tenant, e.conv});
        if (cit == convs_.end()) return make_error_code(errc::invalid_entry);
        auto& conv = cit->second;
        auto cur = conv.cursors.find(e.user);
        if (cur == conv.cursors.end()) return make_error_code(errc::invalid_entry);
        apply_outcome outcome;
        const seq_t up_to = std::min(e.up_to, conv.meta.head_seq);
        auto& state = cur->second;
        if (up_to <= state.cursor.read_up_to) return outcome;
        const seq_t previous = state.cursor.read_up_to;
        state.cursor.read_up_to = up_to;
        state.cursor.delivered_up_to = std::max(state.cursor.delivered_up_to, up_to);
        state.read_ordinal = conv.timeline.at(up_to).ordinal;
        outcome.cursors.push_back({e.conv, state.cursor, previous});
        return outcome;
    }

    entry_result apply_one(const set_mute& e) {
        if (e.tenant == 0 || !detail::valid_conv(e.conv) || !detail::valid_mute(e.mute)) {
            return make_error_code(errc::invalid_entry);
        }
        auto cit = convs_.find({e.tenant, e.conv});
        if (cit == convs_.end()) return make_error_code(errc::invalid_entry);
        auto member = cit->second.members.find(e.user);
        if (member == cit->second.members.end()) return make_error_code(errc::invalid_entry);
        member->second.mute = e.mute;
        return apply_outcome{};
    }

    entry_result apply_one(const ack_urgent& e) {
        if (e.tenant == 0 || !detail::valid_conv(e.conv))
            return make_error_code(errc::invalid_entry);
        auto cit = convs_.find({e.tenant, e.conv});
        if (cit == convs_.end() || !cit->second.timeline.contains(e.seq) ||
            !cit->second.members.contains(e.user)) {
            return make_error_code(errc::invalid_entry);
        }
        cit->second.urgent_acks[{e.seq, e.user}] = e.at_ms;
        return apply_outcome{};
    }

    entry_result apply_one(const set_push_token& e) {
        if (!detail::valid_push(e)) return make_error_code(errc::invalid_entry);
        const std::tuple key{e.tenant, e.user, e.device};
        auto it = pushes_.find(key);
        if (!e.only_if_token.empty() &&
            (it == pushes_.end() || it->second.token != e.only_if_token)) {
            return apply_outcome{};
        }
        if (e.registration.token.empty()) {
            if (it != pushes_.end()) pushes_.erase(it);
        } else {
            auto r = e.registration;
            r.device = e.device;
            pushes_[key] = std::move(r);
        }
        return apply_outcome{};
    }

    entry_result apply_one(const put_scheduled& e) {
        if (!detail::valid_scheduled(e)) return make_error_code(errc::invalid_entry);
        const auto& m = e.message;
        const std::tuple key{e.tenant, m.sender, m.id};
        if (const auto it = scheduled_.find(key); it != scheduled_.end()) {
            due_.erase({it->second.release_at_ms, e.tenant, m.sender, m.id});
        }
        scheduled_[key] = m;
        due_.insert({m.release_at_ms, e.tenant, m.sender, m.id});
        return apply_outcome{};
    }

    entry_result apply_one(const remove_scheduled& e) {
        if (e.tenant == 0) return make_error_code(errc::invalid_entry);
        const auto it = scheduled_.find({e.tenant, e.sender, e.id});
        if (it == scheduled_.end()) return apply_outcome{};
        due_.erase({it->second.release_at_ms, e.tenant, e.sender, e.id});
        scheduled_.erase(it);
        return apply_outcome{};
    }

    entry_result apply_one(const put_user_settings& e) {
        if (e.tenant == 0 || e.settings.size() > max_settings_bytes) {
            return make_error_code(errc::invalid_entry);
        }
        if (e.settings.empty()) {
            settings_.erase({e.tenant, e.user});
        } else {
            settings_[{e.tenant, e.user}] = e.settings;
        }
        return apply_outcome{};
    }

    entry_result apply_one(const log_position& e) {
        const auto it = positions_.find(e.partition);
        const std::uint64_t current = it == positions_.end() ? 0 : it->second.sequence;
        if (e.sequence != current + 1) return make_error_code(errc::invalid_entry);
        positions_[e.partition] = e;
        return apply_outcome{};
    }

    // The invariants of docs/storage.md, checked over the whole state.
    bool check() const {
        for (const auto& [key, conv] : convs_) {
            const auto& [t, c] = key;
            if (conv.timeline.size() != conv.meta.head_seq) return false;
            seq_t expect = 1;
            std::uint64_t ordinal = 0;
            for (const auto& [seq, ev] : conv.timeline) {
                if (seq != expect++ || ev.event.seq != seq) return false;
                if (ev.event.counts_unread) ++ordinal;
                if (ev.ordinal != ordinal) return false;
            }
            if (ordinal != conv.meta.countable) return false;
            if (conv.members.size() != conv.meta.member_count) return false;
            if (conv.cursors.size() != conv.members.size()) return false;
            for (const auto& [u, m] : conv.members) {
                const auto* user = find_user(t, u);
                if (!user || !user->convs.contains(c)) return false;
                const auto& cur = conv.cursors.at(u).cursor;
                if (cur.read_up_to > cur.delivered_up_to ||
                    cur.delivered_up_to > conv.meta.head_seq)
                    return false;
                const bool is_owner = m.member_role == role::owner;
                if (c.type == conv_type::group && is_owner != (conv.meta.owner == u)) return false;
            }
        }
        for (const auto& [key, user] : users_) {
            const auto& [t, u] = key;
            if (user.inbox.size() != user.inbox_head) return false;
            std::uint64_t expect = 1;
            for (const auto& [iseq, ref] : user.inbox) {
                if (iseq != expect++) return false;
                const auto* conv = find_conv(t, ref.first);
                if (!conv || !conv->timeline.contains(ref.second)) return false;
            }
            for (const auto& c : user.convs) {
                const auto* conv = find_conv(t, c);
                if (!conv || !conv->members.contains(u)) return false;
            }
            for (const auto& [d, acked] : user.devices) {
                if (acked > user.inbox_head) return false;
            }
        }
        for (const auto& [key, rec] : dedup_) {
            const auto* conv = find_conv(std::get<0>(key), rec.conv);
            if (!conv || !conv->timeline.contains(rec.seq)) return false;
        }
        return true;
    }

    mutable std::mutex mutex_;
    std::map<conv_key, conv_state> convs_;
    std::map<user_key, user_state> users_;
    std::map<dedup_key, dedup_record> dedup_;
    std::uint64_t applied_ = 0;
    std::map<std::uint32_t, log_position> positions_;
    std::map<std::pair<tenant_id, user_id>, std::string> settings_;  // notification settings
    std::map<std::tuple<tenant_id, user_id, device_id>, push_registration> pushes_;
    std::map<std::tuple<tenant_id, user_id, std::uint64_t>, scheduled_message> scheduled_;
    std::set<scheduled_ref> due_;  // the release order
    // The urgent index: (tenant, time, conv, seq) -> sender.
    std::map<std::tuple<tenant_id, std::int64_t, conv_id, seq_t>, user_id> urgent_;
};

}  // namespace

std::unique_ptr<store> make_memory_store() { return std::make_unique<memory_store>(); }

}  // namespace tern::storage
