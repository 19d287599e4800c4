// The server's TLS settings: Mozilla's "intermediate" profile (TLS 1.2 and 1.3; ECDHE key
// exchange with AEAD ciphers; no renegotiation, no compression), SSL_MODE_RELEASE_BUFFERS so that
// an idle connection holds no TLS buffers.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

namespace tern::server::net {

// Throws std::runtime_error naming the file when the certificate or key cannot be loaded.
[[nodiscard]] boost::asio::ssl::context make_server_tls_context(const std::string& cert_file,
                                                                const std::string& key_file);

// The server's TLS contexts: the current one for new handshakes, and every one loaded before,
// kept alive because a TLS stream must not outlive its context (reloads are rare: SIGHUP).
//
// Threading: current() is read by every TLS handshake, on any shard, with no lock (an atomic
// shared pointer); load() is called by the main thread (start-up, SIGHUP) and serializes with
// itself on a mutex that no handshake takes.
class tls_contexts {
public:
    // Loads a certificate and key and makes them current; throws std::runtime_error naming the
    // file (the current context stays).
    void load(const std::string& cert_file, const std::string& key_file);
    // The context new handshakes use; null before the first load().
    [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> current() const noexcept {
        return current_.load(std::memory_order_acquire);
    }

private:
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> current_;
    std::mutex loading_;
    std::vector<std::shared_ptr<boost::asio::ssl::context>> loaded_;  // under loading_
};

}  // namespace tern::server::net
