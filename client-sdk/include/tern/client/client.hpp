// A Tern client: one user's device connected to ternd.
//
// Promises (the delivery contract of DESIGN.md, seen from the app):
// - Every timeline event of every conversation reaches listener::on_event exactly once, in seq
//   order per conversation, with no gaps, across reconnects and server restarts. The SDK resumes
//   from its inbox cursor, pulls whatever a lost push left out, and never moves its cursor past
//   a gap. A cumulative Ack is sent once the app's callback has run.
// - A send returns its client_msg_id at once and completes exactly once: with the seq once the
//   server has stored the message durably, or with an error. Until then it is retried with the
//   same id across reconnects (the server answers a retry with the original seq), in the order
//   sends were made, until options::send_expiry. The same holds for recall, edit and every group
//   operation.
// - Every member function may be called from any thread and never blocks on the network.
//   Callbacks (completions and listener calls) run on the client's executor, one at a time and
//   in order, never inside a call into the SDK.
// - Reconnects use exponential backoff with full jitter and honour the server's advice
//   (Disconnect.reconnect, reconnect_after_ms); a kicked or replaced device stops.
//
// Destroying a client closes its connection; completions still pending run with
// error_code::closed. A listener must outlive the client's callbacks (hold it by shared_ptr).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tern/client/error.hpp>
#include <tern/client/export.hpp>
#include <tern/client/options.hpp>
#include <tern/client/runtime.hpp>
#include <tern/client/state_store.hpp>
#include <tern/client/types.hpp>

namespace tern::client {

// What the server pushes. Default implementations ignore everything.
class TERN_CLIENT_API listener {
public:
    virtual ~listener() = default;
    virtual void on_state(const state_change&) {}
    virtual void on_event(const event&) {}
    // Cursors that moved: a direct peer's, a group's read counts for this user's messages, and
    // this user's own read cursor when they read (or sent) on any of their devices, so that every
    // screen clears the conversation's unread (a cursor whose user is this user).
    virtual void on_receipt(const receipt_update&) {}
    virtual void on_presence(const std::vector<presence>&) {}
    virtual void on_typing(const typing&) {}
    virtual void on_mute(const mute_update&) {}
    // The user's notification settings changed (from any of their devices).
    virtual void on_settings(const notification_settings&) {}
    // A member acknowledged an urgent message this user sent, or this user did on another
    // device.
    virtual void on_urgent_acknowledged(const urgent_acknowledged&) {}
    // The user's work day began with messages held back off hours still unread.
    virtual void on_digest(const digest&) {}
    // One of this user's scheduled messages was scheduled, edited, cancelled, released (with its
    // seq) or could not be released, from any of their devices.
    virtual void on_scheduled(const scheduled_update&) {}
};

template <class T>
using callback = std::function<void(result<T>)>;

class TERN_CLIENT_API client {
public:
    // `rt` null: the client gets a runtime of its own with one thread. `store` null: in memory.
    client(options opts, std::shared_ptr<listener> listener, std::shared_ptr<runtime> rt = {},
           std::unique_ptr<state_store> store = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Connects, and keeps reconnecting until disconnect(). Idempotent.
    void connect();
    // Closes the connection and stops reconnecting; the outbox is kept for the next connect().
    void disconnect();

    // Event-appending requests: each returns its client_msg_id at once and completes once.
    std::string send(const conv_id& conv, content body, callback<sent> done = {});
    std::string recall(const conv_id& conv, seq_t seq, callback<sent> done = {});
    std::string edit(const conv_id& conv, seq_t seq, content body, callback<sent> done = {});
    // The group's conv_id is in the result (sent::conv).
    std::string create_group(const std::string& name, const std::vector<user_id>& members,
                             callback<sent> done = {});
    std::string add_members(const conv_id& group, const std::vector<user_id>& users,
                            callback<sent> done = {});
    std::string remove_members(const conv_id& group, const std::vector<user_id>& users,
                               callback<sent> done = {});
    std::string leave_group(const conv_id& group, callback<sent> done = {});
    // Whether members added from now on read what was said before they joined (owners and
    // admins; a new group shows them only what follows their join).
    std::string set_group_history(const conv_id& group, bool whole, callback<sent> done = {});
    std::string rename_group(const conv_id& group, const std::string& name,
                             callback<sent> done = {});
    std::string set_role(const conv_id& group, user_id user, role new_role,
                         callback<sent> done = {});

    // Pulls everything after the inbox cursor now. The client does this by itself after every
    // reconnect and gap; an app may ask when it returns to the foreground. Events arrive through
    // the listener, still once each.
    void sync();

    // Everything up to `seq` has been read. Monotone; re-sent after a reconnect until the server
    // confirmed it.
    void mark_read(const conv_id& conv, seq_t seq, callback<ok> done = {});

    // Reads: they need the connection (error_code::not_connected without one).
    // With lists, the SDK asks for every page of them and hands over the whole.
    void who_read(const conv_id& conv, seq_t seq, bool with_lists,
                  callback<tern::client::who_read> done);
    // Backward from `from_seq` (0: the head) or forward from it; at most `limit` events.
    void history(const conv_id& conv, seq_t from_seq, bool forward, std::uint32_t limit,
                 callback<history_page> done);
    // One page of the conversation list, newest activity first; the next page starts at the
    // previous one's `next_cursor` (empty: the first page).
    void list_conversations(std::uint32_t limit, callback<conversation_list> done);
    void list_conversations(std::uint32_t limit, const std::string& cursor,
                            callback<conversation_list> done);
    // The group with all its members (the SDK asks for every page of a large group's members).
    void group_info(const conv_id& group, callback<tern::client::group_info> done);

    // Presence: subscriptions and this device's status are restored after a reconnect.
    void subscribe_presence(const std::vector<user_id>& users, callback<ok> done = {});
    void unsubscribe_presence(const std::vector<user_id>& users, callback<ok> done = {});
    void set_presence(presence_status status, const std::string& text, callback<ok> done = {});
    // Ephemeral: dropped when not connected.
    void set_typing(const conv_id& conv, bool active);

    // Which messages of `conv` may notify this user, on all their devices, until `until_ms`
    // (Unix ms; 0: until changed; must be 0 with notify_level::all). Needs the connection. Every
    // device of the user then gets listener::on_mute.
    void mute(const conv_id& conv, notify_level level, std::int64_t until_ms,
              callback<ok> done = {});
    // The user's own do-not-disturb, off-hours choice and working hours (replaced whole), on
    // all their devices: each gets listener::on_settings. Needs the connection.
    void set_notification_settings(const notification_settings& settings, callback<ok> done = {});
    void get_notification_settings(callback<notification_settings> done);
    // Whether `user` (of this tenant) is at work now, and when that changes.
    void working_hours(user_id user, callback<tern::client::working_hours> done);
    // Confirms that this user saw urgent message `seq` of `conv` (docs/notifications.md,
    // "Acknowledgements"); again for one acknowledged before is fine. The sender's devices get
    // listener::on_urgent_acknowledged. Needs the connection.
    void acknowledge_urgent(const conv_id& conv, seq_t seq, callback<ok> done = {});
    // Where this device's platform push service reaches it (platform "apns", "fcm" or another
    // the server's relay knows; the platform's token; the app's id), for messages that arrive
    // while the app is not connected (docs/notifications.md, "Push relays"). Replaces the last;
    // empty platform and token remove it. Needs the connection; register again when the
    // platform gives a new token.
    void register_push_token(const std::string& platform, const std::string& token,
                             const std::string& app_id, callback<ok> done = {});
    // Whether the app is in front of its user (docs/notifications.md, "Push relays"): in the
    // background this device is pushed through the relay like an offline one; a desktop or web
    // app in the foreground holds its user's phone pushes for the server's grace period. A
    // connection starts in the foreground; the SDK says it again after every reconnect.
    void set_app_state(bool foreground, callback<ok> done = {});
    // Scheduled messages (docs/notifications.md, "Scheduled messages"): stored on the server and
    // released into `conv` at `when`, taking their seq then. Needs the connection; the answer is
    // the stored message (its id edits or cancels it). Every device of the user gets
    // listener::on_scheduled as it changes, and when it is released.
    void schedule_send(const conv_id& conv, const content& body, release_time when,
                       callback<scheduled_message> done);
    // Replaces the content and, when `release_at_ms` is given, the time; error_code::not_found
    // once released or cancelled, scheduled_releasing while it is being released.
    void edit_scheduled(std::uint64_t id, const content& body,
                        std::optional<std::int64_t> release_at_ms,
                        callback<scheduled_message> done);
    void cancel_scheduled(std::uint64_t id, callback<ok> done = {});
    // This user's scheduled messages, the earliest release first.
    void list_scheduled(callback<std::vector<scheduled_message>> done);
    // Who acknowledged urgent message `seq` of `conv`, and who not yet (all pages).
    void urgent_status(const conv_id& conv, seq_t seq, callback<tern::client::urgent_status> done);

    [[nodiscard]] connection_state state() const noexcept;
    // The user and device of the last Welcome (0 before the first).
    [[nodiscard]] user_id user() const noexcept;
    [[nodiscard]] std::uint64_t device() const noexcept;

    struct impl;  // the SDK's insides (client-sdk/src)

private:
    template <class F>
    void run(F&& f);

    std::shared_ptr<runtime> runtime_;  // outlives impl_: declared first
    std::shared_ptr<impl> impl_;
};

}  // namespace tern::client
