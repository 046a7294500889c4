// Registration of cvm-attest subcommands. Each command family lives in its own
// file and stores its exit status in the shared context when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace cvm::cli {

struct CommandContext {
  int exit_code = 0;
};

void add_report_commands(CLI::App& app, CommandContext& context);
void add_attest_commands(CLI::App& app, CommandContext& context);
void add_tpm_commands(CLI::App& app, CommandContext& context);
void add_eventlog_commands(CLI::App& app, CommandContext& context);
void add_verify_commands(CLI::App& app, CommandContext& context);

}  // namespace cvm::cli
