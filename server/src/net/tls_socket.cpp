#include "tls_socket.hpp"

#include <cerrno>
#include <new>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace tern::server::net {

void tls_socket::ssl_free::operator()(SSL* ssl) const { SSL_free(ssl); }

tls_socket::tls_socket(shard_socket socket, SSL_CTX* context)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
    if (!ssl_ || SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) throw std::bad_alloc();
    // Asio never reads or writes this socket itself: OpenSSL does, and must not block.
    socket_.non_blocking(true);
    SSL_set_mode(ssl_.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_accept_state(ssl_.get());
}

tls_socket::step_result tls_socket::handshake() {
    ERR_clear_error();
    return outcome(SSL_do_handshake(ssl_.get()), 0);
}

tls_socket::step_result tls_socket::read(void* data, std::size_t size) {
    if (size == 0) return {};
    ERR_clear_error();
    std::size_t n = 0;
    const int ok = SSL_read_ex(ssl_.get(), data, size, &n);
    return outcome(ok, n);
}

tls_socket::step_result tls_socket::write(const void* data, std::size_t size) {
    if (size == 0) return {};
    ERR_clear_error();
    std::size_t n = 0;
    const int ok = SSL_write_ex(ssl_.get(), data, size, &n);
    return outcome(ok, n);
}

tls_socket::step_result tls_socket::outcome(int ok, std::size_t bytes) {
    if (ok == 1) return {want::nothing, {}, bytes};
    const int saved_errno = errno;
    switch (SSL_get_error(ssl_.get(), ok)) {
        case SSL_ERROR_WANT_READ:
            return {want::read, {}, 0};
        case SSL_ERROR_WANT_WRITE:
            return {want::write, {}, 0};
        case SSL_ERROR_ZERO_RETURN:  // close_notify
            return {want::nothing, boost::asio::error::eof, 0};
        case SSL_ERROR_SYSCALL:
            if (const auto e = ERR_get_error(); e != 0) {
                return {want::nothing,
                        {static_cast<int>(e), boost::asio::error::get_ssl_category()},
                        0};
            }
            if (saved_errno != 0) {
                return {want::nothing, {saved_errno, boost::system::system_category()}, 0};
            }
            return {want::nothing, boost::asio::error::eof, 0};
        default:
            if (const auto e = ERR_get_error(); e != 0) {
                return {want::nothing,
                        {static_cast<int>(e), boost::asio::error::get_ssl_category()},
                        0};
            }
            return {want::nothing, boost::asio::ssl::error::unspecified_system_error, 0};
    }
}

bool tls_socket::session_reused() const { return SSL_session_reused(ssl_.get()) == 1; }

bool tls_socket::has_pending() const { return SSL_has_pending(ssl_.get()) == 1; }

}  // namespace tern::server::net
