// A private swtpm (TPM 2.0 emulator) per test, reached over loopback TCP.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cvm::testing {

// The exit status and the combined stdout and stderr of a finished process.
struct ProcessResult {
  int exit_status = -1;  // -1 when the process did not exit normally
  std::string output;
};

// Runs `argv` (argv[0] looked up in PATH) with `extra_env` added to the
// environment and waits for it.
[[nodiscard]] Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                                const std::map<std::string, std::string>& extra_env = {});

class Swtpm {
 public:
  struct Options {
    // Let swtpm run TPM2_Startup(CLEAR) itself, so the TPM is ready at once.
    bool startup_clear = true;
  };

  // Starts `swtpm socket --tpm2` with a fresh state directory on two
  // consecutive free loopback ports (server, then control, as the swtpm TCTI
  // expects) and waits until it accepts connections.
  [[nodiscard]] static Result<std::unique_ptr<Swtpm>> start(Options options);
  [[nodiscard]] static Result<std::unique_ptr<Swtpm>> start() { return start(Options{}); }

  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;
  // Stops swtpm (SIGTERM, then SIGKILL) and removes its state directory.
  ~Swtpm();

  // "swtpm:host=127.0.0.1,port=N", for Tpm::open and for TPM2TOOLS_TCTI.
  [[nodiscard]] const std::string& tcti() const { return tcti_; }
  [[nodiscard]] const std::string& state_dir() const { return state_dir_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  // Runs a tpm2-tools command against this TPM.
  [[nodiscard]] Result<ProcessResult> run_tool(const std::vector<std::string>& argv) const;

 private:
  Swtpm() = default;

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string state_dir_;
  std::string tcti_;
};

}  // namespace cvm::testing
