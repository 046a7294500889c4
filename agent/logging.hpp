// Logging for the agent's binaries: spdlog to the journal under systemd,
// to stderr otherwise.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "common/error.hpp"

namespace cvm::agent {

// Sets up the default logger. `target` is "auto" (the journal when
// JOURNAL_STREAM names our stderr, as systemd sets it), "journal" or "stderr".
void setup_logging(const std::string& target, const std::string& level);
void set_log_level(const std::string& level);

// One line for an error: message, cause and hint. Never includes secrets,
// because errors never carry tokens, nonces or keys.
[[nodiscard]] std::string describe(const Error& error);

}  // namespace cvm::agent
