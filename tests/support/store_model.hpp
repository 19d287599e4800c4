// The store's model check, shared by the Catch2 test (tests/unit/storage/store_model_test.cpp)
// and the fuzz target (tests/fuzz/store_model_fuzz.cpp): plausible log entries (mostly valid,
// some deliberately invalid) generated from the reference store's state, and a comparison of
// every observable read of two stores, in the manner of RocksDB's db_map_fuzzer.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <tern/storage/memory_store.hpp>

#include "store_builders.hpp"

namespace tern::test::model {

using st::conv_id;
using st::role;

inline constexpr st::tenant_id tenants[] = {1, 2};
inline constexpr st::user_id max_user = 6;
inline constexpr std::uint64_t max_group = 3;
inline constexpr st::device_id max_device = 2;

inline bool same_events(const std::vector<st::stored_event>& a,
                        const std::vector<st::stored_event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].seq != b[i].seq || a[i].sender != b[i].sender ||
            a[i].server_time_ms != b[i].server_time_ms || a[i].kind != b[i].kind ||
            a[i].counts_unread != b[i].counts_unread || a[i].recalled != b[i].recalled ||
            !a[i].bytes || !b[i].bytes || *a[i].bytes != *b[i].bytes) {
            return false;
        }
    }
    return true;
}

inline bool same_inbox(const std::vector<st::inbox_item>& a, const std::vector<st::inbox_item>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].inbox_seq != b[i].inbox_seq || a[i].conv != b[i].conv || a[i].seq != b[i].seq ||
            !a[i].bytes || !b[i].bytes || *a[i].bytes != *b[i].bytes) {
            return false;
        }
    }
    return true;
}

inline std::vector<conv_id> all_convs() {
    std::vector<conv_id> out;
    for (st::user_id a = 1; a <= max_user; ++a) {
        for (st::user_id b = a; b <= max_user; ++b) out.push_back(conv_id::direct(a, b));
    }
    for (std::uint64_t g = 1; g <= max_group; ++g) out.push_back(conv_id::group(g));
    return out;
}

// Compares every read of the two stores (the model is `expect`): what differs first, or empty.
// A read that fails throws (boost::system::system_error from .value()).
inline std::string first_difference(const st::store& expect, const st::store& actual,
                                    const std::set<std::string>& cmids) {
    std::string why;
    const auto same = [&why](bool equal, std::string_view what) {
        if (!equal && why.empty()) why = what;
    };
    same(actual.applied_index().value() == expect.applied_index().value(), "applied index");
    for (auto t : tenants) {
        for (const auto& c : all_convs()) {
            const auto meta = expect.conversation(t, c).value();
            same(actual.conversation(t, c).value() == meta, "conversation");
            if (!meta) continue;
            same(same_events(actual.timeline(t, c, 0, st::direction::forward, 1000).value(),
                             expect.timeline(t, c, 0, st::direction::forward, 1000).value()),
                 "timeline forward");
            same(same_events(actual.timeline(t, c, 0, st::direction::backward, 3).value(),
                             expect.timeline(t, c, 0, st::direction::backward, 3).value()),
                 "timeline backward");
            same(actual.members(t, c).value() == expect.members(t, c).value(), "members");
            same(actual.member_cursors(t, c).value() == expect.member_cursors(t, c).value(),
                 "member cursors");
            for (st::user_id u = 1; u <= max_user; ++u) {
                same(actual.receipt(t, c, u).value() == expect.receipt(t, c, u).value(), "receipt");
                same(actual.member(t, c, u).value() == expect.member(t, c, u).value(), "member");
            }
            for (st::seq_t seq = 0; seq <= meta->head_seq + 1; ++seq) {
                same(actual.readers(t, c, seq).value() == expect.readers(t, c, seq).value(),
                     "readers");
                same(actual.urgent_acks(t, c, seq).value() == expect.urgent_acks(t, c, seq).value(),
                     "urgent acknowledgements");
                for (st::user_id u = 1; u <= max_user; ++u) {
                    same(actual.urgent_acked(t, c, seq, u).value() ==
                             expect.urgent_acked(t, c, seq, u).value(),
                         "an urgent acknowledgement");
                }
            }
        }
        same(actual.policy_tenants(0, 100).value() == expect.policy_tenants(0, 100).value(),
             "tenants with a policy");
        same(actual.scheduled_due(INT64_MAX, 100'000).value() ==
                 expect.scheduled_due(INT64_MAX, 100'000).value(),
             "scheduled release order");
        same(actual.urgent_sends(t, 0, 100'000).value() ==
                 expect.urgent_sends(t, 0, 100'000).value(),
             "urgent index");
        same(actual.user_settings(t, st::tenant_policy_record).value() ==
                 expect.user_settings(t, st::tenant_policy_record).value(),
             "tenant policy");
        for (st::user_id u = 1; u <= max_user; ++u) {
            same(actual.conversations_of(t, u).value() == expect.conversations_of(t, u).value(),
                 "conversations of a user");
            same(actual.inbox_head(t, u).value() == expect.inbox_head(t, u).value(), "inbox head");
            same(actual.user_settings(t, u).value() == expect.user_settings(t, u).value(),
                 "user settings");
            same(actual.push_tokens(t, u).value() == expect.push_tokens(t, u).value(),
                 "push registrations");
            same(actual.scheduled_of(t, u).value() == expect.scheduled_of(t, u).value(),
                 "scheduled messages");
            same(same_inbox(actual.inbox_after(t, u, 0, 10000).value(),
                            expect.inbox_after(t, u, 0, 10000).value()),
                 "inbox");
            // Pages from before, at, inside and past the head, cut by the limit or not: the
            // RocksDB store learns the head from the page when it can and seeks it otherwise.
            const auto head = expect.inbox_head(t, u).value();
            for (const std::uint64_t after :
                 {std::uint64_t{0}, head / 2, head - std::min<std::uint64_t>(head, 2), head,
                  head + 3}) {
                for (const std::size_t limit :
                     {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{10000}}) {
                    const auto a = actual.inbox_page_after(t, u, after, limit).value();
                    const auto e = expect.inbox_page_after(t, u, after, limit).value();
                    same(a.head == e.head && a.after == e.after && same_inbox(a.items, e.items),
                         "inbox page after " + std::to_string(after) + " limit " +
                             std::to_string(limit));
                }
            }
            for (st::device_id d = 1; d <= max_device; ++d) {
                same(actual.device_cursor(t, u, d).value() == expect.device_cursor(t, u, d).value(),
                     "device cursor");
            }
            for (const auto& cmid : cmids) {
                same(actual.find_dedup(t, u, cmid).value() == expect.find_dedup(t, u, cmid).value(),
                     "dedup record");
            }
        }
    }
    return why;
}

// Generates plausible entries (mostly valid, some deliberately invalid) from the model's state.
//
// `Source` draws the choices: `std::uint64_t pick(std::uint64_t lo, std::uint64_t hi)`, inclusive
// (a seeded PRNG in the test, the fuzzer's bytes in the fuzz target).
template <class Source>
class generator {
public:
    explicit generator(Source& source) : source_(source) {}

    st::log_entry next(const st::store& model, std::set<std::string>& cmids) {
        const auto t = tenants[pick(0, 1)];
        const auto roll = pick(0, 99);
        if (roll < 45) return send(model, t, cmids);
        if (roll < 55) return group_op(model, t);
        if (roll < 70) {
            const auto u = pick(1, max_user);
            const auto head = model.inbox_head(t, u).value();
            return st::ack_inbox{t, u, pick(1, max_device), pick(0, head + 2)};
        }
        if (roll < 85) {
            const auto c = random_conv();
            const auto meta = model.conversation(t, c).value();
            return st::mark_read{t, c, pick(1, max_user), pick(0, meta ? meta->head_seq + 2 : 2)};
        }
        if (roll < 88) {
            std::string bytes(pick(0, 3), static_cast<char>('a' + pick(0, 25)));
            // User 0 is the tenant's policy record.
            return st::put_user_settings{t, pick(0, max_user), std::move(bytes)};
        }
        if (roll < 90) {
            // Mostly valid levels and times; now and then one both stores must refuse.
            const auto level = static_cast<st::notify_level>(pick(0, 3));
            const auto until = pick(0, 1) ? 0 : static_cast<std::int64_t>(pick(1, 1'000));
            return st::set_mute{t, random_conv(), pick(1, max_user), {level, until}};
        }
        if (roll >= 93 && roll < 96) {
            // Registrations of a few devices, removals, and dead tokens that may be current.
            const auto token =
                pick(0, 2) == 0 ? std::string() : "tok-" + std::to_string(pick(1, 3));
            const auto only_if =
                pick(0, 2) == 0 ? "tok-" + std::to_string(pick(1, 3)) : std::string();
            return st::set_push_token{t,
                                      pick(1, max_user),
                                      pick(1, max_device),
                                      {0, token.empty() ? "" : "fcm", token, "app"},
                                      only_if};
        }
        if (roll < 93) {
            // An acknowledgement of an event up to one past the head, by anyone: both stores
            // refuse a stranger's, and one past the head.
            const auto c = random_conv();
            const auto meta = model.conversation(t, c).value();
            return st::ack_urgent{t, c, pick(0, meta ? meta->head_seq + 1 : 1), pick(1, max_user),
                                  static_cast<std::int64_t>(pick(1, 1'000))};
        }
        if (roll == 96 || roll == 97) {
            // Scheduled messages: a few ids per sender, stored, moved (often to a time another
            // holds) or removed; now and then a negative time both stores must refuse.
            const auto sender = pick(1, max_user);
            const auto id = pick(1, 3);
            if (pick(0, 2) == 0) return st::remove_scheduled{t, sender, id};
            const auto at =
                pick(0, 9) == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(pick(0, 5) * 1'000);
            return st::put_scheduled{t,
                                     {sender, id, random_conv(), "s-" + std::to_string(id),
                                      std::string(pick(0, 3), 'c'), at, 1}};
        }
        // A stale or future seq: both stores must refuse it.
        const auto c = random_conv();
        const auto meta = model.conversation(t, c).value();
        const st::seq_t head = meta ? meta->head_seq : 0;
        return message(t, c, pick(0, 1) ? head + 2 : std::max<st::seq_t>(head, 1),
                       pick(1, max_user));
    }

private:
    std::uint64_t pick(std::uint64_t lo, std::uint64_t hi) { return source_.pick(lo, hi); }

    conv_id random_conv() {
        if (pick(0, 2) == 0) return conv_id::group(pick(1, max_group));
        return conv_id::direct(pick(1, max_user), pick(1, max_user));
    }

    st::log_entry send(const st::store& model, st::tenant_id t, std::set<std::string>& cmids) {
        const auto c = random_conv();
        const auto meta = model.conversation(t, c).value();
        const auto text = "m" + std::to_string(counter_++);
        if (!meta) {
            if (c.type == st::conv_type::group) return group_create(t, c.id);
            return first_direct(t, c.id, c.peer, text);
        }
        const auto members = model.members(t, c).value();
        if (members.empty()) {
            // A group everyone left: only an invalid send is possible.
            return message(t, c, meta->head_seq + 1, 1, text);
        }
        const auto sender = members[pick(0, members.size() - 1)].user;
        std::string cmid;
        if (pick(0, 1)) {
            cmid = "c" + std::to_string(pick(0, 20));
            cmids.insert(cmid);
        }
        auto e = message(t, c, meta->head_seq + 1, sender, text, cmid);
        e.counts_unread = pick(0, 4) != 0;
        if (pick(0, 5) == 0) {  // a recall of an earlier event
            e.kind = st::event_kind::recall;
            e.counts_unread = false;
            e.recalls = pick(1, meta->head_seq);
        }
        // Now and then urgent: a message is indexed, a recall refused by both stores.
        e.urgent = pick(0, 7) == 0;
        return e;
    }

    st::log_entry group_create(st::tenant_id t, std::uint64_t g) {
        std::vector<st::user_id> others;
        const auto owner = pick(1, max_user);
        for (st::user_id u = 1; u <= max_user; ++u) {
            if (u != owner && pick(0, 1)) others.push_back(u);
        }
        return group_created(t, g, owner, others, "g" + std::to_string(g));
    }

    st::log_entry group_op(const st::store& model, st::tenant_id t) {
        const auto g = pick(1, max_group);
        const auto c = conv_id::group(g);
        const auto meta = model.conversation(t, c).value();
        if (!meta) return group_create(t, g);
        const auto seq = meta->head_seq + 1;
        const auto user = pick(1, max_user);
        switch (pick(0, 3)) {
            case 0:
                return membership_event(t, c, seq, meta->owner ? meta->owner : user,
                                        st::event_kind::members_added, {{user, role::member}});
            case 1:
                return membership_event(t, c, seq, meta->owner ? meta->owner : user,
                                        st::event_kind::members_removed, {{user, std::nullopt}});
            case 2:
                return membership_event(t, c, seq, user, st::event_kind::role_changed,
                                        {{user, pick(0, 1) ? role::admin : role::owner}});
            default: {
                auto e = membership_event(t, c, seq, user, st::event_kind::renamed, {});
                e.new_name = "renamed-" + std::to_string(counter_++);
                return e;
            }
        }
    }

    Source& source_;
    std::uint64_t counter_ = 0;
};

}  // namespace tern::test::model
