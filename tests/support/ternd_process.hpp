// A real ternd process for tests that kill it: started with a config file (plus `--set` settings),
// its log in a file (new for every start), its TCP and admin ports read from the log ("listening
// tcp ... (port N)").
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "die_with_parent.hpp"
#include "gateway_fixture.hpp"

namespace tern::test {

class ternd_process {
public:
    ternd_process(const std::string& binary, const std::string& config_file,
                  const std::string& log_file, const std::vector<std::string>& settings = {}) {
        std::vector<std::string> args{binary,
                                      "-c",
                                      config_file,
                                      "--set",
                                      "listen.tcp=127.0.0.1:0",
                                      "--set",
                                      "admin.listen=127.0.0.1:0"};
        for (const auto& s : settings) {
            args.push_back("--set");
            args.push_back(s);
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // A restarted process's earlier log is kept as <log>.1, .2, ... (read after a failure).
        if (std::filesystem::exists(log_file) && std::filesystem::file_size(log_file) > 0) {
            for (int k = 1;; ++k) {
                const auto kept = log_file + "." + std::to_string(k);
                if (!std::filesystem::exists(kept)) {
                    std::filesystem::rename(log_file, kept);
                    break;
                }
            }
        }
        std::ofstream(log_file, std::ios::trunc).close();  // before the fork: no stale port line
        const parent_watch parent;
        pid_ = ::fork();
        if (pid_ == 0) {
            die_with_parent(parent);
            const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, STDERR_FILENO);
                ::dup2(fd, STDOUT_FILENO);
            }
            // Nothing of the test process leaks into ternd: an inherited socket (a client's,
            // a proxy's) would stay open in the child after the test closed it.
            ::close_range(3, ~0U, 0);
            ::execv(binary.c_str(), argv.data());
            std::_Exit(127);
        }
        // Wait (bounded) for the listening line; the log file is new for every start.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        const std::string marker = "(port ";
        while (std::chrono::steady_clock::now() < deadline) {
            std::ifstream in(log_file);
            std::string line;
            while (std::getline(in, line)) {
                const auto at = line.find(marker);
                if (at == std::string::npos) continue;
                const auto listening = line.find("listening ");
                if (listening == std::string::npos) continue;
                const auto name_at = listening + std::string_view("listening ").size();
                const auto name = line.substr(name_at, line.find(' ', name_at) - name_at);
                ports_[name] =
                    static_cast<std::uint16_t>(std::stoi(line.substr(at + marker.size())));
            }
            if (port() != 0 && admin_port() != 0) return;
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) break;  // it died
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        throw std::runtime_error("ternd did not start; see " + log_file);
    }

    ~ternd_process() {
        if (pid_ > 0) kill9();
    }
    ternd_process(const ternd_process&) = delete;
    ternd_process& operator=(const ternd_process&) = delete;

    [[nodiscard]] std::uint16_t port() const { return listener_port("tcp"); }
    [[nodiscard]] std::uint16_t admin_port() const { return listener_port("admin"); }
    // The port of listener `name` (tcp, tls, ws, wss, admin); 0 if it is not listening.
    [[nodiscard]] std::uint16_t listener_port(const std::string& name) const {
        const auto it = ports_.find(name);
        return it == ports_.end() ? 0 : it->second;
    }

    // Sends `signal` (SIGTERM: a drain).
    void signal(int signal) { ::kill(pid_, signal); }

    // Waits up to `timeout` for the process to exit: its exit code, or -1 if it did not exit
    // normally in time (then it is killed).
    int wait_exit(std::chrono::seconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill9();
        return -1;
    }

    void kill9() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    std::map<std::string, std::uint16_t> ports_;  // by listener name, from the log
};

// A ternd set up in `dir` for process tests: its public key (kid "k1") and a config with two
// shards, the given durability and the inbound rate limit raised (test senders go faster than a
// phone would). Returns the config file's path.
inline std::string write_ternd_config(const std::filesystem::path& dir,
                                      const std::string& public_pem,
                                      const std::string& durability) {
    std::ofstream(dir / "k1.pub") << public_pem;
    const auto config_file = (dir / "ternd.toml").string();
    std::ofstream(config_file) << "[server]\nshards = 2\ndurability = \"" << durability
                               << "\"\ndata_dir = \"" << (dir / "data").string()
                               << "\"\n[limits]\ninbound_frames_per_second = 100000\n"
                               << "inbound_burst = 100000\n[[auth.keys]]\nkid = \"k1\"\n"
                               << "public_key_file = \"" << (dir / "k1.pub").string() << "\"\n";
    return config_file;
}

// What every process test starts from: a fresh directory with a key pair (kid "k1"), the config
// file (write_ternd_config) and a log file, and device tokens signed with the key.
struct ternd_setup {
    temp_dir dir;
    auth::key_pair keys = auth::generate_key_pair(auth::jwt_alg::es256).value();
    std::string config_file;
    std::string log_file = (dir.path() / "ternd.log").string();
    auth::signing_key key = auth::signing_key::from_private_pem("k1", keys.private_pem).value();

    ternd_setup(const std::string& tag, const std::string& durability)
        : dir(tag), config_file(write_ternd_config(dir.path(), keys.public_pem, durability)) {}

    [[nodiscard]] std::string token(std::uint64_t tenant, std::uint64_t user,
                                    std::uint64_t device) const {
        return gateway_fixture::token_with(key, [&](auth::token_claims& c) {
            c.tenant = tenant;
            c.user = user;
            c.device = device;
        });
    }
};

}  // namespace tern::test
