#include "tls_context.hpp"

#include <stdexcept>

#include <openssl/ssl.h>

namespace tern::server::net {

boost::asio::ssl::context make_server_tls_context(const std::string& cert_file,
                                                  const std::string& key_file) {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // One TLS 1.3 ticket per handshake (OpenSSL sends two, for browsers' parallel connections):
    // a client keeps one connection and resumes on the newest ticket when it reconnects.
    // Tickets are sealed with keys made with this context, so a reload (SIGHUP) or a restart
    // sends clients through one full handshake again.
    SSL_CTX_set_num_tickets(native, 1);
    // TLS 1.2 suites of the intermediate profile (TLS 1.3 suites are OpenSSL's defaults, all AEAD).
    if (SSL_CTX_set_cipher_list(native,
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        throw std::runtime_error("tls: cipher list refused by OpenSSL");
    }
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(cert_file, ec);
    if (ec) throw std::runtime_error("tls.cert_file " + cert_file + ": " + ec.message());
    ctx.use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) throw std::runtime_error("tls.key_file " + key_file + ": " + ec.message());
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error("tls: the key does not match the certificate");
    }
    return ctx;
}

void tls_contexts::load(const std::string& cert_file, const std::string& key_file) {
    auto context =
        std::make_shared<boost::asio::ssl::context>(make_server_tls_context(cert_file, key_file));
    std::lock_guard lock(loading_);
    loaded_.push_back(context);
    current_.store(std::move(context), std::memory_order_release);
}

}  // namespace tern::server::net
