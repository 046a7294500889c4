// cvm-attestd: the attestation agent daemon.
#include <CLI/CLI.hpp>

#include "agent/config.hpp"
#include "agent/daemon/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cvm-attestd: keeps an attestation token fresh and serves it over a Unix socket", "cvm-attestd"};
  cvm::agent::DaemonOptions options{.config_path = cvm::agent::kDefaultConfigPath};
  auto* config = app.add_option("--config", options.config_path, "configuration file (JSON)");
  app.set_version_flag("--version", "cvm-attestd 0.1.0");
  app.footer("Signals: SIGHUP reloads access rules and log level; SIGTERM stops. See docs/configuration.md.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  options.config_explicit = config->count() > 0;
  return cvm::agent::run_daemon(options);
}
