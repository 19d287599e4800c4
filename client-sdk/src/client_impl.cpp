#include "client_impl.hpp"

#include <tern/wire/time.hpp>

#include <algorithm>

#include <boost/asio/post.hpp>

#include "convert.hpp"

namespace tern::client {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto ack_delay = 20ms;
constexpr auto sweep_period = 500ms;

using wire::unix_ms;

error make_error(error_code code, std::string message, bool retryable = false) {
    return {code, std::move(message), retryable};
}

v1::Platform to_proto(platform p) {
    switch (p) {
        case platform::ios:
            return v1::PLATFORM_IOS;
        case platform::android:
            return v1::PLATFORM_ANDROID;
        case platform::windows:
            return v1::PLATFORM_WINDOWS;
        case platform::macos:
            return v1::PLATFORM_MACOS;
        case platform::linux_desktop:
            return v1::PLATFORM_LINUX;
        case platform::web:
            return v1::PLATFORM_WEB;
        case platform::bot:
            return v1::PLATFORM_BOT;
        default:
            return v1::PLATFORM_UNSPECIFIED;
    }
}

// Whether the server's advice is never to come back on this connection's terms.
bool final_reason(disconnect_reason r) {
    return r == disconnect_reason::kicked || r == disconnect_reason::replaced ||
           r == disconnect_reason::auth_failed || r == disconnect_reason::unsupported_version ||
           r == disconnect_reason::client_closed;
}

}  // namespace

client::impl::impl(options opts, std::shared_ptr<listener> app, asio::io_context& io_context,
                   std::unique_ptr<state_store> store)
    : io(io_context),
      callbacks(opts.executor ? opts.executor : make_thread_executor()),
      opts_(std::move(opts)),
      app_(app ? std::move(app) : std::make_shared<listener>()),
      store_(store ? std::move(store) : make_memory_state_store()),
      rng_(std::random_device{}()),
      reconnect_timer_(io_context),
      heartbeat_timer_(io_context),
      sweep_timer_(io_context),
      pace_timer_(io_context),
      ack_timer_(io_context) {
    instance_.resize(16);
    for (auto& byte : instance_) byte = static_cast<char>(rng_());
    std::string problem;
    tls_ = detail::make_tls_context(opts_.tls, problem);
    if (!problem.empty()) log(log_level::warn, problem);
    inbox_ = detail::inbox(store_->inbox_cursor());
    // The outbox a persistent store kept: sent again on the first connection.
    for (auto& entry : store_->outbox()) {
        detail::outbox::pending_send o;
        o.frame.ParseFromString(entry.request);
        o.entry = std::move(entry);
        outbox_.add(std::move(o));
    }
}

bool client::impl::logs(log_level level) const noexcept {
    return opts_.log_sink && level >= opts_.log_level;
}

void client::impl::log(log_level level, const std::string& line) const {
    if (logs(level)) opts_.log_sink(level, line);
}

// ---- connection ----------------------------------------------------------------------------

void client::impl::start() {
    if (shut_ || wanted_) return;
    wanted_ = true;
    attempt_ = 0;
    if (phase_ == phase::idle) attempt();
}

void client::impl::stop(disconnect_reason reason, const std::string& message) {
    wanted_ = false;
    reconnect_timer_.cancel();
    if (link_) {
        v1::Frame bye;
        bye.mutable_disconnect()->set_reason(v1::DISCONNECT_CLIENT_CLOSED);
        link_->send(bye);
        link_->close();  // on_link_closed fails what waits on the connection
    }
    set_state(connection_state::stopped, reason, message);
}

void client::impl::shutdown() {
    shut_ = true;
    wanted_ = false;
    for (auto* t :
         {&reconnect_timer_, &heartbeat_timer_, &sweep_timer_, &pace_timer_, &ack_timer_}) {
        t->cancel();
    }
    if (link_) link_->close();
    link_.reset();
    const auto closed = make_error(error_code::closed, "the client was destroyed");
    for (auto& [id, pending] : requests_) {
        if (!pending.outbox && pending.on_fail) pending.on_fail(closed);
    }
    requests_.clear();
    // The entries stay in the state store for the next client of this device.
    for (auto& o : outbox_.take_all()) complete(o.done, result<sent>(closed));
}

void client::impl::attempt() {
    if (!wanted_ || shut_ || phase_ != phase::idle) return;
    if (inbox_.backlog() >= opts_.max_app_backlog) {
        // A new connection would only be closed again: wait for the app to catch up.
        waiting_for_app_ = true;
        return;
    }
    if (opts_.endpoints.empty()) {
        set_state(connection_state::stopped, disconnect_reason::network, "no endpoints");
        wanted_ = false;
        return;
    }
    set_state(connection_state::connecting, disconnect_reason::none, {});
    if (token_stale_ || token_.empty()) {
        ask_for_token();
    } else {
        dial();
    }
}

// The provider is app code: it runs on the app's executor, never on the network thread.
void client::impl::ask_for_token() {
    phase_ = phase::token;
    if (!opts_.token_provider) {
        phase_ = phase::idle;
        set_state(connection_state::stopped, disconnect_reason::auth_failed, "no token provider");
        wanted_ = false;
        return;
    }
    callbacks.post(
        [provider = opts_.token_provider, weak = weak_from_this(), executor = io.get_executor()] {
            std::string token = provider();
            asio::post(executor, [weak, token = std::move(token)]() mutable {
                auto self = weak.lock();
                if (!self || self->phase_ != phase::token) return;
                self->phase_ = phase::idle;
                if (!self->wanted_) return;
                if (token.empty()) {
                    self->lost(disconnect_reason::auth_failed, "the token provider gave no token");
                    return;
                }
                self->token_ = std::move(token);
                self->token_stale_ = false;
                self->dial();
            });
        });
}

void client::impl::dial() {
    phase_ = phase::dialing;
    const auto index = endpoint_ % opts_.endpoints.size();
    const auto& where = opts_.endpoints[index];
    std::shared_ptr<detail::tls_session_slot> session;
    if (where.transport == transport::tls || where.transport == transport::wss) {
        tls_sessions_.resize(opts_.endpoints.size());
        if (!tls_sessions_[index])
            tls_sessions_[index] = std::make_shared<detail::tls_session_slot>();
        session = tls_sessions_[index];
    }
    detail::async_dial(
        io, where, opts_.tls, tls_, std::move(session),
        {opts_.connect_timeout, opts_.socket_receive_buffer, opts_.local_address}, weak_from_this(),
        [weak = weak_from_this()](const boost::system::error_code& ec, std::string detail,
                                  std::shared_ptr<detail::link> l) {
            auto self = weak.lock();
            if (!self) {
                if (l) l->close();
                return;
            }
            self->on_dialed(ec, detail, std::move(l));
        });
}

void client::impl::on_dialed(const boost::system::error_code& ec, const std::string& detail,
                             std::shared_ptr<detail::link> l) {
    if (!wanted_ || shut_) {
        if (l) l->close();
        phase_ = phase::idle;
        return;
    }
    if (ec) {
        phase_ = phase::idle;
        ++endpoint_;  // the next endpoint next time
        log(log_level::info, "connect failed: " + detail);
        lost(disconnect_reason::network, detail);
        return;
    }
    link_ = std::move(l);
    phase_ = phase::hello;
    reading_paused_ = false;
    dropping_pushes_ = false;
    goodbye_.reset();
    hello_error_.reset();
    v1::Frame hello;
    hello_req_ = next_req_++;
    hello.set_req_id(hello_req_);
    auto* h = hello.mutable_hello();
    h->set_protocol_version(1);
    h->set_token(token_);
    h->set_platform(to_proto(opts_.platform));
    h->set_app_version(opts_.app_version);
    h->set_resume_inbox_seq(inbox_.cursor());
    // Names this connection as newer than every earlier one of this client, so a Hello that an
    // abandoned connection delivers late cannot replace this one.
    h->set_client_instance(instance_);
    h->set_attempt(++hellos_sent_);
    link_->send(hello);
    last_sent_ = last_received_ = clock::now();
    arm_heartbeat();  // also bounds the wait for Welcome
}

void client::impl::on_welcome(const v1::Frame& frame) {
    const auto& w = frame.welcome();
    if (opts_.device_id != 0 && w.device_id() != opts_.device_id) {
        stop(disconnect_reason::auth_failed,
             "the token is for device " + std::to_string(w.device_id()));
        return;
    }
    user.store(w.user_id());
    device.store(w.device_id());
    heartbeat_ =
        opts_.heartbeat.count() > 0
            ? opts_.heartbeat
            : std::chrono::milliseconds(std::max<std::uint32_t>(w.heartbeat_interval_ms(), 1000));
    // Stay a little under the server's limits: they are enforced on arrival.
    pace_ = {std::max(1.0, 0.9 * w.limits().inbound_frames_per_second()),
             std::max(1.0, 0.5 * w.limits().inbound_burst())};
    tokens_.refill_fully(pace_, clock::now());
    server_limits_ = detail::server_limits::of(w.limits());
    for (auto& [o, refused] : outbox_.take_oversize(server_limits_)) {
        finish(o, result<sent>(std::move(refused)));
    }
    if (w.inbox_head() < inbox_.cursor()) {
        // The server's inbox is behind what we delivered (its data was reset): follow it, and
        // let the per-conversation check drop anything seen before.
        log(log_level::error, "server inbox head is behind the client's cursor");
        inbox_.reset_to(w.resume_from());
    }
    phase_ = phase::ready;
    attempt_ = 0;
    set_state(connection_state::connected, disconnect_reason::none, {});
    restore_after_welcome();
    arm_sweep();
}

// After every Welcome: the outbox in order, then unconfirmed read marks and presence.
void client::impl::restore_after_welcome() {
    send_outbox(true);
    for (const auto& [conv, seq] : read_marks_) mark_read(conv, seq, {});
    if (!followed_.empty()) {
        follow(std::vector<user_id>(followed_.begin(), followed_.end()), true, {});
    }
    if (my_presence_) set_presence(my_presence_->first, my_presence_->second, {});
    if (!foreground_) set_app_state(false, {});
}

void client::impl::on_disconnect_frame(const v1::Disconnect& d) {
    goodbye_ = d;
    if (d.reason() == v1::DISCONNECT_TOKEN_EXPIRED) token_stale_ = true;
    if (link_) link_->close();
}

void client::impl::on_link_closed(const boost::system::error_code& ec) {
    link_.reset();
    const bool was_ready = phase_ == phase::ready;
    phase_ = phase::idle;
    heartbeat_timer_.cancel();
    pace_timer_.cancel();
    pace_armed_ = false;
    paced_.clear();
    inbox_.on_connection_lost();
    const auto gone = make_error(error_code::not_connected, "the connection closed", true);
    auto requests = std::move(requests_);
    requests_.clear();
    for (auto& [id, pending] : requests) {
        if (!pending.outbox && pending.on_fail) pending.on_fail(gone);
    }
    outbox_.on_connection_lost();
    if (shut_) return;

    disconnect_reason reason = disconnect_reason::network;
    std::string message = ec ? ec.message() : "closed";
    if (goodbye_) {
        reason = detail::from_proto(goodbye_->reason());
        message = goodbye_->message();
    } else if (hello_error_) {
        reason = hello_error_->code == error_code::token_expired ? disconnect_reason::token_expired
                                                                 : disconnect_reason::auth_failed;
        message = hello_error_->message;
    }
    if (!was_ready) ++endpoint_;
    if (!wanted_) return;  // stop() already said so
    lost(reason, message);
}

// Not connected any more: stop for good if the server said so, otherwise try again later.
void client::impl::lost(disconnect_reason reason, const std::string& message) {
    if (reason == disconnect_reason::token_expired) token_stale_ = true;
    if (goodbye_ ? !goodbye_->reconnect() : final_reason(reason)) {
        wanted_ = false;
        set_state(connection_state::stopped, reason, message);
        return;
    }
    set_state(connection_state::disconnected, reason, message);
    schedule_reconnect();
}

void client::impl::schedule_reconnect() {
    const auto ceiling =
        std::min<std::int64_t>(opts_.reconnect.max_delay.count(),
                               opts_.reconnect.initial_delay.count() << std::min(attempt_, 20u));
    std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(ceiling, 0));
    auto delay = std::chrono::milliseconds(jitter(rng_));
    if (goodbye_) {
        delay = std::max(delay, std::chrono::milliseconds(goodbye_->reconnect_after_ms()));
    }
    ++attempt_;
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto self = weak.lock()) self->attempt();
    });
}

void client::impl::set_state(connection_state s, disconnect_reason reason,
                             const std::string& message) {
    if (state.load() == s && reason == disconnect_reason::none) return;
    state.store(s);
    callbacks.post(
        [app = app_, change = state_change{s, reason, message}] { app->on_state(change); });
}

// ---- sending ---------------------------------------------------------------------------------

void client::impl::emit(v1::Frame frame) {
    if (!link_) return;
    paced_.push_back(std::move(frame));
    drain_paced();
}

void client::impl::drain_paced() {
    if (!link_) return;
    const auto now = clock::now();
    while (!paced_.empty() && tokens_.take(pace_, now)) {
        link_->send(paced_.front());
        paced_.pop_front();
        last_sent_ = now;
    }
    if (paced_.empty() || pace_armed_) return;
    pace_armed_ = true;
    pace_timer_.expires_after(tokens_.until_next(pace_, now));
    pace_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self) return;
        self->pace_armed_ = false;
        if (!ec) self->drain_paced();
    });
}

std::uint64_t client::impl::send_request(v1::Frame frame, pending_request pending) {
    const auto id = next_req_++;
    frame.set_req_id(id);
    requests_.emplace(id, std::move(pending));
    emit(std::move(frame));
    arm_sweep();
    return id;
}

// ---- outbox ----------------------------------------------------------------------------------

void client::impl::submit(v1::Frame frame, std::string client_msg_id, callback<sent> done) {
    if (shut_) {
        complete(done, result<sent>(make_error(error_code::closed, "the client is closed")));
        return;
    }
    if (auto refused = detail::refuse_oversize(frame, server_limits_)) {
        // Never queued: a request the server cannot take would be resent on every connection.
        complete(done, result<sent>(std::move(*refused)));
        return;
    }
    detail::outbox::pending_send o;
    o.entry.client_msg_id = std::move(client_msg_id);
    o.entry.request = frame.SerializeAsString();
    o.entry.expires_ms = unix_ms() + opts_.send_expiry.count();
    o.frame = std::move(frame);
    o.done = std::move(done);
    store_->outbox_add(o.entry);
    auto& added = outbox_.add(std::move(o));
    if (phase_ == phase::ready) transmit(added);
}

void client::impl::transmit(detail::outbox::pending_send& o) {
    pending_request p;
    p.outbox = true;
    p.deadline = clock::time_point::max();
    p.on_reply = [this, cmid = o.entry.client_msg_id](const v1::Frame& reply) {
        settle(cmid, reply);
    };
    detail::outbox::sent(o, send_request(o.frame, std::move(p)));
    if (logs(log_level::debug)) {
        log(log_level::debug,
            "sending " + o.entry.client_msg_id + " as request " + std::to_string(o.req_id));
    }
}

void client::impl::settle(const std::string& client_msg_id, const v1::Frame& reply) {
    if (logs(log_level::debug)) {
        log(log_level::debug,
            "answer to " + client_msg_id + ": " +
                (reply.has_send_ack() ? "seq " + std::to_string(reply.send_ack().seq())
                                      : "error " + reply.error().message()));
    }
    auto answer = outbox_.on_reply(client_msg_id, reply, clock::now());
    switch (answer.what) {
        case detail::outbox::outcome::acked:
            return finish(*answer.entry, result<sent>(detail::from_proto(reply.send_ack())));
        case detail::outbox::outcome::failed:
            return finish(*answer.entry,
                          result<sent>(reply.has_error()
                                           ? detail::from_proto(reply.error())
                                           : make_error(error_code::internal, "unexpected reply")));
        case detail::outbox::outcome::retry_later:  // the sweep or the next connection sends it
            return arm_sweep();
        case detail::outbox::outcome::unknown:
            return;
    }
}

void client::impl::finish(detail::outbox::pending_send& o, result<sent> outcome) {
    store_->outbox_remove(o.entry.client_msg_id);
    complete(o.done, std::move(outcome));
}

// ---- reads and state that survives reconnects ------------------------------------------------

void client::impl::mark_read(const conv_id& conv, seq_t seq, callback<ok> done) {
    auto& mark = read_marks_[conv];
    mark = std::max(mark, seq);
    if (phase_ != phase::ready) {
        // Sent after the next Welcome; completes now, as the mark is kept.
        complete(done, result<ok>(ok{}));
        return;
    }
    v1::Frame f;
    detail::to_proto(conv, *f.mutable_mark_read()->mutable_conv());
    f.mutable_mark_read()->set_up_to_seq(seq);
    pending_request p;
    p.on_reply = [this, conv, seq, done](const v1::Frame& reply) {
        auto it = read_marks_.find(conv);
        if (it != read_marks_.end() && it->second <= seq) read_marks_.erase(it);
        if (reply.has_error()) {
            complete(done, result<ok>(detail::from_proto(reply.error())));
        } else {
            complete(done, result<ok>(ok{}));
        }
    };
    // Lost with the connection: the mark stays and is sent again.
    p.on_fail = [this, done](const error&) { complete(done, result<ok>(ok{})); };
    p.deadline = clock::now() + opts_.request_timeout;
    send_request(std::move(f), std::move(p));
}

void client::impl::follow(const std::vector<user_id>& users, bool start, callback<ok> done) {
    for (auto u : users) {
        if (start) {
            followed_.insert(u);
        } else {
            followed_.erase(u);
        }
    }
    if (phase_ != phase::ready) {
        complete(done, result<ok>(ok{}));
        return;
    }
    v1::Frame f;
    for (auto u : users) f.mutable_presence_subscribe()->add_user_ids(u);
    f.mutable_presence_subscribe()->set_unsubscribe(!start);
    ask<ok>(
        std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
}

void client::impl::set_presence(presence_status status, const std::string& text,
                                callback<ok> done) {
    my_presence_ = std::pair{status, text};
    if (phase_ != phase::ready) {
        complete(done, result<ok>(ok{}));
        return;
    }
    v1::Frame f;
    f.mutable_presence_update()->set_status(detail::to_proto(status));
    f.mutable_presence_update()->set_status_text(text);
    ask<ok>(
        std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
}

void client::impl::set_app_state(bool foreground, callback<ok> done) {
    foreground_ = foreground;
    if (phase_ != phase::ready) {
        complete(done, result<ok>(ok{}));  // told after the next Welcome
        return;
    }
    v1::Frame f;
    f.mutable_set_app_state()->set_state(foreground ? v1::APP_STATE_FOREGROUND
                                                    : v1::APP_STATE_BACKGROUND);
    ask<ok>(
        std::move(f), v1::Frame::kOk, [](const v1::Frame&) { return ok{}; }, std::move(done));
}

void client::impl::typing(const conv_id& conv, bool active) {
    if (phase_ != phase::ready) return;
    v1::Frame f;
    detail::to_proto(conv, *f.mutable_typing()->mutable_conv());
    f.mutable_typing()->set_typing(active);
    emit(std::move(f));
}

// ---- frames from the server --------------------------------------------------------------------

void client::impl::on_frame(v1::Frame& frame) {
    last_received_ = clock::now();
    switch (frame.body_case()) {
        case v1::Frame::kWelcome:
            if (phase_ == phase::hello) on_welcome(frame);
            return;
        case v1::Frame::kDisconnect:
            on_disconnect_frame(frame.disconnect());
            return;
        case v1::Frame::kPush:
            on_push(*frame.mutable_push());
            return;
        case v1::Frame::kReceiptUpdate:
            callbacks.post([app = app_, u = detail::from_proto(frame.receipt_update())] {
                app->on_receipt(u);
            });
            return;
        case v1::Frame::kPresenceNotify: {
            std::vector<presence> users;
            for (const auto& p : frame.presence_notify().users()) {
                users.push_back(detail::from_proto(p));
            }
            callbacks.post([app = app_, users = std::move(users)] { app->on_presence(users); });
            return;
        }
        case v1::Frame::kTyping:
            callbacks.post(
                [app = app_, t = detail::from_proto(frame.typing())] { app->on_typing(t); });
            return;
        case v1::Frame::kNotificationSettings:
            if (frame.req_id() != 0) break;  // the answer to a get: a request's reply
            callbacks.post([app = app_, s = detail::from_proto(frame.notification_settings())] {
                app->on_settings(s);
            });
            return;
        case v1::Frame::kUrgentAcknowledged:
            callbacks.post([app = app_, a = detail::from_proto(frame.urgent_acknowledged())] {
                app->on_urgent_acknowledged(a);
            });
            return;
        case v1::Frame::kScheduledUpdate:
            callbacks.post([app = app_, u = detail::from_proto(frame.scheduled_update())] {
                app->on_scheduled(u);
            });
            return;
        case v1::Frame::kDigest:
            callbacks.post(
                [app = app_, d = detail::from_proto(frame.digest())] { app->on_digest(d); });
            return;
        case v1::Frame::kMuteUpdate:
            callbacks.post(
                [app = app_, m = detail::from_proto(frame.mute_update())] { app->on_mute(m); });
            return;
        default:
            break;
    }
    if (frame.req_id() == hello_req_ && frame.has_error()) {
        hello_error_ = detail::from_proto(frame.error());
        return;
    }
    auto it = requests_.find(frame.req_id());
    if (it == requests_.end()) return;  // timed out already, or the server's own error
    auto pending = std::move(it->second);
    requests_.erase(it);
    if (pending.on_reply) pending.on_reply(frame);
}

// ---- inbox -------------------------------------------------------------------------------------

// The app is behind and the server gave up on this connection: read to its end for the
// Disconnect, dropping pushes (the next connection resumes from the cursor).
void client::impl::on_peer_gone_while_paused() { dropping_pushes_ = true; }

void client::impl::on_push(v1::Push& push) {
    if (dropping_pushes_) return;
    const bool gap =
        inbox_.on_push(push, [this](const v1::Push& p, bool fresh) { hand_to_app(p, fresh); });
    if (gap) start_sync();
}

void client::impl::pull() {
    if (phase_ == phase::ready && inbox_.on_pull()) start_sync();
}

// Pulls the inbox after the cursor: the inbox said so (a gap, more pages, or the app's pull).
void client::impl::start_sync() {
    v1::Frame f;
    f.mutable_sync()->set_after_inbox_seq(inbox_.cursor());
    pending_request p;
    p.on_reply = [this](const v1::Frame& reply) {
        if (!reply.has_sync_page()) {
            inbox_.on_sync_failed();  // an error: the next push or reconnect tries again
            return;
        }
        const bool again = inbox_.on_sync_page(
            reply.sync_page(),
            [this](const v1::Push& entry, bool fresh) { hand_to_app(entry, fresh); });
        if (again) start_sync();
    };
    p.on_fail = [this](const error&) { inbox_.on_sync_failed(); };
    p.deadline = clock::now() + opts_.request_timeout;
    send_request(std::move(f), std::move(p));
}

void client::impl::hand_to_app(const v1::Push& push, bool fresh) {
    const auto inbox_seq = push.inbox_seq();
    std::optional<event> ev;
    if (fresh) {
        ev = detail::from_proto(push.event());
        ev->notice = detail::from_proto(push.notice());
    }
    // The server's bounded queue takes the pressure while the app is behind.
    if (!reading_paused_ && inbox_.backlog() >= opts_.max_app_backlog && link_) {
        reading_paused_ = true;
        link_->pause_reading(true);
        log(log_level::info, "the app is behind: reading paused");
    }
    callbacks.post([app = app_, ev = std::move(ev), inbox_seq, weak = weak_from_this(),
                    executor = io.get_executor()] {
        if (ev) app->on_event(*ev);
        asio::post(executor, [weak, inbox_seq] {
            if (auto self = weak.lock()) self->app_ran(inbox_seq);
        });
    });
}

void client::impl::app_ran(std::uint64_t inbox_seq) {
    if (!inbox_.on_app_done(inbox_seq)) return;
    store_->set_inbox_cursor(inbox_seq);
    // Read again once the app has taken three quarters of the backlog.
    if (inbox_.backlog() <= opts_.max_app_backlog / 4) {
        if (reading_paused_) {
            reading_paused_ = false;
            if (link_) link_->pause_reading(false);
        }
        if (waiting_for_app_) {
            waiting_for_app_ = false;
            attempt();
        }
    }
    schedule_ack();
}

// One cumulative Ack for everything the app has taken in the last moment.
void client::impl::schedule_ack() {
    if (ack_armed_ || phase_ != phase::ready) return;
    ack_armed_ = true;
    ack_timer_.expires_after(ack_delay);
    ack_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self) return;
        self->ack_armed_ = false;
        if (ec || self->phase_ != phase::ready) return;
        const auto up_to = self->inbox_.take_ack();
        if (!up_to) return;
        v1::Frame f;
        f.mutable_ack()->set_inbox_seq(*up_to);
        self->emit(std::move(f));
    });
}

// Sends every outbox entry not in flight on this connection (a retryable error's entry only
// after its delay, unless `now` says a new connection starts over), and expires old entries.
void client::impl::send_outbox(bool now) {
    for (auto& o : outbox_.take_expired(unix_ms())) {
        finish(o, result<sent>(make_error(error_code::expired, "not acknowledged in time")));
    }
    if (phase_ != phase::ready) return;
    for (auto* o : outbox_.due(now, clock::now())) transmit(*o);
}

// ---- timers ------------------------------------------------------------------------------------

void client::impl::arm_heartbeat() {
    const auto period = phase_ == phase::ready ? heartbeat_ / 2 : opts_.connect_timeout;
    heartbeat_timer_.expires_after(period);
    heartbeat_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec || !self->link_) return;
        const auto now = clock::now();
        if (self->phase_ != phase::ready) {
            self->log(log_level::info, "no Welcome in time");
            self->link_->close();
            return;
        }
        if (now - self->last_received_ > 2 * self->heartbeat_ + 5s) {
            self->log(log_level::info, "the server went silent");
            self->link_->close();
            return;
        }
        if (now - self->last_sent_ >= self->heartbeat_ / 2) {
            v1::Frame ping;
            ping.mutable_ping()->set_client_time_ms(unix_ms());
            self->emit(std::move(ping));
        }
        self->arm_heartbeat();
    });
}

// Every sweep_period while anything waits, or sooner when an outbox entry's retry is due.
void client::impl::arm_sweep() {
    if (requests_.empty() && outbox_.empty()) return;
    auto when = clock::now() + sweep_period;
    if (const auto retry = outbox_.next_retry(); retry && *retry < when) when = *retry;
    if (sweep_armed_ && sweep_at_ <= when) return;
    sweep_armed_ = true;
    sweep_at_ = when;
    const auto generation = ++sweep_generation_;  // a wait moved earlier leaves the old one moot
    sweep_timer_.expires_at(when);
    sweep_timer_.async_wait(
        [weak = weak_from_this(), generation](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || generation != self->sweep_generation_) return;
            self->sweep_armed_ = false;
            if (!ec) self->sweep();
        });
}

// Times out requests, retries outbox entries after a retryable error, expires old sends.
void client::impl::sweep() {
    const auto now = clock::now();
    for (auto it = requests_.begin(); it != requests_.end();) {
        if (it->second.deadline > now) {
            ++it;
            continue;
        }
        auto pending = std::move(it->second);
        it = requests_.erase(it);
        if (pending.on_fail) {
            pending.on_fail(make_error(error_code::timeout, "no answer in time", true));
        }
    }
    send_outbox(false);
    arm_sweep();
}

}  // namespace tern::client
