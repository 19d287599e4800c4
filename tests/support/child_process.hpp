// A child process with its stdin and stdout on pipes, for tests that drive command-line tools
// line by line (tern-chat). Reads wait on poll() with a deadline, never a fixed sleep.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "die_with_parent.hpp"

namespace tern::test {

class child_process {
public:
    explicit child_process(const std::vector<std::string>& argv) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
        const parent_watch parent;
        pid_ = ::fork();
        if (pid_ == 0) {
            die_with_parent(parent);
            ::dup2(in[0], STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            ::close_range(3, ~0U, 0);  // no inherited sockets or pipe ends
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            std::_Exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        stdout_ = out[0];
    }
    ~child_process() {
        close_stdin();
        if (stdout_ >= 0) ::close(stdout_);
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    void write_line(const std::string& line) {
        const std::string data = line + "\n";
        const auto n = ::write(stdin_, data.data(), data.size());
        (void)n;
    }
    void close_stdin() {
        if (stdin_ >= 0) ::close(stdin_);
        stdin_ = -1;
    }

    // The next output line, or nullopt at end of output or after `timeout`.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
                auto line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[4096];
            const auto n = ::read(stdout_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    // True once some output line (read before, or read now) contains `text`. Every line read
    // is kept in `seen`.
    bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
        for (const auto& line : seen) {
            if (line.find(text) != std::string::npos) return true;
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto line = read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!line) return false;
            seen.push_back(*line);
            if (line->find(text) != std::string::npos) return true;
        }
        return false;
    }

    // The exit code once the process ends, or nullopt after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            read_line(std::chrono::milliseconds(20));  // keep the pipe drained
        }
        return std::nullopt;
    }

    std::vector<std::string> seen;

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    std::string buffer_;
};

}  // namespace tern::test
