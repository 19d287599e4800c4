// One connection from a client to ternd, over any transport (tcp, tls, ws, wss), living on the
// client's io_context. The client speaks the protocol; a link only dials, reads frames, and
// writes queued frames in one gathered write.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <tern/client/options.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::client::detail {

// What a link reports; called on the link's io_context.
class link_handler {
public:
    virtual ~link_handler() = default;
    virtual void on_frame(v1::Frame& frame) = 0;
    // Once, when the link is gone (an error, the peer closing, or close()).
    virtual void on_link_closed(const boost::system::error_code& ec) = 0;
    // While reading is paused, the peer closed its side: the link reads again, so that the
    // frames before the end (the server's Disconnect) are seen.
    virtual void on_peer_gone_while_paused() = 0;
};

class link {
public:
    virtual ~link() = default;
    // Queues a frame; the writer sends everything queued in one write.
    virtual void send(const v1::Frame& frame) = 0;
    // Closes the socket; on_link_closed follows.
    virtual void close() = 0;
    // Stops (or resumes) reading: while the app is behind, the server's queue for this device
    // fills instead of the client's memory, and the server closes it as a slow consumer.
    virtual void pause_reading(bool paused) = 0;
};

// The largest frame the client accepts (the server's configurable maximum).
constexpr std::size_t max_frame_bytes = 16 * 1024 * 1024;

using dial_handler = std::function<void(const boost::system::error_code&, std::string detail,
                                        std::shared_ptr<link>)>;

// The newest TLS session the server gave a client for one endpoint. The next dial of that
// endpoint offers it and the handshake resumes: no certificate to send or verify, no signature
// (the server sends a ticket after every handshake). Touched only on the client's network thread,
// where it dials and where the reads that receive tickets run.
class tls_session_slot {
public:
    void keep(SSL_SESSION* session) noexcept { session_.reset(session); }  // takes the reference
    [[nodiscard]] SSL_SESSION* session() const noexcept { return session_.get(); }

private:
    struct session_free {
        void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
    };
    std::unique_ptr<SSL_SESSION, session_free> session_;
};

// How the socket is opened (from options).
struct socket_settings {
    std::chrono::milliseconds timeout{10'000};  // resolve, connect and handshakes together
    std::size_t receive_buffer = 0;             // SO_RCVBUF; 0: the system's
    std::string local_address;                  // bind to this source address; empty: any
};

// Dials `where` (resolve, connect, TLS and WebSocket handshakes, all within the timeout) and
// calls `done` on `io` with a started link or the error. Over tls and wss, `session` (may be
// null) offers its session and keeps the ones the server sends.
void async_dial(boost::asio::io_context& io, const endpoint& where, const tls_options& tls,
                std::shared_ptr<boost::asio::ssl::context> tls_context,
                std::shared_ptr<tls_session_slot> session, socket_settings socket,
                std::weak_ptr<link_handler> handler, dial_handler done);

// A TLS client context: TLS 1.2+, the trust store from `tls` (or the system's), new sessions
// kept in the dialing connection's tls_session_slot. `problem`
// receives why the trust store could not be loaded (the handshake will then fail).
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_options& tls,
                                                                          std::string& problem);

}  // namespace tern::client::detail
