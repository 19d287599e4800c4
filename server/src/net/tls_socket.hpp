// A server-side TLS stream on the socket's own file descriptor: OpenSSL reads and writes the
// non-blocking socket itself (its socket BIO), and the stream waits with Asio for readiness when
// OpenSSL wants to read or write. An idle connection holds only the SSL object: OpenSSL frees its
// record buffers when they are empty (SSL_MODE_RELEASE_BUFFERS), where Asio's ssl::stream keeps
// two 17 KB buffers and a BIO pair of two more for the connection's life (76 KB per idle
// connection, against 16 KiB allowed).
//
// It models Asio's AsyncReadStream and AsyncWriteStream (stream_transport and asio::async_write
// run on it) and offers async_wait, so stream_transport waits for bytes before taking a receive
// buffer: a read wait completes at once when OpenSSL already holds bytes the socket no longer
// shows. Every operation completes through the executor, never inside the call that started it.
// Closing sends no close_notify (the Disconnect frame already said goodbye).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "shard_pool.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace tern::server::net {

class tls_socket {
public:
    using executor_type = shard_socket::executor_type;
    using next_layer_type = shard_socket;
    using wait_type = boost::asio::socket_base::wait_type;
    static constexpr wait_type wait_read = boost::asio::socket_base::wait_read;

    // The server side of a handshake yet to run on `socket`. Throws std::bad_alloc when OpenSSL
    // cannot make the SSL object.
    tls_socket(shard_socket socket, SSL_CTX* context);

    [[nodiscard]] executor_type get_executor() noexcept { return socket_.get_executor(); }
    [[nodiscard]] shard_socket& next_layer() noexcept { return socket_; }
    // After the handshake: whether it resumed a session (a ticket this server issued).
    [[nodiscard]] bool session_reused() const;

    // Completes with (error_code).
    template <class CompletionToken>
    auto async_handshake(CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code)>(
            io_op<handshake_step>(this, {}), token, socket_);
    }

    // Completes with (error_code, bytes): eof once the peer closed.
    template <class MutableBuffers, class CompletionToken>
    auto async_read_some(const MutableBuffers& buffers, CompletionToken&& token) {
        const auto first = first_buffer(buffers);
        return boost::asio::async_compose<CompletionToken,
                                          void(boost::system::error_code, std::size_t)>(
            io_op<read_step>(this, {first.data(), first.size()}), token, socket_);
    }

    // Completes with (error_code, bytes). Several small buffers (a write of queued frames) are
    // copied into one record of at most 16 KiB; a single buffer is written as it is.
    template <class ConstBuffers, class CompletionToken>
    auto async_write_some(const ConstBuffers& buffers, CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken,
                                          void(boost::system::error_code, std::size_t)>(
            io_op<write_step>(this, write_step::of(buffers)), token, socket_);
    }

    // Completes with (error_code) when a read (or write) would make progress.
    template <class CompletionToken>
    auto async_wait(wait_type wait, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this, wait](auto handler) {
                if (wait == wait_read && has_pending()) {
                    boost::asio::post(
                        socket_.get_executor(),
                        boost::asio::append(std::move(handler), boost::system::error_code{}));
                } else {
                    socket_.async_wait(wait, std::move(handler));
                }
            },
            token);
    }

private:
    enum class want { nothing, read, write };
    struct step_result {
        want next = want::nothing;
        boost::system::error_code ec;
        std::size_t bytes = 0;
    };

    struct handshake_step {
        static constexpr bool reports_bytes = false;
        step_result operator()(tls_socket& s) { return s.handshake(); }
    };
    struct read_step {
        static constexpr bool reports_bytes = true;
        void* data;
        std::size_t size;
        step_result operator()(tls_socket& s) { return s.read(data, size); }
    };
    struct write_step {
        static constexpr bool reports_bytes = true;
        static constexpr std::size_t record_bytes = 16 * 1024;
        std::unique_ptr<unsigned char[]> copy;  // the gathered small buffers, when there are
        const void* data = nullptr;
        std::size_t size = 0;

        template <class ConstBuffers>
        static write_step of(const ConstBuffers& buffers) {
            write_step w;
            const auto first = first_buffer(buffers);
            const auto total = boost::asio::buffer_size(buffers);
            if (first.size() == total || first.size() >= record_bytes) {
                w.data = first.data();
                w.size = first.size();
                return w;
            }
            w.size = std::min(total, record_bytes);
            w.copy = std::make_unique_for_overwrite<unsigned char[]>(w.size);
            boost::asio::buffer_copy(boost::asio::buffer(w.copy.get(), w.size), buffers);
            w.data = w.copy.get();
            return w;
        }
        step_result operator()(tls_socket& s) const { return s.write(data, size); }
    };

    // Runs the step; waits for the socket while OpenSSL wants it; completes with the step's
    // result, posted when it is the first try (no completion inside the initiating call).
    template <class Step>
    struct io_op {
        io_op(tls_socket* s, Step st) : socket(s), step(std::move(st)) {}

        tls_socket* socket;
        Step step;
        bool started = false;
        bool finished = false;
        step_result result;

        template <class Self>
        void operator()(Self& self, boost::system::error_code wait_ec = {}) {
            if (!finished) {
                if (wait_ec) {
                    result = {want::nothing, wait_ec, 0};
                } else {
                    result = step(*socket);
                    if (result.next != want::nothing) {
                        started = true;
                        return socket->socket_.async_wait(
                            result.next == want::read ? boost::asio::socket_base::wait_read
                                                      : boost::asio::socket_base::wait_write,
                            std::move(self));
                    }
                }
                finished = true;
                if (!started) return boost::asio::post(std::move(self));
            }
            if constexpr (Step::reports_bytes) {
                self.complete(result.ec, result.bytes);
            } else {
                self.complete(result.ec);
            }
        }
    };

    // Beast's buffer sequences have iterators without operator->.
    template <class Buffers>
    static auto first_buffer(const Buffers& buffers) {
        using buffer = std::remove_cvref_t<decltype(*boost::asio::buffer_sequence_begin(buffers))>;
        const auto end = boost::asio::buffer_sequence_end(buffers);
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
            const buffer b = *it;
            if (b.size() != 0) return b;
        }
        return buffer{};
    }

    step_result handshake();
    step_result read(void* data, std::size_t size);
    step_result write(const void* data, std::size_t size);
    // What OpenSSL's return value `ok` (of an `_ex` call that moved `bytes`) means.
    step_result outcome(int ok, std::size_t bytes);
    [[nodiscard]] bool has_pending() const;

    struct ssl_free {
        void operator()(SSL* ssl) const;
    };

    shard_socket socket_;
    std::unique_ptr<SSL, ssl_free> ssl_;
};

}  // namespace tern::server::net
