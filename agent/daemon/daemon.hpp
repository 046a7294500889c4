// cvm-attestd: wiring of configuration, token cache, socket API and systemd.
#pragma once

#include <string>

namespace cvm::agent {

struct DaemonOptions {
  std::string config_path;
  bool config_explicit = false;
};

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run_daemon(const DaemonOptions& options);

}  // namespace cvm::agent
