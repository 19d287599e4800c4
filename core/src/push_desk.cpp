#include "push_desk.hpp"

#include <algorithm>

#include <tern/wire/error_frame.hpp>

#include "decide.hpp"
#include "device_table.hpp"
#include "tern/v1/events.pb.h"

namespace tern::core {

using wire::error_frame;

namespace {

// What a push may show of a text, at most: a lock screen shows two lines.
constexpr std::size_t preview_bytes = 200;

const char* type_name(storage::conv_type type) {
    return type == storage::conv_type::direct ? "direct" : "group";
}

// The first `limit` bytes of UTF-8 `text`, cut before a character, never inside one.
std::string clipped(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    auto end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

// Whether a decision goes to a phone: an alert does, and so does a silent one (the badge moves)
// unless it is silent because the user is off hours: then nothing buzzes or lights up, and the
// work-start digest tells them.
bool pushed(const notice_decision& d) {
    if (d.level == notice::alert) return true;
    return d.level == notice::silent && d.why != notice_reason::off_hours;
}

// Whether the work-start digest counts a message: held back because its recipient is off hours,
// or in do-not-disturb while off hours (do-not-disturb comes first in the table, and an evening
// spent in it should not lose the morning's digest).
bool for_digest(const notice_decision& d, bool working) {
    if (d.why == notice_reason::off_hours) return true;
    return d.why == notice_reason::do_not_disturb && !working;
}

// The most conversations a Digest frame lists (its totals count them all).
constexpr std::size_t digest_listed = 50;

}  // namespace

push_desk::push_desk(const context& ctx, push_port* port, tenant_policies& policies,
                     user_sender to_user)
    : ctx_(ctx),
      port_(port),
      policies_(policies),
      to_user_(std::move(to_user)),
      homes_(ctx.routes.shard_count()) {}

namespace {

// The message's part of a push, parsed once from the event (a template only because Basis is
// push_desk's private message_basis).
template <class Basis>
std::optional<Basis> basis_of(storage::tenant_id tenant, const storage::event_bytes& bytes) {
    v1::Event event;
    if (!event.ParseFromString(*bytes) || !event.has_message()) return std::nullopt;
    const auto conv = to_conv_id(event.conv());
    if (!conv) return std::nullopt;
    Basis b;
    b.conv = *conv;
    auto& m = b.message;
    m.to.tenant = tenant;
    m.conv_type = type_name(conv->type);
    m.conv_id = conv->id;
    m.conv_peer = conv->peer;
    m.seq = event.seq();
    m.sender = event.sender();
    const auto& content = event.message().content();
    if (content.has_text()) b.text = clipped(content.text(), preview_bytes);
    m.urgent = (content.flags() & v1::MESSAGE_FLAG_URGENT) != 0;
    return b;
}

}  // namespace

push::push_message push_desk::message_for(const message_basis& basis, storage::user_id user,
                                          const storage::push_registration& r,
                                          const tenant_policy* policy) {
    const auto shows = policy ? policy->preview : push_preview::text;
    auto m = basis.message;
    m.to.user = user;
    m.to.device = r.device;
    m.platform = r.platform;
    m.token = r.token;
    m.app_id = r.app_id;
    if (shows == push_preview::none) m.sender = 0;
    if (shows == push_preview::text) m.preview = basis.text;
    return m;
}

// ---- messages ---------------------------------------------------------------------------------

void push_desk::dispatch(storage::tenant_id tenant, const std::shared_ptr<const delivery>& batch) {
    if (!batch->basis.is_message) return;  // only messages are pushed or counted for digests
    if (port_ && (batch->basis.flags & flag_urgent) != 0) {
        if (auto basis = basis_of<message_basis>(tenant, batch->event)) {
            arm_escalation(tenant, std::make_shared<const message_basis>(std::move(*basis)), 1);
        }
    }
    std::vector<std::vector<std::uint32_t>> by_home(homes_.size());
    for (std::uint32_t i = 0; i < batch->inbox.size(); ++i) {
        const auto user = batch->inbox[i].user;
        if (user == batch->basis.sender) continue;  // their own message: never pushed
        by_home[ctx_.routes.home_of(tenant, user)].push_back(i);
    }
    for (std::size_t home = 0; home < by_home.size(); ++home) {
        if (by_home[home].empty()) continue;
        ctx_.routes.post(home, [this, home, tenant, batch, recipients = std::move(by_home[home])] {
            consider(home, tenant, *batch, recipients);
        });
    }
}

// On the home shard: the recipients homed here with a registered device that is not in front of
// them get a push, if the decision lets it through; those it holds back off hours are counted
// for their digest.
void push_desk::consider(std::size_t home, storage::tenant_id tenant, const delivery& batch,
                         const std::vector<std::uint32_t>& recipients) {
    const auto facts = batch.basis.facts();
    const auto now_ms = ctx_.time.unix_ms();
    const auto policy = policies_.of(tenant);  // once for the batch: a lock
    std::optional<message_basis> basis;        // parsed at the first push or count
    const auto parsed = [&] {
        if (!basis) basis = basis_of<message_basis>(tenant, batch.event);
        if (!basis) {
            // The owner encoded it: this is a bug, reported, and the pushes skipped.
            ctx_.report.failed(
                failure::push_not_framed,
                "an event not readable for a push, tenant " + std::to_string(tenant));
        }
        return basis.has_value();
    };
    for (const auto i : recipients) {
        const user_key user{tenant, batch.inbox[i].user};
        auto* entry = port_ ? registered(home, user) : &entry_of(home, user);
        if (!entry) continue;
        const auto* profile = profile_of(user, *entry, policy);
        const auto decision =
            decide_for(facts, batch.basis.mutes.get(), user.user, profile, entry->hours, now_ms);
        if (for_digest(decision, entry->hours.working(profile, now_ms))) {
            if (!parsed()) return;
            const bool mentioned =
                facts.mentions_all ||
                std::binary_search(facts.mentions.begin(), facts.mentions.end(), user.user);
            tally(home, user, *entry, *basis, mentioned, now_ms);
        }
        if (entry->registrations.empty() || !pushed(decision)) continue;
        if (!parsed()) return;
        for (const auto& r : entry->registrations) {
            if (in_front(*entry, r.device)) continue;  // it has the message on screen
            auto m = message_for(*basis, user.user, r, entry->policy_held.get());
            m.alert = decision.level == notice::alert;
            // The active device wins: a phone waits while its user sits at a desktop, unless the
            // message is urgent.
            const bool wait = !m.urgent && desk_active(*entry, r.device);
            port_->submit(std::move(m),
                          wait ? ctx_.limit.push_grace : std::chrono::milliseconds{0});
        }
    }
}

// ---- escalation -------------------------------------------------------------------------------

void push_desk::arm_escalation(storage::tenant_id tenant,
                               std::shared_ptr<const message_basis> basis, std::uint32_t attempt,
                               std::optional<std::chrono::milliseconds> delay) {
    const auto policy = policies_.of(tenant);
    if (!policy || !*policy || (*policy)->escalate_times < attempt) return;
    const auto owner = ctx_.routes.owner_of(tenant, basis->conv);
    ctx_.routes.post_after(
        owner, delay.value_or((*policy)->escalate_after),
        [this, tenant, basis = std::move(basis), attempt] { escalate(tenant, basis, attempt); });
}

void push_desk::rearm_escalations() {
    if (!port_) return;
    ctx_.routes.post(0, [this] { rearm_from(0); });
}

void push_desk::rearm_from(storage::tenant_id after) {
    constexpr std::size_t page = 256;
    const auto tenants = ctx_.store.policy_tenants(after, page);
    if (!tenants) {
        return ctx_.report.failed(failure::store_read_failed,
                                  "the tenants with a policy, for pending escalations");
    }
    const auto now_ms = ctx_.time.unix_ms();
    for (const auto tenant : *tenants) {
        if (ctx_.routes.serves(tenant)) rearm_tenant(tenant, now_ms);
    }
    // The next page later: a store of many tenants does not hold the shard.
    if (tenants->size() == page) {
        ctx_.routes.post(0, [this, last = tenants->back()] { rearm_from(last); });
    }
}

void push_desk::rearm_tenant(storage::tenant_id tenant, std::int64_t now_ms) {
    const auto unreadable = [&] {
        ctx_.report.failed(failure::store_read_failed,
                           "pending escalations, tenant " + std::to_string(tenant));
    };
    const auto policy = policies_.of(tenant);
    if (!policy) return unreadable();
    if (!*policy || (*policy)->escalate_times == 0) return;
    const auto every =
        std::chrono::duration_cast<std::chrono::milliseconds>((*policy)->escalate_after).count();
    if (every <= 0) return;
    const auto times = (*policy)->escalate_times;
    // The tenant's urgent messages whose last escalation is still ahead (each sender has a
    // small daily budget, so these are few).
    constexpr std::size_t most = 100'000;
    const auto sends = ctx_.store.urgent_sends(tenant, now_ms - every * times, most);
    if (!sends) return unreadable();
    for (const auto& s : *sends) {
        const auto next =
            static_cast<std::uint32_t>(std::max<std::int64_t>(0, now_ms - s.time_ms) / every) + 1;
        if (next > times) continue;
        const auto event =
            ctx_.store.timeline(tenant, s.conv, s.seq, storage::direction::forward, 1);
        if (!event) return unreadable();
        if (event->empty() || event->front().seq != s.seq) continue;
        auto basis = basis_of<message_basis>(tenant, event->front().bytes);
        if (!basis) continue;
        arm_escalation(tenant, std::make_shared<const message_basis>(std::move(*basis)), next,
                       std::chrono::milliseconds{s.time_ms + every * next - now_ms});
    }
}

// On the conversation's owner shard, `escalate_after` after the message or the last escalation:
// who has still not acknowledged it is pushed again.
void push_desk::escalate(storage::tenant_id tenant,
                         const std::shared_ptr<const message_basis>& basis, std::uint32_t attempt) {
    const auto policy = policies_.of(tenant);
    if (!policy || !*policy || (*policy)->escalate_times < attempt) return;  // the policy changed
    const auto seq = basis->message.seq;
    const auto event =
        ctx_.store.timeline(tenant, basis->conv, seq, storage::direction::forward, 1);
    const auto roll = ctx_.store.urgent_acks(tenant, basis->conv, seq);
    if (!event || !roll) {
        ctx_.report.failed(
            failure::store_read_failed,
            "an urgent message's acknowledgements, tenant " + std::to_string(tenant));
        return arm_escalation(tenant, basis, attempt + 1);  // the next time may read it
    }
    if (event->empty() || event->front().recalled || !*roll || (*roll)->awaiting.empty()) return;
    const auto via = (*policy)->escalation_channel(attempt);
    std::vector<std::vector<storage::user_id>> by_home(homes_.size());
    for (const auto user : (*roll)->awaiting) {
        by_home[ctx_.routes.home_of(tenant, user)].push_back(user);
    }
    for (std::size_t home = 0; home < by_home.size(); ++home) {
        if (by_home[home].empty()) continue;
        ctx_.routes.post(home, [this, home, tenant, basis, via, users = std::move(by_home[home])] {
            push_again(home, tenant, *basis, users, via);
        });
    }
    arm_escalation(tenant, basis, attempt + 1);
}

// On the home shard: every registered device of each user (one of them for an SMS or a call: it
// reaches the person, not a device), unless the user limits who reaches them urgently off hours
// and the sender is not among them.
void push_desk::push_again(std::size_t home, storage::tenant_id tenant, const message_basis& basis,
                           const std::vector<storage::user_id>& users, push::channel via) {
    const auto now_ms = ctx_.time.unix_ms();
    for (const auto user : users) {
        const user_key key{tenant, user};
        auto* entry = registered(home, key);
        if (!entry || entry->registrations.empty()) continue;
        const auto* profile = profile_of(key, *entry);
        if (profile &&
            !profile->urgent_reaches(basis.message.sender, entry->hours.working(profile, now_ms))) {
            continue;
        }
        for (const auto& r : entry->registrations) {
            auto m = message_for(basis, user, r, entry->policy_held.get());
            m.alert = true;
            m.via = via;
            port_->submit(std::move(m), std::chrono::milliseconds{0});
            if (via != push::channel::push) break;
        }
    }
}

// ---- reads ------------------------------------------------------------------------------------

void push_desk::read(storage::tenant_id tenant, storage::user_id reader,
                     const std::vector<storage::delivered_change>& changes) {
    std::vector<storage::delivered_change> moved;
    for (const auto& c : changes) {
        if (c.cursor.read_up_to > c.previous_read_up_to) moved.push_back(c);
    }
    if (moved.empty()) return;
    // On the home shard, after every push decided there for what the read covers (those were
    // posted there before the message reached the device that read it).
    const auto home = ctx_.routes.home_of(tenant, reader);
    ctx_.routes.post(home, [this, home, tenant, reader, moved = std::move(moved)]() mutable {
        auto& users = homes_[home].users;
        if (const auto it = users.find({tenant, reader}); it != users.end() && it->second.digest) {
            read_off(*it->second.digest, moved);
        }
        if (!port_) return;
        for (const auto& c : moved) {
            port_->read(tenant, reader, type_name(c.conv.type), c.conv.id, c.conv.peer,
                        c.cursor.read_up_to);
        }
        clear_badges(home, tenant, reader, std::move(moved));
    });
}

// On the home shard: every registered device not in front of the user gets a silent push that
// carries the badge as it is now (the sender counts it when the push goes).
void push_desk::clear_badges(std::size_t home, storage::tenant_id tenant, storage::user_id user,
                             std::vector<storage::delivered_change> changes) {
    auto* entry = registered(home, {tenant, user});
    if (!entry) return;
    const auto& last = changes.back();
    for (const auto& r : entry->registrations) {
        if (in_front(*entry, r.device)) continue;
        push::push_message m;
        m.to = {tenant, user, r.device};
        m.platform = r.platform;
        m.token = r.token;
        m.app_id = r.app_id;
        m.conv_type = type_name(last.conv.type);
        m.conv_id = last.conv.id;
        m.conv_peer = last.conv.peer;
        m.seq = last.cursor.read_up_to;
        m.alert = false;
        m.count = 0;  // announces nothing: the badge only
        port_->submit(std::move(m), std::chrono::milliseconds{0});
    }
}

// ---- the work-start digest -------------------------------------------------------------------

void push_desk::tally(std::size_t home, const user_key& user, user_entry& entry,
                      const message_basis& basis, bool mentioned, std::int64_t now_ms) {
    if (!entry.digest) {
        entry.digest = std::make_unique<digest_tally>();
        entry.digest->since_ms = now_ms;
    }
    auto& part = entry.digest->parts[basis.conv];
    if (part.messages == 0) part.first_seq = basis.message.seq;
    ++part.messages;
    part.mentions += mentioned ? 1 : 0;
    part.last_seq = std::max(part.last_seq, basis.message.seq);
    part.recency = ++entry.digest->counted;
    if (entry.digest->timer == 0) arm_digest(home, user, entry, now_ms);
}

void push_desk::arm_digest(std::size_t home, const user_key& user, user_entry& entry,
                           std::int64_t now_ms) {
    const auto* profile = profile_of(user, entry);
    const auto start =
        profile && profile->hours ? profile->hours->next_start(now_ms) : work_schedule::never_ms;
    if (start == work_schedule::never_ms) {
        // No work start ahead (the hours were removed, or no shift within a year): nothing to
        // wait for; what was held back stays in the conversation list's unread counts.
        entry.digest.reset();
        ctx_.report.digest(digest_outcome::dropped);
        return;
    }
    auto& table = homes_[home];
    const auto timer = table.next_timer++;
    entry.digest->timer = timer;
    ctx_.routes.post_after(home, std::chrono::milliseconds{start - now_ms},
                           [this, home, user, timer] { digest_due(home, user, timer); });
}

// On the home shard at the work start a timer was armed for.
void push_desk::digest_due(std::size_t home, const user_key& user, std::uint64_t timer) {
    auto& users = homes_[home].users;
    const auto it = users.find(user);
    if (it == users.end() || !it->second.digest || it->second.digest->timer != timer) return;
    auto& entry = it->second;
    const auto now_ms = ctx_.time.unix_ms();
    const auto* profile = profile_of(user, entry);
    if (profile && profile->hours && !entry.hours.working(profile, now_ms)) {
        // Not at work after all (the policy moved the hours, or the timer ran a little early on
        // the wall clock): wait for the start that comes.
        return arm_digest(home, user, entry, now_ms);
    }
    const auto tally = std::move(entry.digest);
    if (tally->parts.empty()) {
        ctx_.report.digest(digest_outcome::all_read);
        return;
    }
    send_digest(home, user, entry, *tally);
    ctx_.report.digest(digest_outcome::sent);
}

void push_desk::send_digest(std::size_t home, const user_key& user, user_entry& entry,
                            const digest_tally& tally) {
    push::digest_counts counts;
    std::vector<std::pair<const storage::conv_id*, const digest_part*>> recent;
    for (const auto& [conv, part] : tally.parts) {
        counts.messages += part.messages;
        counts.mentions += part.mentions;
        recent.emplace_back(&conv, &part);
    }
    counts.conversations = static_cast<std::uint32_t>(tally.parts.size());
    const auto listed = std::min(recent.size(), digest_listed);
    std::partial_sort(
        recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(listed), recent.end(),
        [](const auto& a, const auto& b) { return a.second->recency > b.second->recency; });
    auto frame = std::make_shared<v1::Frame>();
    auto& d = *frame->mutable_digest();
    d.set_messages(counts.messages);
    d.set_conversation_count(counts.conversations);
    d.set_mentions(counts.mentions);
    d.set_since_ms(tally.since_ms);
    for (std::size_t k = 0; k < listed; ++k) {
        auto& c = *d.add_conversations();
        to_proto(*recent[k].first, *c.mutable_conv());
        c.set_messages(recent[k].second->messages);
        c.set_mentions(recent[k].second->mentions);
        c.set_last_seq(recent[k].second->last_seq);
    }
    to_user_(user.tenant, user.user, std::move(frame));
    if (!port_) return;
    const auto* known = registered(home, user);
    if (!known) return;  // the store read failed: counted; the online devices were told
    for (const auto& r : entry.registrations) {
        if (in_front(entry, r.device)) continue;
        push::push_message m;
        m.to = {user.tenant, user.user, r.device};
        m.platform = r.platform;
        m.token = r.token;
        m.app_id = r.app_id;
        m.count = counts.messages;
        m.alert = true;  // the work day starts: this one may be heard
        m.digest = counts;
        port_->submit(std::move(m), std::chrono::milliseconds{0});
    }
}

void push_desk::read_off(digest_tally& tally,
                         const std::vector<storage::delivered_change>& changes) {
    for (const auto& c : changes) {
        const auto it = tally.parts.find(c.conv);
        if (it == tally.parts.end()) continue;
        auto& part = it->second;
        const auto up_to = c.cursor.read_up_to;
        if (up_to >= part.last_seq) {
            tally.parts.erase(it);
        } else if (up_to >= part.first_seq) {
            // Read part way: at most what lies after the cursor is left (not every seq there was
            // the user's to count, so this can only undercount what is unread).
            const auto left = static_cast<std::uint32_t>(
                std::min<std::uint64_t>(part.messages, part.last_seq - up_to));
            part.messages = left;
            part.mentions = std::min(part.mentions, left);
            part.first_seq = up_to + 1;
        }
    }
}

// ---- what the home shard keeps ---------------------------------------------------------------

void push_desk::registration_changed(storage::tenant_id tenant, storage::user_id user) {
    if (!port_) return;
    const auto home = ctx_.routes.home_of(tenant, user);
    ctx_.routes.post(home, [this, home, key = user_key{tenant, user}] {
        auto& users = homes_[home].users;
        if (auto it = users.find(key); it != users.end()) it->second.registered_known = false;
    });
}

void push_desk::settings_changed(storage::tenant_id tenant, storage::user_id user,
                                 std::shared_ptr<const user_profile> own) {
    const auto home = ctx_.routes.home_of(tenant, user);
    ctx_.routes.post(home, [this, home, key = user_key{tenant, user}, own = std::move(own)] {
        auto& users = homes_[home].users;
        auto it = users.find(key);
        if (it == users.end()) return;
        auto& entry = it->second;
        entry.own = own;
        entry.own_known = true;
        entry.profile_known = false;
        entry.hours = {};
        // New hours move the work start the digest waits for.
        if (entry.digest) arm_digest(home, key, entry, ctx_.time.unix_ms());
    });
}

void push_desk::on_app_state(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    const auto state = frame.set_app_state().state();
    if (state != v1::APP_STATE_FOREGROUND && state != v1::APP_STATE_BACKGROUND) {
        return answer(*device, frame.req_id(),
                      error_frame(0, v1::INVALID_ARGUMENT,
                                  "state: APP_STATE_FOREGROUND or APP_STATE_BACKGROUND"));
    }
    answer(*device, frame.req_id(), ok_frame(0));
    if (!port_) return;
    const auto who = device->who();
    const auto home = ctx_.routes.home_of(who.tenant, who.user);
    ctx_.routes.post(home, [this, home, key = user_key{who.tenant, who.user}, id = device->id(),
                            front = state == v1::APP_STATE_FOREGROUND] {
        auto& users = homes_[home].users;
        auto it = users.find(key);
        if (it == users.end()) return;
        for (auto& c : it->second.online) {
            if (c.id == id) c.foreground = front;
        }
    });
}

void push_desk::connected(std::size_t home, const requester& who, std::uint64_t connection,
                          bool desktop) {
    if (!port_) return;
    auto& table = homes_[home];
    bound(table);
    table.users[{who.tenant, who.user}].online.push_back({who.device, connection, desktop, true});
}

void push_desk::disconnected(std::size_t home, const requester& who, std::uint64_t connection) {
    if (!port_) return;
    auto& users = homes_[home].users;
    auto it = users.find({who.tenant, who.user});
    if (it == users.end()) return;
    std::erase_if(it->second.online, [&](const auto& c) { return c.id == connection; });
}

push_desk::user_entry& push_desk::entry_of(std::size_t home, const user_key& user) {
    auto& table = homes_[home];
    auto it = table.users.find(user);
    if (it == table.users.end()) {
        bound(table);
        it = table.users.try_emplace(user).first;
    }
    return it->second;
}

push_desk::user_entry* push_desk::registered(std::size_t home, const user_key& user) {
    auto& entry = entry_of(home, user);
    if (entry.registered_known) return &entry;
    auto stored = ctx_.store.push_tokens(user.tenant, user.user);
    if (!stored) {
        ctx_.report.failed(failure::store_read_failed,
                           "a user's push registrations, tenant " + std::to_string(user.tenant));
        return nullptr;
    }
    entry.registrations = std::move(*stored);
    entry.registered_known = true;
    return &entry;
}

const user_profile* push_desk::profile_of(const user_key& user, user_entry& entry) {
    return profile_of(user, entry, policies_.of(user.tenant));
}

const user_profile* push_desk::profile_of(
    const user_key& user, user_entry& entry,
    const storage::result<std::shared_ptr<const tenant_policy>>& policy) {
    if (!entry.own_known) {
        auto settings = ctx_.store.user_settings(user.tenant, user.user);
        if (!settings) {
            // Decided without the user's own settings this once; read again next time.
            ctx_.report.failed(
                failure::store_read_failed,
                "a user's notification settings, tenant " + std::to_string(user.tenant));
        } else {
            entry.own = profile_of_stored(*settings);
            entry.own_known = true;
        }
    }
    if (!policy) {
        ctx_.report.failed(failure::store_read_failed,
                           "a tenant's notification policy, tenant " + std::to_string(user.tenant));
    }
    const auto* now = policy ? policy->get() : entry.policy_held.get();
    if (!entry.profile_known || now != entry.policy_held.get()) {
        if (policy) entry.policy_held = *policy;
        entry.profile = in_force(entry.own, now);
        entry.profile_known = true;
        entry.hours = {};
    }
    return entry.profile.get();
}

void push_desk::bound(home_table& table) {
    if (table.users.size() < ctx_.limit.push_users_cached) return;
    std::erase_if(table.users,
                  [](const auto& kv) { return kv.second.online.empty() && !kv.second.digest; });
    if (table.users.size() < ctx_.limit.push_users_cached) return;
    std::erase_if(table.users, [this](const auto& kv) {
        if (!kv.second.online.empty()) return false;
        ctx_.report.digest(digest_outcome::dropped);
        return true;
    });
}

bool push_desk::in_front(const user_entry& entry, storage::device_id device) {
    return std::any_of(entry.online.begin(), entry.online.end(), [&](const open_connection& c) {
        return c.device == device && c.foreground;
    });
}

bool push_desk::desk_active(const user_entry& entry, storage::device_id except) {
    return std::any_of(entry.online.begin(), entry.online.end(), [&](const open_connection& c) {
        return c.desktop && c.foreground && c.device != except;
    });
}

}  // namespace tern::core
