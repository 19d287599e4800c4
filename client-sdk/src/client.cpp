#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <random>

#include <boost/asio/post.hpp>

#include <tern/wire/time.hpp>

#include "client_impl.hpp"
#include "convert.hpp"
#include "runtime_impl.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::client {
namespace {

namespace asio = boost::asio;

// 32 hex digits: the Unix time in milliseconds (48 bits), a per-thread counter (16 bits), then
// 64 random bits. Unique per sender without coordination, and ascending as a device sends: the
// server files its dedup records by sender and id, and an id after the previous one is
// inserted next to it instead of searched for (docs/storage.md).
std::string new_client_msg_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    thread_local std::uint16_t counter = 0;
    const auto ms = static_cast<std::uint64_t>(wire::unix_ms());
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    const auto put = [&](std::size_t at, std::uint64_t bits, int digits) {
        for (int i = digits - 1; i >= 0; --i) {
            id[at + static_cast<std::size_t>(i)] = hex[bits & 15];
            bits >>= 4;
        }
    };
    put(0, ms, 12);
    put(12, counter++, 4);
    put(16, rng(), 16);
    return id;
}

// Gives an event-appending request its client_msg_id and hands it to the outbox.
std::string submit(const std::shared_ptr<client::impl>& impl, v1::Frame& frame,
                   std::string* id_field, callback<sent> done) {
    auto id = new_client_msg_id();
    *id_field = id;
    asio::post(impl->io, [impl, frame = std::move(frame), id, done = std::move(done)]() mutable {
        impl->submit(std::move(frame), id, std::move(done));
    });
    return id;
}

}  // namespace

client::client(options opts, std::shared_ptr<listener> listener, std::shared_ptr<runtime> rt,
               std::unique_ptr<state_store> store)
    : runtime_(rt ? std::move(rt) : runtime::create(1)) {
    auto& io = static_cast<detail::runtime_impl&>(*runtime_).next();
    impl_ = std::make_shared<impl>(std::move(opts), std::move(listener), io, std::move(store));
}

client::~client() {
    // Stop on the network thread and wait, then let the callbacks already queued run, so that
    // nothing of this client runs once the destructor has returned.
    std::promise<void> stopped;
    asio::post(impl_->io, [impl = impl_, &stopped] {
        impl->shutdown();
        stopped.set_value();
    });
    stopped.get_future().wait();
    std::promise<void> drained;
    impl_->callbacks.post([&drained] { drained.set_value(); });
    drained.get_future().wait();
}

template <class F>
void client::run(F&& f) {
    asio::post(impl_->io, [impl = impl_, f = std::forward<F>(f)]() mutable { f(*impl); });
}

void client::connect() {
    run([](impl& i) { i.start(); });
}

void client::disconnect() {
    run([](impl& i) { i.stop(disconnect_reason::client_closed, "disconnect() was called"); });
}

std::string client::send(const conv_id& conv, content body, callback<sent> done) {
    v1::Frame f;
    auto* s = f.mutable_send();
    detail::to_proto(conv, *s->mutable_conv());
    detail::to_proto(body, *s->mutable_content());
    return submit(impl_, f, s->mutable_client_msg_id(), std::move(done));
}

std::string client::recall(const conv_id& conv, seq_t seq, callback<sent> done) {
    v1::Frame f;
    auto* r = f.mutable_recall();
    detail::to_proto(conv, *r->mutable_conv());
    r->set_seq(seq);
    return submit(impl_, f, r->mutable_client_msg_id(), std::move(done));
}

std::string client::edit(const conv_id& conv, seq_t seq, content body, callback<sent> done) {
    v1::Frame f;
    auto* e = f.mutable_edit();
    detail::to_proto(conv, *e->mutable_conv());
    e->set_seq(seq);
    detail::to_proto(body, *e->mutable_content());
    return submit(impl_, f, e->mutable_client_msg_id(), std::move(done));
}

std::string client::create_group(const std::string& name, const std::vector<user_id>& members,
                                 callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_create();
    g->set_name(name);
    for (auto m : members) g->add_member_ids(m);
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::add_members(const conv_id& group, const std::vector<user_id>& users,
                                callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_add_members();
    detail::to_proto(group, *g->mutable_conv());
    for (auto u : users) g->add_user_ids(u);
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::remove_members(const conv_id& group, const std::vector<user_id>& users,
                                   callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_remove_members();
    detail::to_proto(group, *g->mutable_conv());
    for (auto u : users) g->add_user_ids(u);
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::leave_group(const conv_id& group, callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_leave();
    detail::to_proto(group, *g->mutable_conv());
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::set_group_history(const conv_id& group, bool whole, callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_set_history();
    detail::to_proto(group, *g->mutable_conv());
    g->set_history(whole ? v1::HISTORY_WHOLE : v1::HISTORY_FROM_JOIN);
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::rename_group(const conv_id& group, const std::string& name,
                                 callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_rename();
    detail::to_proto(group, *g->mutable_conv());
    g->set_name(name);
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

std::string client::set_role(const conv_id& group, user_id user, role new_role,
                             callback<sent> done) {
    v1::Frame f;
    auto* g = f.mutable_group_set_role();
    detail::to_proto(group, *g->mutable_conv());
    g->set_user_id(user);
    g->set_role(detail::to_proto(new_role));
    return submit(impl_, f, g->mutable_client_msg_id(), std::move(done));
}

void client::sync() {
    run([](impl& i) { i.pull(); });
}

void client::mark_read(const conv_id& conv, seq_t seq, callback<ok> done) {
    run([conv, seq, done = std::move(done)](impl& i) mutable {
        i.mark_read(conv, seq, std::move(done));
    });
}

void client::who_read(const conv_id& conv, seq_t seq, bool with_lists,
                      callback<tern::client::who_read> done) {
    v1::Frame f;
    detail::to_proto(conv, *f.mutable_who_read()->mutable_conv());
    f.mutable_who_read()->set_seq(seq);
    f.mutable_who_read()->set_with_lists(with_lists);
    // The lists come in pages: ask until the last, and hand the app the whole.
    auto fold = [request = f](tern::client::who_read& acc,
                              const v1::Frame& r) mutable -> std::optional<v1::Frame> {
        const auto& page = r.who_read_reply();
        auto part = detail::from_proto(page);
        if (acc.conv == conv_id{}) {
            acc = std::move(part);
        } else {
            acc.read_users.insert(acc.read_users.end(), part.read_users.begin(),
                                  part.read_users.end());
            acc.unread_users.insert(acc.unread_users.end(), part.unread_users.begin(),
                                    part.unread_users.end());
        }
        if (!page.has_more()) return std::nullopt;
        const auto last_read = page.read_users().empty() ? 0 : *page.read_users().rbegin();
        const auto last_unread = page.unread_users().empty() ? 0 : *page.unread_users().rbegin();
        const auto last = std::max(last_read, last_unread);
        if (last <= request.who_read().after_user_id()) return std::nullopt;  // no progress
        request.mutable_who_read()->set_after_user_id(last);
        return request;
    };
    run([f = std::move(f), fold = std::move(fold), done = std::move(done)](impl& i) mutable {
        i.ask_pages<tern::client::who_read>(std::move(f), v1::Frame::kWhoReadReply, {},
                                            std::move(fold), std::move(done));
    });
}

void client::history(const conv_id& conv, seq_t from_seq, bool forward, std::uint32_t limit,
                     callback<history_page> done) {
    v1::Frame f;
    auto* h = f.mutable_history();
    detail::to_proto(conv, *h->mutable_conv());
    h->set_from_seq(from_seq);
    h->set_direction(forward ? v1::DIRECTION_FORWARD : v1::DIRECTION_BACKWARD);
    h->set_limit(limit);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<history_page>(
            std::move(f), v1::Frame::kHistoryPage,
            [](const v1::Frame& r) { return detail::from_proto(r.history_page()); },
            std::move(done));
    });
}

void client::list_conversations(std::uint32_t limit, callback<conversation_list> done) {
    list_conversations(limit, {}, std::move(done));
}

void client::list_conversations(std::uint32_t limit, const std::string& cursor,
                                callback<conversation_list> done) {
    v1::Frame f;
    f.mutable_list_conversations()->set_limit(limit);
    f.mutable_list_conversations()->set_cursor(cursor);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<conversation_list>(
            std::move(f), v1::Frame::kConversationList,
            [](const v1::Frame& r) { return detail::from_proto(r.conversation_list()); },
            std::move(done));
    });
}

void client::group_info(const conv_id& group, callback<tern::client::group_info> done) {
    v1::Frame f;
    detail::to_proto(group, *f.mutable_group_info_request()->mutable_conv());
    // A large group's members come in pages: ask until the last, and hand the app the whole.
    auto fold = [request = f](tern::client::group_info& acc,
                              const v1::Frame& r) mutable -> std::optional<v1::Frame> {
        const auto& page = r.group_info();
        auto part = detail::from_proto(page);
        if (acc.conv == conv_id{}) {
            acc = std::move(part);
        } else {
            acc.members.insert(acc.members.end(), part.members.begin(), part.members.end());
        }
        if (!page.has_more() || page.members().empty()) return std::nullopt;
        request.mutable_group_info_request()->set_after_user_id(
            page.members(page.members_size() - 1).user_id());
        return request;
    };
    run([f = std::move(f), fold = std::move(fold), done = std::move(done)](impl& i) mutable {
        i.ask_pages<tern::client::group_info>(std::move(f), v1::Frame::kGroupInfo, {},
                                              std::move(fold), std::move(done));
    });
}

void client::subscribe_presence(const std::vector<user_id>& users, callback<ok> done) {
    run([users, done = std::move(done)](impl& i) mutable {
        i.follow(users, true, std::move(done));
    });
}

void client::unsubscribe_presence(const std::vector<user_id>& users, callback<ok> done) {
    run([users, done = std::move(done)](impl& i) mutable {
        i.follow(users, false, std::move(done));
    });
}

void client::set_presence(presence_status status, const std::string& text, callback<ok> done) {
    run([status, text, done = std::move(done)](impl& i) mutable {
        i.set_presence(status, text, std::move(done));
    });
}

void client::set_app_state(bool foreground, callback<ok> done) {
    run([foreground, done = std::move(done)](impl& i) mutable {
        i.set_app_state(foreground, std::move(done));
    });
}

void client::mute(const conv_id& conv, notify_level level, std::int64_t until_ms,
                  callback<ok> done) {
    v1::Frame f;
    auto* m = f.mutable_mute_conversation();
    detail::to_proto(conv, *m->mutable_conv());
    m->set_level(static_cast<v1::NotifyLevel>(level));
    m->set_until_ms(until_ms);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<ok>(
            std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
    });
}

void client::set_notification_settings(const notification_settings& settings, callback<ok> done) {
    v1::Frame f;
    detail::to_proto(settings, *f.mutable_set_notification_settings()->mutable_settings());
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<ok>(
            std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
    });
}

void client::get_notification_settings(callback<notification_settings> done) {
    v1::Frame f;
    f.mutable_get_notification_settings();
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<notification_settings>(
            std::move(f), v1::Frame::kNotificationSettings,
            [](const v1::Frame& r) { return detail::from_proto(r.notification_settings()); },
            std::move(done));
    });
}

void client::working_hours(user_id user, callback<tern::client::working_hours> done) {
    v1::Frame f;
    f.mutable_working_hours_request()->set_user_id(user);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<tern::client::working_hours>(
            std::move(f), v1::Frame::kWorkingHours,
            [](const v1::Frame& r) { return detail::from_proto(r.working_hours()); },
            std::move(done));
    });
}

void client::acknowledge_urgent(const conv_id& conv, seq_t seq, callback<ok> done) {
    v1::Frame f;
    detail::to_proto(conv, *f.mutable_acknowledge_urgent()->mutable_conv());
    f.mutable_acknowledge_urgent()->set_seq(seq);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<ok>(
            std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
    });
}

void client::register_push_token(const std::string& platform, const std::string& token,
                                 const std::string& app_id, callback<ok> done) {
    v1::Frame f;
    auto* r = f.mutable_register_push_token();
    r->set_platform(platform);
    r->set_token(token);
    r->set_app_id(app_id);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<ok>(
            std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
    });
}

void client::schedule_send(const conv_id& conv, const content& body, release_time when,
                           callback<scheduled_message> done) {
    v1::Frame f;
    auto& s = *f.mutable_schedule_send();
    detail::to_proto(conv, *s.mutable_conv());
    // The SDK's id: asking again after a lost answer is answered by the stored message.
    s.set_client_msg_id(new_client_msg_id());
    detail::to_proto(body, *s.mutable_content());
    if (when.at_work_start_of != 0) {
        s.set_at_work_start_of(when.at_work_start_of);
    } else {
        s.set_at_ms(when.at_ms);
    }
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<scheduled_message>(
            std::move(f), v1::Frame::kScheduledMessage,
            [](const v1::Frame& r) { return detail::from_proto(r.scheduled_message()); },
            std::move(done));
    });
}

void client::edit_scheduled(std::uint64_t id, const content& body,
                            std::optional<std::int64_t> release_at_ms,
                            callback<scheduled_message> done) {
    v1::Frame f;
    auto& e = *f.mutable_edit_scheduled();
    e.set_schedule_id(id);
    detail::to_proto(body, *e.mutable_content());
    if (release_at_ms) e.set_release_at_ms(*release_at_ms);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<scheduled_message>(
            std::move(f), v1::Frame::kScheduledMessage,
            [](const v1::Frame& r) { return detail::from_proto(r.scheduled_message()); },
            std::move(done));
    });
}

void client::cancel_scheduled(std::uint64_t id, callback<ok> done) {
    v1::Frame f;
    f.mutable_cancel_scheduled()->set_schedule_id(id);
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<ok>(
            std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
    });
}

void client::list_scheduled(callback<std::vector<scheduled_message>> done) {
    v1::Frame f;
    f.mutable_list_scheduled();
    run([f = std::move(f), done = std::move(done)](impl& i) mutable {
        i.ask<std::vector<scheduled_message>>(
            std::move(f), v1::Frame::kScheduledList,
            [](const v1::Frame& r) {
                std::vector<scheduled_message> out;
                for (const auto& m : r.scheduled_list().scheduled()) {
                    out.push_back(detail::from_proto(m));
                }
                return out;
            },
            std::move(done));
    });
}

void client::urgent_status(const conv_id& conv, seq_t seq,
                           callback<tern::client::urgent_status> done) {
    v1::Frame f;
    detail::to_proto(conv, *f.mutable_urgent_status_request()->mutable_conv());
    f.mutable_urgent_status_request()->set_seq(seq);
    // The lists come in pages: ask until the last, and hand the app the whole.
    auto fold = [request = f](tern::client::urgent_status& acc,
                              const v1::Frame& r) mutable -> std::optional<v1::Frame> {
        const auto& page = r.urgent_status();
        auto part = detail::from_proto(page);
        if (acc.conv == conv_id{}) {
            acc = std::move(part);
        } else {
            acc.acknowledged.insert(acc.acknowledged.end(), part.acknowledged.begin(),
                                    part.acknowledged.end());
            acc.awaiting.insert(acc.awaiting.end(), part.awaiting.begin(), part.awaiting.end());
        }
        if (!page.has_more()) return std::nullopt;
        const std::uint64_t last_acked =
            page.acknowledged().empty() ? 0 : page.acknowledged().rbegin()->user_id();
        const std::uint64_t last_awaiting = page.awaiting().empty() ? 0 : *page.awaiting().rbegin();
        const auto last = std::max(last_acked, last_awaiting);
        auto& q = *request.mutable_urgent_status_request();
        if (last <= q.after_user_id()) return std::nullopt;  // no progress
        q.set_after_user_id(last);
        return request;
    };
    run([f = std::move(f), fold = std::move(fold), done = std::move(done)](impl& i) mutable {
        i.ask_pages<tern::client::urgent_status>(std::move(f), v1::Frame::kUrgentStatus, {},
                                                 std::move(fold), std::move(done));
    });
}

void client::set_typing(const conv_id& conv, bool active) {
    run([conv, active](impl& i) { i.typing(conv, active); });
}

connection_state client::state() const noexcept { return impl_->state.load(); }
user_id client::user() const noexcept { return impl_->user.load(); }
std::uint64_t client::device() const noexcept { return impl_->device.load(); }

}  // namespace tern::client
