// cvm-attest: the command-line tool.
#include <CLI/CLI.hpp>

#include <iostream>

#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cvm-attest: attestation for AMD SEV-SNP confidential VMs with a paravisor vTPM",
               "cvm-attest"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cvm-attest 0.1.0");
  app.footer("Exit status: 0 success, 1 verification failed, 2 usage error, 3 invalid input, "
             "4 TPM, file, network or service failure.");

  cvm::cli::CommandContext context;
  cvm::cli::add_report_commands(app, context);
  cvm::cli::add_attest_commands(app, context);
  cvm::cli::add_tpm_commands(app, context);
  cvm::cli::add_eventlog_commands(app, context);
  cvm::cli::add_verify_commands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    (void)app.exit(error);
    return cvm::cli::kExitUsage;
  }
  return context.exit_code;
}
