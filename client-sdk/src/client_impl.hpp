// The client's protocol state machine. Everything here runs on the client's network thread (one
// io_context of the runtime); the public member functions only post to it, and callbacks are
// posted to the client's serial queue.
//
// Connection life: idle -> (token) -> dialing -> hello -> ready; any failure goes back to idle
// and, unless the server said not to, schedules the next attempt with backoff and full jitter.
//
// Inbox (inbox.hpp) and outbox (outbox.hpp) are state machines with no I/O: this class does
// what they decide (sends syncs, Acks and outbox entries, posts events to the app, keeps the
// state store up to date).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <tern/client/client.hpp>
#include <tern/wire/token_bucket.hpp>

#include "convert.hpp"
#include "executor_impl.hpp"
#include "inbox.hpp"
#include "link.hpp"
#include "outbox.hpp"

namespace tern::client {

struct client::impl final : detail::link_handler, std::enable_shared_from_this<client::impl> {
    using clock = std::chrono::steady_clock;

    impl(options opts, std::shared_ptr<listener> app, boost::asio::io_context& io,
         std::unique_ptr<state_store> store);

    // ---- on the network thread, posted by the public API ------------------------------------
    void start();
    void stop(disconnect_reason reason, const std::string& message);
    void shutdown();
    void submit(v1::Frame frame, std::string client_msg_id, callback<sent> done);
    void mark_read(const conv_id& conv, seq_t seq, callback<ok> done);
    void follow(const std::vector<user_id>& users, bool start, callback<ok> done);
    void set_presence(presence_status status, const std::string& text, callback<ok> done);
    void set_app_state(bool foreground, callback<ok> done);
    void typing(const conv_id& conv, bool active);
    void pull();
    // A read request answered by a frame with body `expect`, converted by `convert`.
    template <class T, class Convert>
    void ask(v1::Frame frame, v1::Frame::BodyCase expect, Convert convert, callback<T> done);
    // A read the server answers in pages (group members, who-read lists): asks page after page,
    // folding each reply into `acc` with `fold`, which returns the request for the next page
    // (nullopt after the last); completes `done` with the whole, or the first error.
    template <class T, class Fold>
    void ask_pages(v1::Frame frame, v1::Frame::BodyCase expect, T acc, Fold fold, callback<T> done);

    // ---- link_handler -----------------------------------------------------------------------
    void on_frame(v1::Frame& frame) override;
    void on_link_closed(const boost::system::error_code& ec) override;
    void on_peer_gone_while_paused() override;

    // Posts a completion to the app's executor (nothing when `done` is empty).
    template <class T>
    void complete(const callback<T>& done, result<T> r) {
        if (done) callbacks.post([done, r = std::move(r)] { done(r); });
    }

    // Read by the public API from any thread.
    std::atomic<connection_state> state{connection_state::stopped};
    std::atomic<user_id> user{0};
    std::atomic<std::uint64_t> device{0};

    boost::asio::io_context& io;
    detail::serial_queue callbacks;

private:
    enum class phase { idle, token, dialing, hello, ready };

    struct pending_request {
        std::function<void(const v1::Frame&)> on_reply;
        std::function<void(const error&)> on_fail;  // the connection went first, or a timeout
        clock::time_point deadline;
        bool outbox = false;  // an outbox entry: it stays and is sent again
    };

    // Connection.
    void attempt();
    void ask_for_token();
    void dial();
    void on_dialed(const boost::system::error_code& ec, const std::string& detail,
                   std::shared_ptr<detail::link> l);
    void on_welcome(const v1::Frame& frame);
    void on_disconnect_frame(const v1::Disconnect& d);
    void lost(disconnect_reason reason, const std::string& message);
    void schedule_reconnect();
    void set_state(connection_state s, disconnect_reason reason, const std::string& message);
    void restore_after_welcome();

    // Sending, paced to the server's inbound rate limit.
    void emit(v1::Frame frame);
    void drain_paced();
    std::uint64_t send_request(v1::Frame frame, pending_request pending);

    // Outbox.
    void transmit(detail::outbox::pending_send& o);
    void send_outbox(bool now);
    void settle(const std::string& client_msg_id, const v1::Frame& reply);
    // Completes a send the outbox let go (with its outcome) and forgets it in the state store.
    void finish(detail::outbox::pending_send& o, result<sent> outcome);

    // Inbox.
    void on_push(v1::Push& push);
    void start_sync();
    // Hands one inbox entry to the app's queue (`fresh`: its event is new to the app).
    void hand_to_app(const v1::Push& push, bool fresh);
    void app_ran(std::uint64_t inbox_seq);
    void schedule_ack();

    // Timers.
    void arm_heartbeat();
    void arm_sweep();
    void sweep();

    // Whether a line of `level` goes anywhere: check before building an expensive one.
    [[nodiscard]] bool logs(log_level level) const noexcept;
    void log(log_level level, const std::string& line) const;

    options opts_;
    std::shared_ptr<listener> app_;
    std::unique_ptr<state_store> store_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    // Per endpoint (the index in opts_.endpoints): the TLS session to resume on a reconnect.
    std::vector<std::shared_ptr<detail::tls_session_slot>> tls_sessions_;
    std::mt19937_64 rng_;

    // Connection.
    bool wanted_ = false;  // connect() called and disconnect() not since
    bool shut_ = false;    // the client is being destroyed
    phase phase_ = phase::idle;
    std::shared_ptr<detail::link> link_;
    std::size_t endpoint_ = 0;
    unsigned attempt_ = 0;  // failed attempts in a row: the backoff exponent
    std::string instance_;  // random, sent in every Hello with the Hello's number
    std::uint64_t hellos_sent_ = 0;
    std::string token_;
    bool token_stale_ = true;
    std::uint64_t hello_req_ = 0;
    std::optional<error> hello_error_;
    std::optional<v1::Disconnect> goodbye_;  // the server's Disconnect on this connection
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer heartbeat_timer_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer pace_timer_;
    boost::asio::steady_timer ack_timer_;
    bool sweep_armed_ = false;
    std::chrono::steady_clock::time_point sweep_at_;  // when the armed sweep runs
    std::uint64_t sweep_generation_ = 0;              // the armed sweep's
    bool pace_armed_ = false;
    bool ack_armed_ = false;
    clock::time_point last_sent_;
    clock::time_point last_received_;
    std::chrono::milliseconds heartbeat_{30'000};

    // Pacing.
    wire::rate_limit pace_{40, 100};       // a little under the server's (Welcome.limits)
    detail::server_limits server_limits_;  // the protocol's defaults until the first Welcome
    wire::token_bucket tokens_{pace_, clock::now()};
    std::deque<v1::Frame> paced_;

    // Requests.
    std::uint64_t next_req_ = 1;
    std::unordered_map<std::uint64_t, pending_request> requests_;
    detail::outbox outbox_;

    // Inbox.
    detail::inbox inbox_{0};
    bool reading_paused_ = false;   // the app's backlog is above the high mark
    bool dropping_pushes_ = false;  // reading what a departed server sent, for its Disconnect
    bool waiting_for_app_ = false;  // a reconnect waits for the app's backlog to shrink

    // Restored after every Welcome.
    std::unordered_map<conv_id, seq_t, conv_id_hash> read_marks_;  // not yet confirmed
    std::set<user_id> followed_;
    std::optional<std::pair<presence_status, std::string>> my_presence_;
    bool foreground_ = true;  // what set_app_state said last (a connection starts in front)
};

template <class T, class Convert>
void client::impl::ask(v1::Frame frame, v1::Frame::BodyCase expect, Convert convert,
                       callback<T> done) {
    if (phase_ != phase::ready) {
        complete(done, result<T>(error{error_code::not_connected, "not connected", true}));
        return;
    }
    pending_request p;
    p.on_reply = [this, done, expect, convert](const v1::Frame& reply) {
        if (reply.has_error()) {
            complete(done, result<T>(detail::from_proto(reply.error())));
        } else if (reply.body_case() == expect) {
            complete(done, result<T>(convert(reply)));
        } else {
            complete(done, result<T>(error{error_code::internal, "unexpected reply", false}));
        }
    };
    p.on_fail = [this, done](const error& e) { complete(done, result<T>(e)); };
    p.deadline = clock::now() + opts_.request_timeout;
    send_request(std::move(frame), std::move(p));
}

template <class T, class Fold>
void client::impl::ask_pages(v1::Frame frame, v1::Frame::BodyCase expect, T acc, Fold fold,
                             callback<T> done) {
    if (phase_ != phase::ready) {
        complete(done, result<T>(error{error_code::not_connected, "not connected", true}));
        return;
    }
    pending_request p;
    p.on_reply = [this, done, expect, acc = std::move(acc), fold](const v1::Frame& reply) mutable {
        if (reply.has_error()) return complete(done, result<T>(detail::from_proto(reply.error())));
        if (reply.body_case() != expect) {
            return complete(done,
                            result<T>(error{error_code::internal, "unexpected reply", false}));
        }
        auto next = fold(acc, reply);
        if (!next) return complete(done, result<T>(std::move(acc)));
        ask_pages<T>(std::move(*next), expect, std::move(acc), fold, done);
    };
    p.on_fail = [this, done](const error& e) { complete(done, result<T>(e)); };
    p.deadline = clock::now() + opts_.request_timeout;
    send_request(std::move(frame), std::move(p));
}

}  // namespace tern::client
