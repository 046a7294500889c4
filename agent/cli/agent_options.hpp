// Options shared by the subcommands that run the attestation flow without the
// daemon: a configuration file, overridden by environment variables (as
// `scripts/dev-env` writes them), overridden by flags.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "agent/config.hpp"

namespace cvm::cli {

struct AgentOptions {
  std::string config_path;
  std::string tcti;
  std::string endpoint;
  std::string protocol;
  std::string ca_file;
  std::string imds_url;
  std::string kds_url;
  std::string cache_dir;
  std::string event_log;
  std::string chain_file;
  std::vector<std::string> trust_anchors;
  std::string pcrs;

  void add_to(CLI::App& command);
  // Builds the configuration: file (if given), then flags and their environment variables.
  [[nodiscard]] Result<agent::Config> resolve() const;
};

}  // namespace cvm::cli
