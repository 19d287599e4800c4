// ternd: the Tern gateway daemon.
//
//   ternd [-c FILE] [--set section.key=value ...] [--check-config]
//
// Signals: SIGTERM drains (docs/operations.md), SIGINT stops at once, SIGHUP reloads the log
// level and the TLS certificate.
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <tern/server/config.hpp>
#include <tern/server/gateway.hpp>

#include "logging.hpp"

namespace {

// Many connections need many descriptors: raise the soft limit to the hard limit.
void raise_open_files_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            spdlog::warn("could not raise the open-files limit");
            return;
        }
    }
    spdlog::info("open-files limit {}", static_cast<unsigned long long>(limit.rlim_cur));
}

void log_listeners(const tern::server::config& cfg, const tern::server::gateway& gateway) {
    const auto log = [](const char* name, const std::string& address, std::uint16_t port) {
        if (port != 0) spdlog::info("listening {} {} (port {})", name, address, port);
    };
    log("tcp", cfg.listen.tcp, gateway.tcp_port());
    log("ws", cfg.listen.ws, gateway.ws_port());
    log("tls", cfg.listen.tls, gateway.tls_port());
    log("wss", cfg.listen.wss, gateway.wss_port());
    log("admin", cfg.admin.listen, gateway.admin_port());
}

// Tells systemd (Type=notify) how start-up and shutdown go: a datagram to $NOTIFY_SOCKET, the
// whole sd_notify protocol (systemd documents it as stable for reimplementation); nothing when
// not run by systemd.
void notify_systemd(const std::string& state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@')) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::size_t length = std::strlen(path);
    if (length >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, path, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
    if (::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address), size) < 0) {
        spdlog::warn("systemd notification failed: {}", std::strerror(errno));
    }
    ::close(fd);
}

// libprotobuf logs a parse problem (a string field with invalid UTF-8 in a client's frame) to
// stderr by itself, bypassing the log format and level: such a frame is refused as BAD_FRAME and
// counted anyway, so its message goes to the debug log like other protocol noise.
void route_protobuf_logs() {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* file, int line,
                                       const std::string& message) {
        if (level >= google::protobuf::LOGLEVEL_FATAL) {
            spdlog::critical("protobuf {}:{}: {}", file, line, message);
        } else {
            spdlog::debug("protobuf: {}", message);
        }
    });
}

// SIGTERM drains, then stops (a second SIGTERM stops at once); SIGINT stops at once; SIGHUP
// reloads the log level and the TLS certificate from the configuration.
class signal_handler {
public:
    using loader = std::function<tern::server::loaded_config()>;

    signal_handler(boost::asio::io_context& context, tern::server::gateway& gateway,
                   std::chrono::seconds drain_window, loader load)
        : context_(context),
          gateway_(gateway),
          drain_window_(drain_window),
          load_(std::move(load)),
          signals_(context, SIGINT, SIGTERM, SIGHUP),
          poll_(context) {}

    void wait() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            on_signal(signal);
        });
    }

private:
    void on_signal(int signal) {
        if (signal == SIGHUP) {
            reload();
            return wait();
        }
        if (signal == SIGINT || gateway_.draining()) {
            spdlog::info("signal {}: stopping now", signal);
            context_.stop();
            return;
        }
        notify_systemd("STOPPING=1");
        gateway_.drain();
        drain_deadline_ = std::chrono::steady_clock::now() + drain_window_ + drain_grace;
        poll_drain();
        wait();
    }

    // Until every connection is gone (or the window and its grace have passed).
    void poll_drain() {
        if (gateway_.connections() == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
            spdlog::info("drained ({} connection(s) left): stopping", gateway_.connections());
            context_.stop();
            return;
        }
        poll_.expires_after(std::chrono::milliseconds(100));
        poll_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) poll_drain();
        });
    }

    void reload() {
        notify_systemd("RELOADING=1");
        try {
            const auto loaded = load_();
            tern::server::set_log_level(loaded.values.log.level);
            if (!loaded.values.tls.cert_file.empty()) {
                gateway_.reload_tls(loaded.values.tls.cert_file, loaded.values.tls.key_file);
            }
            spdlog::info(
                "SIGHUP: reloaded (log level {}, TLS certificate {})", loaded.values.log.level,
                loaded.values.tls.cert_file.empty() ? "none" : loaded.values.tls.cert_file);
        } catch (const std::exception& e) {
            spdlog::error("SIGHUP: reload failed, the old settings stay: {}", e.what());
        }
        notify_systemd("READY=1");
    }

    static constexpr std::chrono::seconds drain_grace{5};

    boost::asio::io_context& context_;
    tern::server::gateway& gateway_;
    std::chrono::seconds drain_window_;
    loader load_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer poll_;
    std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ternd: the Tern messaging gateway"};
    std::string config_file;
    std::vector<std::string> overrides;
    bool check_only = false;
    app.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
    app.add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    app.add_flag("--check-config", check_only, "validate the configuration and exit");
    CLI11_PARSE(app, argc, argv);

    tern::server::loaded_config loaded;
    try {
        loaded = tern::server::load_config(
            config_file.empty() ? std::nullopt : std::optional<std::string>(config_file),
            tern::server::process_environment(), overrides);
    } catch (const tern::server::config_error& e) {
        std::cerr << "ternd: configuration error: " << e.what() << "\n";
        return 2;
    }
    tern::server::setup_logging(loaded.values.log.level, loaded.values.log.format);
    route_protobuf_logs();
    for (const auto& w : loaded.warnings) spdlog::warn("{}", w);
    if (check_only) {
        std::cout << "configuration OK\n";
        return 0;
    }

    raise_open_files_limit();
    try {
        tern::server::gateway gateway(loaded.values);
        // The signals are caught before the gateway starts and long before READY=1: a reload
        // systemd sends the moment it reads READY=1 must find the handler (SIGHUP's default
        // action ends the process). A signal during start-up waits for run() below.
        boost::asio::io_context signals_context;
        signal_handler handler(
            signals_context, gateway, std::chrono::seconds(loaded.values.admin.drain_seconds), [&] {
                return tern::server::load_config(
                    config_file.empty() ? std::nullopt : std::optional<std::string>(config_file),
                    tern::server::process_environment(), overrides);
            });
        handler.wait();
        gateway.start();
        log_listeners(loaded.values, gateway);
        notify_systemd("READY=1");
        signals_context.run();
        gateway.stop();  // flushes what is queued, commits what is pending, closes the store
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}
