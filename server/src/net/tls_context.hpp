// The server's TLS settings: Mozilla's "intermediate" profile (TLS 1.2 and 1.3; ECDHE key
// exchange with AEAD ciphers; no renegotiation, no compression), SSL_MODE_RELEASE_BUFFERS so that
// an idle connection holds no TLS buffers.
#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>

namespace tern::server::net {

// Throws std::runtime_error naming the file when the certificate or key cannot be loaded.
[[nodiscard]] boost::asio::ssl::context make_server_tls_context(const std::string& cert_file,
                                                                const std::string& key_file);

}  // namespace tern::server::net
