// A real ternd process for tests that kill it: started with a config file, its log in a file
// (new for every start), its TCP port read from the log ("listening tcp ... (port N)").
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tern::test {

class ternd_process {
public:
    ternd_process(const std::string& binary, const std::string& config_file,
                  const std::string& log_file) {
        std::ofstream(log_file, std::ios::trunc).close();  // before the fork: no stale port line
        pid_ = ::fork();
        if (pid_ == 0) {
            const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, STDERR_FILENO);
                ::dup2(fd, STDOUT_FILENO);
            }
            // Nothing of the test process leaks into ternd: an inherited socket (a client's,
            // a proxy's) would stay open in the child after the test closed it.
            ::close_range(3, ~0U, 0);
            ::execl(binary.c_str(), binary.c_str(), "-c", config_file.c_str(), "--set",
                    "listen.tcp=127.0.0.1:0", static_cast<char*>(nullptr));
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
                if (at != std::string::npos && line.find("listening tcp") != std::string::npos) {
                    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + marker.size())));
                    return;
                }
            }
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

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    void kill9() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
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

}  // namespace tern::test
