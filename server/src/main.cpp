// ternd: the Tern gateway daemon.
//
//   ternd [-c FILE] [--set section.key=value ...] [--check-config]
#include <sys/resource.h>

#include <csignal>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

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
    for (const auto& w : loaded.warnings) spdlog::warn("{}", w);
    if (check_only) {
        std::cout << "configuration OK\n";
        return 0;
    }

    raise_open_files_limit();
    try {
        tern::server::gateway gateway(loaded.values);
        gateway.start();
        if (gateway.tcp_port() != 0) {
            spdlog::info("listening tcp {} (port {})", loaded.values.listen.tcp,
                         gateway.tcp_port());
        }
        if (gateway.ws_port() != 0) {
            spdlog::info("listening ws {} (port {})", loaded.values.listen.ws, gateway.ws_port());
        }
        if (gateway.tls_port() != 0) {
            spdlog::info("listening tls {} (port {})", loaded.values.listen.tls,
                         gateway.tls_port());
        }
        if (gateway.wss_port() != 0) {
            spdlog::info("listening wss {} (port {})", loaded.values.listen.wss,
                         gateway.wss_port());
        }
        boost::asio::io_context signals_context;
        boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int signal) {
            spdlog::info("signal {}: stopping", signal);
        });
        signals_context.run();
        gateway.stop();
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}
