// One client connection on one shard, over any transport (stream_transport over a socket or
// net::tls_socket, with the length-prefix reader for tcp and tls or the WebSocket reader for ws and
// wss). A reader, a writer and a timer share it, all callbacks on the shard's thread (a
// coroutine's frames would cost every idle connection about 1 KB):
//
//   reader    (one pending fill of the transport while idle, no buffer on a plain socket)
//             decodes frames: the handshake (Hello within the auth deadline, the token verified,
//             the core's admission, Welcome), then heartbeats and requests for the core;
//             rate-limited. It pauses while the core decides the admission.
//   writer    (callbacks: idle, it holds nothing) drains the bounded outbound queue, all queued
//             frames in one gathered write.
//   watchdog  (a timer callback: a coroutine's frames cost an idle connection ~800 bytes)
//             closes the connection at the auth deadline, after the idle timeout, and when its
//             token expires (the handshake's rule: `exp` plus the allowed skew).
//
// Closing queues a Disconnect, lets the writer flush it, then closes the socket; a peer that does
// not read is cut off after a grace period. Nothing here throws on the data path.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <tern/core/device_port.hpp>
#include <tern/wire/error_frame.hpp>
#include <tern/wire/errors.hpp>
#include <tern/wire/time.hpp>
#include <tern/wire/token_bucket.hpp>

#include "connection_settings.hpp"

namespace tern::server::net {

namespace asio = boost::asio;

using wire::unix_ms;

// The next connection id (process-wide, ascending).
inline std::uint64_t next_connection_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

// Welcome.session_id: this process's random run id and the connection id ("3f9a0c12-1b4"), so
// that a user's support request names one connection of one run of one node, and the admin
// device list and the logs show the same string.
inline std::string session_id_of(std::uint64_t connection_id) {
    static const std::uint32_t run_id = [] {
        std::random_device seed;
        return static_cast<std::uint32_t>(seed());
    }();
    char out[32];
    const int n = std::snprintf(out, sizeof out, "%08x-%llx", run_id,
                                static_cast<unsigned long long>(connection_id));
    return {out, static_cast<std::size_t>(n)};
}

template <class Transport>
class connection final : public core::device_port,
                         public std::enable_shared_from_this<connection<Transport>> {
public:
    using clock = std::chrono::steady_clock;

    // The shard's executor; an io_context's is one pointer (an any_io_executor is 56 bytes).
    using executor_type = asio::io_context::executor_type;

    connection(Transport transport, transport_kind kind, executor_type executor, std::size_t shard,
               const connection_settings& settings)
        : shard_(shard),
          kind_(kind),
          id_(next_connection_id()),
          transport_(std::move(transport)),
          settings_(settings),
          executor_(executor),
          watchdog_(executor),
          tokens_(settings.limits->inbound, clock::now()) {}

    ~connection() override {
        // Frames still queued when the connection went (never written) leave the gauge too.
        settings_.metrics->outbound_queue_bytes(-static_cast<std::int64_t>(queued_bytes_));
    }

    void start() {
        const auto self = this->shared_from_this();
        last_activity_ = clock::now();
        connected_at_ms_ = unix_ms();
        settings_.metrics->connection_opened(kind_);
        read_frames();
        arm_watchdog();
    }

    // ---- core::device_port -----------------------------------------------------------------

    const core::requester& who() const noexcept override { return who_; }
    std::size_t shard() const noexcept override { return shard_; }
    std::uint64_t id() const noexcept override { return id_; }

    // The event's bytes are shared, not copied: only the head (the envelope, the inbox_seq and,
    // for WebSocket, the frame header) is this connection's.
    bool push(std::uint64_t inbox_seq, const storage::event_bytes& event,
              core::notice announce) override {
        wire::out_frame out;
        if (wire::encode_push(inbox_seq, event, Transport::framing, limits().max_frame_bytes, out,
                              static_cast<std::uint32_t>(announce))) {
            settings_.metrics->frames_dropped(server::drop_reason::push_too_large, 1,
                                              "a push of " + std::to_string(event->size()) +
                                                  " bytes, tenant " + std::to_string(who_.tenant));
            return false;
        }
        queue_bounded(std::move(out));
        return true;
    }

    core::device_info describe() override {
        core::device_info info{id_,
                               who_,
                               shard_,
                               transport_name(kind_),
                               {},
                               connected_at_ms_,
                               queued_bytes_,
                               session_id_of(id_)};
        asio::ip::tcp::endpoint peer;
        socklen_t size = static_cast<socklen_t>(peer.capacity());
        const int fd = transport_.native_handle();
        if (fd >= 0 && ::getpeername(fd, peer.data(), &size) == 0) {
            peer.resize(size);
            info.remote = peer.address().to_string() + ":" + std::to_string(peer.port());
        }
        return info;
    }

    bool has_room(std::size_t bytes) const noexcept override {
        const auto& l = limits();
        return queue_.size() + 1 <= l.outbound_queue_frames / 2 &&
               queued_bytes_ + bytes <= l.outbound_queue_bytes / 2;
    }
    std::size_t queued_frames() const noexcept override { return queue_.size(); }
    bool closing() const noexcept override { return closing_; }

    void send(const v1::Frame& frame) override {
        if (frame.has_error()) settings_.metrics->request_error(frame.error().code());
        wire::out_frame out;
        if (!encode_or_refuse(frame, out)) return;
        queue_bounded(std::move(out));
    }

    bool admit(const v1::Frame& welcome) override {
        if (closing_ || !admitting_) return false;
        admitting_ = false;
        open_ = true;
        enqueue_frame(welcome);
        watchdog_.cancel();  // from the auth deadline to the idle timeout
        if (reader_paused_) {
            reader_paused_ = false;
            // Posted: whoever admits (the core, on this thread) must not run the reader inline.
            asio::post(executor_, [self = this->shared_from_this()] { self->read_frames(); });
        }
        return true;
    }

    void close(v1::DisconnectReason reason, v1::ErrorCode code, std::string message) override {
        if (closing_) return;
        count_disconnect(reason, code);
        v1::Frame f;
        auto* d = f.mutable_disconnect();
        d->set_reason(reason);
        d->set_code(code);
        d->set_message(std::move(message));
        const auto& advice = wire::advise(reason);
        d->set_reconnect(advice.reconnect);
        d->set_reconnect_after_ms(advice.min_delay_ms);
        enqueue_frame(f);
        closing_ = true;
        wake_writer();
        watchdog_.expires_after(close_grace);  // a peer that does not read is cut off
        watchdog_.cancel();
    }

private:
    static constexpr std::chrono::seconds close_grace{2};

    const core::limits& limits() const noexcept { return *settings_.limits; }

    // Queues a frame within the outbound bounds; past them the connection is closed as a slow
    // consumer and the frame dropped (the device resyncs from its inbox cursor: nothing acked
    // is lost by dropping here).
    void queue_bounded(wire::out_frame frame) {
        if (closing_) return;
        const auto& l = limits();
        if (queue_.size() + 1 > l.outbound_queue_frames ||
            queued_bytes_ + frame.size() > l.outbound_queue_bytes) {
            settings_.metrics->frames_dropped(
                server::drop_reason::queue_overflow, queue_.size() + 1,
                "a slow consumer, tenant " + std::to_string(who_.tenant));
            drop_queue();
            close(v1::DISCONNECT_SLOW_CONSUMER, v1::SLOW_CONSUMER, "outbound queue overflowed");
            return;
        }
        enqueue(std::move(frame));
    }

    // A Disconnect we send; before the handshake completed, also why the connection was refused.
    void count_disconnect(v1::DisconnectReason reason, v1::ErrorCode code) {
        auto& m = *settings_.metrics;
        m.disconnected(reason);
        if (open_) return;
        if (code == v1::AUTH_TIMEOUT) return m.rejected(reject_reason::auth_timeout);
        switch (reason) {
            case v1::DISCONNECT_AUTH_FAILED:
            case v1::DISCONNECT_TOKEN_EXPIRED:
            case v1::DISCONNECT_TOKEN_NOT_YET_VALID:
                m.rejected(reject_reason::auth);
                return;
            case v1::DISCONNECT_TOO_MANY_DEVICES:
            case v1::DISCONNECT_REPLACED:
                m.rejected(reject_reason::admission);
                return;
            case v1::DISCONNECT_SERVER_DRAINING:
                m.rejected(reject_reason::draining);
                return;
            default:
                m.rejected(reject_reason::protocol);
        }
    }

    void enqueue(wire::out_frame frame) {
        settings_.metrics->outbound_queue_bytes(static_cast<std::int64_t>(frame.size()));
        queued_bytes_ += frame.size();
        queue_.push_back(std::move(frame));
        wake_writer();
    }

    void enqueue_frame(const v1::Frame& f) {
        wire::out_frame out;
        if (encode_or_refuse(f, out)) enqueue(std::move(out));
    }

    // Encodes a frame for this connection. One that does not fit (replies are built to fit: a
    // bug) is never sent broken and never dropped in silence: it is counted and logged, and the
    // request it answers gets an INTERNAL error instead.
    bool encode_or_refuse(const v1::Frame& frame, wire::out_frame& out) {
        if (!wire::encode_frame(frame, Transport::framing, limits().max_frame_bytes, out)) {
            return true;
        }
        settings_.metrics->frames_dropped(server::drop_reason::reply_too_large, 1,
                                          "a " + std::string(reply_name(frame)) + " of " +
                                              std::to_string(frame.ByteSizeLong()) +
                                              " bytes, tenant " + std::to_string(who_.tenant));
        if (frame.req_id() == 0) return false;
        settings_.metrics->request_error(v1::INTERNAL);
        return !wire::encode_frame(
            wire::error_frame(frame.req_id(), v1::INTERNAL, "the reply did not fit a frame"),
            Transport::framing, limits().max_frame_bytes, out);
    }

    static std::string_view reply_name(const v1::Frame& frame) {
        const auto* field = v1::Frame::descriptor()->FindFieldByNumber(frame.body_case());
        return field ? std::string_view(field->name()) : std::string_view("frame");
    }

    void drop_queue() {
        settings_.metrics->outbound_queue_bytes(-static_cast<std::int64_t>(queued_bytes_));
        queue_.clear();
        queued_bytes_ = 0;
    }

    void reply_error(std::uint64_t req_id, v1::ErrorCode code, std::string message,
                     std::uint32_t retry_after_ms = 0) {
        settings_.metrics->request_error(code);
        enqueue_frame(wire::error_frame(req_id, code, std::move(message), retry_after_ms));
    }

    // ---- reading ---------------------------------------------------------------------------

    // Handles every frame already received, then asks the transport for more; the fill's
    // callback comes back here. Stops while the core decides an admission (admit() resumes it)
    // and, for good, once the connection closes.
    void read_frames() {
        v1::Frame frame;
        while (!closing_) {
            boost::system::error_code ec;
            const auto status = transport_.next(frame, ec);
            take_replies();
            if (status == wire::split_status::need_more) {
                transport_.async_fill(
                    [self = this->shared_from_this()](const boost::system::error_code& fill_ec) {
                        if (self->closing_) return self->finish();
                        if (fill_ec) {
                            self->on_read_error(fill_ec);
                            return self->finish();
                        }
                        self->read_frames();
                    });
                return;
            }
            if (status == wire::split_status::error) {
                on_read_error(ec);
                break;
            }
            last_activity_ = clock::now();
            on_frame(frame);
            // Waiting for the core's admission: admit() starts reading again, and a refusal
            // closes the connection through the writer.
            if (admitting_ && !closing_) {
                reader_paused_ = true;
                return;
            }
        }
        finish();
    }

    // Control frames the framing owes the peer (WebSocket Pongs, the Close echo), queued even
    // when closing: the echo of a peer's Close is the last thing it is sent.
    void take_replies() {
        if constexpr (requires(wire::out_frame & f) { transport_.take_reply(f); }) {
            wire::out_frame reply;
            while (transport_.take_reply(reply)) enqueue(std::move(reply));
        }
    }

    void on_read_error(const boost::system::error_code& ec) {
        if (ec.category() == wire::wire_category()) {
            const auto code = wire::to_protocol_error(static_cast<wire::errc>(ec.value()));
            reply_error(0, code, ec.message());
            close(v1::DISCONNECT_PROTOCOL_ERROR, code, ec.message());
        } else {
            settings_.metrics->peer_closed();
            peer_gone_ = true;
            closing_ = true;  // the peer went away: nothing to say
            wake_writer();
        }
    }

    void on_frame(v1::Frame& frame) {
        if (!take_token(frame.req_id())) return;
        if (!open_) {
            handle_hello(frame);
            return;
        }
        switch (frame.body_case()) {
            case v1::Frame::kHello:
                reply_error(frame.req_id(), v1::ALREADY_AUTHENTICATED, "Hello sent twice");
                close(v1::DISCONNECT_PROTOCOL_ERROR, v1::ALREADY_AUTHENTICATED, "Hello sent twice");
                return;
            case v1::Frame::kPing: {
                v1::Frame pong;
                pong.set_req_id(frame.req_id());
                pong.mutable_pong()->set_client_time_ms(frame.ping().client_time_ms());
                pong.mutable_pong()->set_server_time_ms(unix_ms());
                enqueue_frame(pong);
                return;
            }
            case v1::Frame::kDisconnect:
                close(v1::DISCONNECT_CLIENT_CLOSED, v1::ERROR_CODE_UNSPECIFIED, "bye");
                return;
            default:
                break;
        }
        if (!settings_.handler) {
            reply_error(frame.req_id(), v1::UNAVAILABLE, "requests are not served yet");
            return;
        }
        settings_.handler->on_request(this->shared_from_this(), frame);
    }

    // Token bucket: `inbound_frames_per_second` sustained, `inbound_burst` at once. A frame over
    // the rate is answered RATE_LIMITED; a client that keeps going is disconnected.
    bool take_token(std::uint64_t req_id) {
        const auto now = clock::now();
        const auto& inbound = limits().inbound;
        if (tokens_.take(inbound, now)) {
            refused_in_a_row_ = 0;
            return true;
        }
        const auto wait = tokens_.until_next(inbound, now);
        const auto wait_ms = static_cast<std::uint32_t>((wait.count() + 999) / 1000);
        settings_.metrics->rate_limited();
        if (++refused_in_a_row_ > inbound.burst) {
            close(v1::DISCONNECT_RATE_LIMITED, v1::RATE_LIMITED, "inbound rate exceeded");
        } else {
            reply_error(req_id, v1::RATE_LIMITED, "inbound rate exceeded", wait_ms);
        }
        return false;
    }

    void handle_hello(const v1::Frame& frame) {
        if (!frame.has_hello()) {
            reply_error(frame.req_id(), v1::HELLO_REQUIRED, "the first frame must be Hello");
            close(v1::DISCONNECT_PROTOCOL_ERROR, v1::HELLO_REQUIRED,
                  "the first frame must be Hello");
            return;
        }
        const auto& hello = frame.hello();
        if (hello.protocol_version() != 1) {
            reply_error(frame.req_id(), v1::UNSUPPORTED_VERSION, "protocol version 1 only");
            close(v1::DISCONNECT_UNSUPPORTED_VERSION, v1::UNSUPPORTED_VERSION,
                  "protocol version 1 only");
            return;
        }
        if (hello.app_version().size() > 64 || hello.client_instance().size() > 32) {
            constexpr auto message = "Hello.app_version above 64 or client_instance above 32 bytes";
            reply_error(frame.req_id(), v1::INVALID_ARGUMENT, message);
            close(v1::DISCONNECT_PROTOCOL_ERROR, v1::INVALID_ARGUMENT, message);
            return;
        }
        const auto verify_started = clock::now();
        const auto claims = settings_.verifier->verify(hello.token(), unix_ms() / 1000);
        settings_.metrics->auth_duration(clock::now() - verify_started);
        if (!claims) {
            const auto code =
                auth::to_protocol_error(static_cast<auth::token_errc>(claims.error().value()));
            reply_error(frame.req_id(), code, claims.error().message());
            close(wire::handshake_disconnect(code), code, claims.error().message());
            return;
        }
        who_ = {claims->tenant, claims->user, claims->device, claims->roles};
        const auto valid_for = std::chrono::seconds(
            claims->expires_at + settings_.verifier->settings().max_skew.count() -
            unix_ms() / 1000);
        token_expiry_ = clock::now() + std::max(valid_for, std::chrono::seconds(0));

        auto welcome = welcome_for(frame.req_id());
        admitting_ = true;
        if (settings_.handler) {
            settings_.handler->on_open(this->shared_from_this(), hello, std::move(welcome));
        } else {
            admit(welcome);
        }
    }

    // The Welcome of an authenticated device, but for its inbox position (the core fills it in).
    v1::Frame welcome_for(std::uint64_t req_id) const {
        v1::Frame welcome;
        welcome.set_req_id(req_id);
        auto* w = welcome.mutable_welcome();
        w->set_protocol_version(1);
        w->set_tenant_id(who_.tenant);
        w->set_user_id(who_.user);
        w->set_device_id(who_.device);
        w->set_server_time_ms(unix_ms());
        w->set_session_id(session_id_of(id_));
        const auto& limit = limits();
        w->set_heartbeat_interval_ms(static_cast<std::uint32_t>(limit.heartbeat_interval.count()));
        auto* l = w->mutable_limits();
        l->set_max_frame_bytes(static_cast<std::uint32_t>(limit.max_frame_bytes));
        l->set_inbound_frames_per_second(static_cast<std::uint32_t>(limit.inbound.per_second));
        l->set_inbound_burst(static_cast<std::uint32_t>(limit.inbound.burst));
        l->set_max_group_members(limit.max_group_members);
        l->set_max_content_bytes(limit.max_content_bytes);
        l->set_sync_page_max(limit.sync_page_max);
        l->set_recall_window_seconds(static_cast<std::uint32_t>(limit.recall_window.count()));
        return welcome;
    }

    // ---- writing ---------------------------------------------------------------------------

    // The writer is callbacks, not a coroutine: an idle connection holds nothing for it. A wake
    // is posted (the writer runs after whatever woke it, as a waiting coroutine would); a write
    // takes everything queued in one gathered write; once closing and drained, the transport
    // closes.
    void wake_writer() {
        if (wake_posted_ || writing_ || writes_ended_) return;
        wake_posted_ = true;
        asio::post(executor_, [self = this->shared_from_this()] {
            self->wake_posted_ = false;
            self->write_queued();
        });
    }

    void write_queued() {
        if (writing_ || writes_ended_) return;
        if (queue_.empty()) {
            if (closing_ || finished_) return end_writes(!peer_gone_);
            queue_.shrink_to_fit();  // an idle connection keeps no memory from its last burst
            batch_ = {};
            return;
        }
        writing_ = true;
        batch_.swap(queue_);
        settings_.metrics->outbound_queue_bytes(-static_cast<std::int64_t>(queued_bytes_));
        queued_bytes_ = 0;
        transport_.async_write_frames(
            batch_, [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                self->writing_ = false;
                self->batch_.clear();
                if (ec) return self->end_writes(false);
                self->write_queued();
            });
    }

    // Everything we had to say is written (`graceful`: our Disconnect is among it), or writing
    // failed.
    void end_writes(bool graceful) {
        writes_ended_ = true;
        finish();
        if constexpr (requires { transport_.lowest_socket(); }) {
            if (graceful) return linger();
        }
        transport_.close();
    }

    // A lingering close: closing a socket whose peer's bytes are unread sends a reset, and a
    // reset makes the peer's kernel drop what it has not yet taken from us, our Disconnect
    // included (a flooding client whose window is full would never learn why it was cut off).
    // So: half-close (a FIN after the queued bytes), then read and drop what the peer still
    // sends until it closes too, for at most close_grace.
    void linger() {
        auto& socket = transport_.lowest_socket();
        boost::system::error_code ignored;
        socket.cancel(ignored);  // the reader's pending read, which must not take the bytes
        socket.shutdown(asio::socket_base::shutdown_send, ignored);
        watchdog_.expires_after(close_grace);
        watchdog_.async_wait(
            [self = this->shared_from_this()](const boost::system::error_code& ec) {
                if (!ec) self->transport_.close();
            });
        drain(std::make_shared<std::array<char, 2048>>());
    }

    void drain(std::shared_ptr<std::array<char, 2048>> buffer) {
        auto& socket = transport_.lowest_socket();
        socket.async_read_some(asio::buffer(*buffer),
                               [self = this->shared_from_this(), buffer](
                                   const boost::system::error_code& ec, std::size_t) {
                                   if (ec) {
                                       self->watchdog_.cancel();
                                       self->transport_.close();
                                       return;
                                   }
                                   self->drain(buffer);
                               });
    }

    // ---- deadlines -------------------------------------------------------------------------

    // The deadlines: the auth deadline, then the idle timeout and the token's expiry, and the
    // grace a closing peer gets to read its Disconnect. A timer callback, not a coroutine: a
    // waiting coroutine costs every connection about 800 bytes of frames. Whoever changes what
    // the deadline depends on cancels the timer, and the callback arms it again.
    void arm_watchdog() {
        if (finished_) return;
        if (!closing_) {
            const auto limit = open_ ? limits().idle_timeout : limits().auth_deadline;
            watchdog_.expires_at(open_ ? std::min(last_activity_ + limit, token_expiry_)
                                       : last_activity_ + limit);
        }
        watchdog_.async_wait([self = this->shared_from_this()](
                                 const boost::system::error_code& ec) { self->on_watchdog(ec); });
    }

    void on_watchdog(const boost::system::error_code& ec) {
        if (finished_) return;
        if (ec) return arm_watchdog();  // re-armed: handshake done, closing, or activity
        if (closing_) {
            transport_.close();  // the peer did not take its Disconnect in time
            return;
        }
        const auto limit = open_ ? limits().idle_timeout : limits().auth_deadline;
        if (open_ && clock::now() >= token_expiry_) {
            close(v1::DISCONNECT_TOKEN_EXPIRED, v1::TOKEN_EXPIRED,
                  "the token expired; reconnect with a new one");
        } else if (clock::now() < last_activity_ + limit) {
            // Activity since the timer was set: wait for the new deadline.
        } else if (open_) {
            close(v1::DISCONNECT_IDLE_TIMEOUT, v1::IDLE_TIMEOUT, "idle for too long");
        } else {
            reply_error(0, v1::AUTH_TIMEOUT, "no Hello within the auth deadline");
            close(wire::handshake_disconnect(v1::AUTH_TIMEOUT), v1::AUTH_TIMEOUT,
                  "no Hello within the auth deadline");
        }
        arm_watchdog();
    }

    // Runs once, when the reader or the writer stops.
    void finish() {
        if (finished_) return;
        finished_ = true;
        closing_ = true;
        settings_.metrics->connection_closed(kind_);
        wake_writer();
        watchdog_.cancel();
        if (open_ && settings_.handler) settings_.handler->on_close(this->shared_from_this());
    }

    std::size_t shard_;
    transport_kind kind_;
    std::uint64_t id_;
    Transport transport_;
    const connection_settings& settings_;
    executor_type executor_;  // the shard's
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor_type>
        watchdog_;  // auth deadline, idle timeout, close grace
    // Drained whole by the writer; a vector, since an empty std::deque allocates 512 bytes.
    std::vector<wire::out_frame> queue_;
    std::vector<wire::out_frame> batch_;  // being written
    bool writing_ = false;
    bool wake_posted_ = false;
    bool writes_ended_ = false;
    std::size_t queued_bytes_ = 0;
    core::requester who_;
    bool admitting_ = false;      // the token is verified; the core decides admission
    bool reader_paused_ = false;  // the reader stopped for the admission
    bool open_ = false;           // the handshake is done
    bool closing_ = false;        // a Disconnect is queued or the peer is gone
    bool peer_gone_ = false;      // the peer closed or failed: nothing to linger for
    bool finished_ = false;
    clock::time_point last_activity_;
    clock::time_point token_expiry_ = clock::time_point::max();
    std::int64_t connected_at_ms_ = 0;
    wire::token_bucket tokens_;  // the inbound rate
    std::uint32_t refused_in_a_row_ = 0;
};

}  // namespace tern::server::net
