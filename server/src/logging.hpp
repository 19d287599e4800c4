// ternd's logs: one line per event on stderr, as text or as one JSON object per line. Tokens,
// passwords and message bodies are never logged (callers never pass them).
#pragma once

#include <string>

namespace tern::server {

// Installs the default logger. level: trace|debug|info|warn|error|off; format: text|json.
void setup_logging(const std::string& level, const std::string& format);

// Changes the level of the installed logger (the admin API, SIGHUP); false if `level` is not one
// of trace|debug|info|warn|error|off.
bool set_log_level(const std::string& level);

}  // namespace tern::server
