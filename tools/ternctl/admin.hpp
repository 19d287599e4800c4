// ternctl status, drain, kick, checkpoint, policy and cluster status: running ternd nodes through
// their admin HTTP listeners
// (docs/operations.md). The admin URL comes from --admin or TERN_ADMIN_URL (default
// http://127.0.0.1:7480); the bearer token for drain and kick from --token or TERN_ADMIN_TOKEN.
#pragma once

#include <CLI/CLI.hpp>

namespace ternctl {

// Adds `status`, `drain` and `kick` to `app`.
void add_admin(CLI::App& app);
// Whether one of them was given; then run_admin() runs it and returns the exit code (it throws
// std::runtime_error with a message for the user when ternd cannot be reached or refuses).
[[nodiscard]] bool admin_parsed();
[[nodiscard]] int run_admin();

}  // namespace ternctl
