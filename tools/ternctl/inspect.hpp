// ternctl inspect: reads a stopped store (ternd holds the store's lock while it runs) and prints
// what support needs: a conversation's timeline and members with their receipt cursors, a user's
// conversations with unread counts and inbox, a device's cursor, and a consistency check.
// ternctl restore: copies a checkpoint into an empty data directory and checks it.
#pragma once

#include <CLI/CLI.hpp>

namespace ternctl {

// Adds `inspect` with its subcommands, and `restore`, to `app`.
void add_inspect(CLI::App& app);
// Whether `inspect` was given; then run_inspect() runs it and returns the exit code (it throws
// std::runtime_error with a message for the user when the store cannot be read).
[[nodiscard]] bool inspect_parsed();
[[nodiscard]] int run_inspect();

}  // namespace ternctl
