// A cluster of real nats-server processes (Debian's 2.9.10) with JetStream, on loopback, for the
// cluster tests: each node has its own ports and store directory under the test's temp dir. Every
// process is started here, recorded by PID and stopped by PID (SIGCONT, then SIGKILL) when the
// cluster object goes away, whatever the test did to it.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "die_with_parent.hpp"
#include "fault_network.hpp"

namespace tern::test {

// A TCP port that was free a moment ago, below the kernel's ephemeral range (32768 and up by
// default): a port from that range may be taken by any outgoing connection before the server
// binds it, and a server restarted on the same port (a node coming back) would then fail.
inline std::uint16_t free_port() {
    static std::mt19937 rng(std::random_device{}());
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto port = static_cast<std::uint16_t>(20000 + rng() % 12000);
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return port;
    }
    throw std::runtime_error("no free port");
}

// True once something accepts TCP connections on 127.0.0.1:port.
inline bool port_open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

class nats_cluster {
public:
    struct node {
        std::string name;
        std::uint16_t client_port = 0;
        std::uint16_t cluster_port = 0;
        std::filesystem::path dir;
        pid_t pid = -1;
    };

    // `size` nodes named n1..nN (the names ternd nodes use too); not started. With `network`,
    // every link between nodes goes through its proxies (routes, and the URLs urls_from gives
    // for the other nodes).
    nats_cluster(const std::filesystem::path& dir, int size, fault_network* network = nullptr)
        : network_(network) {
        for (int i = 0; i < size; ++i) {
            node n;
            n.name = "n" + std::to_string(i + 1);
            n.client_port = free_port();
            n.cluster_port = free_port();
            n.dir = dir / n.name;
            std::filesystem::create_directories(n.dir);
            nodes_.push_back(n);
        }
        for (std::size_t i = 0; i < nodes_.size(); ++i) write_config(i);
    }
    ~nats_cluster() {
        for (std::size_t i = 0; i < nodes_.size(); ++i) kill9(i);
    }
    nats_cluster(const nats_cluster&) = delete;
    nats_cluster& operator=(const nats_cluster&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    [[nodiscard]] const node& at(std::size_t i) const { return nodes_.at(i); }
    [[nodiscard]] std::string url(std::size_t i) const {
        return "nats://127.0.0.1:" + std::to_string(nodes_.at(i).client_port);
    }
    // Every node's URL, node i's first (how a ternd beside node i lists them); through the
    // network's proxies to the other nodes when there is one.
    [[nodiscard]] std::vector<std::string> urls_from(std::size_t i) const {
        std::vector<std::string> out{url(i)};
        for (std::size_t j = 0; j < nodes_.size(); ++j) {
            if (j == i) continue;
            out.push_back(network_
                              ? "nats://127.0.0.1:" + std::to_string(network_->port(
                                                          fault_network::link_kind::client, i, j))
                              : url(j));
        }
        return out;
    }

    // Starts every node; if one cannot (a port was taken meanwhile by another test), all stop
    // and start again on new ports, up to three times.
    void start_all() {
        for (int attempt = 1;; ++attempt) {
            for (std::size_t i = 0; i < nodes_.size(); ++i) start(i);
            try {
                for (std::size_t i = 0; i < nodes_.size(); ++i) wait_listening(i);
                return;
            } catch (const std::runtime_error&) {
                if (attempt == 3) throw;
            }
            for (std::size_t i = 0; i < nodes_.size(); ++i) kill9(i);
            for (auto& n : nodes_) {
                n.client_port = free_port();
                n.cluster_port = free_port();
                std::filesystem::remove_all(n.dir / "js");
            }
            for (std::size_t i = 0; i < nodes_.size(); ++i) write_config(i);
        }
    }

    void start(std::size_t i) {
        auto& n = nodes_.at(i);
        if (n.pid > 0) return;
        const auto conf = (n.dir / "nats.conf").string();
        const auto log = (n.dir / "nats.log").string();
        const parent_watch parent;
        n.pid = ::fork();
        if (n.pid == 0) {
            die_with_parent(parent);
            ::close_range(3, ~0U, 0);
            ::execlp("nats-server", "nats-server", "-c", conf.c_str(), "-l", log.c_str(),
                     static_cast<char*>(nullptr));
            std::_Exit(127);
        }
    }

    void wait_listening(std::size_t i) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!port_open(nodes_.at(i).client_port)) {
            int status = 0;
            const bool exited = ::waitpid(nodes_.at(i).pid, &status, WNOHANG) == nodes_.at(i).pid;
            if (exited) nodes_.at(i).pid = -1;
            if (exited || std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("nats-server " + nodes_.at(i).name + " did not start");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    void kill9(std::size_t i) {
        auto& n = nodes_.at(i);
        if (n.pid <= 0) return;
        ::kill(n.pid, SIGCONT);
        ::kill(n.pid, SIGKILL);
        ::waitpid(n.pid, nullptr, 0);
        n.pid = -1;
    }
    // SIGTERM (nats-server shuts down, handing its leaderships over), then waits for it.
    void stop(std::size_t i) {
        auto& n = nodes_.at(i);
        if (n.pid <= 0) return;
        ::kill(n.pid, SIGTERM);
        ::waitpid(n.pid, nullptr, 0);
        n.pid = -1;
    }
    void pause(std::size_t i) { ::kill(nodes_.at(i).pid, SIGSTOP); }
    void resume(std::size_t i) { ::kill(nodes_.at(i).pid, SIGCONT); }
    // Deletes a stopped node's JetStream store (a lost disk).
    void wipe(std::size_t i) { std::filesystem::remove_all(nodes_.at(i).dir / "js"); }

private:
    void write_config(std::size_t i) {
        const auto& n = nodes_[i];
        std::string routes;
        for (std::size_t j = 0; j < nodes_.size(); ++j) {
            if (j == i) continue;
            if (!routes.empty()) routes += ", ";
            const auto port = network_ ? network_->port(fault_network::link_kind::route, i, j)
                                       : nodes_[j].cluster_port;
            routes += "nats-route://127.0.0.1:" + std::to_string(port);
        }
        // Behind proxies, a node must not learn its peers' real addresses: it advertises one
        // that refuses (gossip then finds nothing to dial but the configured routes), and tells
        // clients no other server.
        std::string advertise;
        if (network_) {
            network_->set_upstream(fault_network::link_kind::route, i, n.cluster_port);
            network_->set_upstream(fault_network::link_kind::client, i, n.client_port);
            advertise = ", advertise: \"127.0.0.1:" + std::to_string(network_->refusing_port()) +
                        "\", no_advertise: true";
        }
        std::ofstream conf(n.dir / "nats.conf");
        // A peer that stops reading (a blackholed link) must be cut within seconds: while its
        // route's buffers are full, nats-server 2.9.10 stalls the Raft traffic of every stream,
        // and the healthy majority loses its leaders (docs/cluster.md, "Network partitions").
        conf << "server_name: " << n.name << "\n"
             << "listen: 127.0.0.1:" << n.client_port << "\n"
             << "ping_interval: \"2s\"\nping_max: 2\nwrite_deadline: \"2s\"\n"
             << "jetstream { store_dir: \"" << (n.dir / "js").string()
             << "\", max_memory_store: 64MB, max_file_store: 1GB }\n";
        // One node runs JetStream standalone; a cluster block needs peers.
        if (nodes_.size() > 1) {
            conf << "cluster { name: tern, listen: 127.0.0.1:" << n.cluster_port << advertise
                 << ", routes: [" << routes << "] }\n";
        }
    }

    fault_network* network_;
    std::vector<node> nodes_;
};

}  // namespace tern::test
