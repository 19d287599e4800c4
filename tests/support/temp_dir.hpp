// A temporary directory for tests (no test framework needed: fuzz targets use it too).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace tern::test {

// A directory under the system temp dir, removed with everything in it on destruction (kept when
// TERN_KEEP_TEST_DIRS is set, to read a failed process test's logs).
class temp_dir {
public:
    explicit temp_dir(const std::string& tag = "tern") {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                 std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        if (std::getenv("TERN_KEEP_TEST_DIRS")) return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

}  // namespace tern::test
