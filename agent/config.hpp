// The agent's configuration: one JSON file, every key with a default that is
// right on an Azure SEV-SNP confidential VM. Documented in docs/configuration.md.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "client/maa.hpp"
#include "common/error.hpp"
#include "service/access.hpp"

namespace cvm::agent {

inline constexpr const char* kDefaultConfigPath = "/etc/cvm-attest/config.json";

struct TpmConfig {
  std::string tcti = "device:/dev/tpmrm0";
  std::vector<unsigned> pcrs{0, 1, 2, 3, 4, 5, 6, 7};
  std::string event_log = "/sys/kernel/security/tpm0/binary_bios_measurements";
};

struct AttestationConfig {
  std::string endpoint;  // empty: the shared MAA instance of the VM's region
  client::Protocol protocol = client::Protocol::azure_guest;
  std::string ca_file;   // empty: the system CA bundle
  unsigned clock_skew_seconds = 60;
  unsigned timeout_seconds = 30;
};

struct CertificatesConfig {
  std::string cache_dir = "/var/cache/cvm-attest";
  bool use_thim = true;
  bool use_kds = true;
  std::vector<std::string> trust_anchors;  // extra ARKs (PEM), for test and emulated environments
  std::string chain_file;  // a fixed VCEK, ASK, ARK PEM used instead of fetching; empty fetches
};

struct TokenConfig {
  double refresh_from = 0.70;
  double refresh_to = 0.90;
  unsigned retry_base_seconds = 5;
  unsigned retry_max_seconds = 300;
  unsigned max_in_flight = 4;
};

struct SocketConfig {
  std::string path = "/run/cvm-attest/agent.sock";
  mode_t mode = 0660;
  std::string group = "cvm-attest";  // empty keeps the process's group
};

struct LoggingConfig {
  std::string level = "info";    // trace, debug, info, warn, error
  std::string target = "auto";   // auto (journal under systemd, else stderr), journal, stderr
};

struct Config {
  TpmConfig tpm;
  AttestationConfig attestation;
  std::string imds_url = "http://169.254.169.254";
  std::string kds_url = "https://kdsintf.amd.com";
  CertificatesConfig certificates;
  TokenConfig token;
  SocketConfig socket;
  service::AccessPolicy access = service::AccessPolicy::defaults();
  LoggingConfig logging;
  bool ready_after_first_token = true;
};

// Parses configuration text. Unknown keys, wrong types and invalid values are
// Errc::invalid_argument naming the key path (e.g. "socket.mode"), the value
// and the reason.
[[nodiscard]] Result<Config> parse_config(std::string_view text);

// Reads and parses a file; a missing file at the default path gives the
// defaults, a missing explicitly named file is an error.
[[nodiscard]] Result<Config> load_config(const std::string& path, bool explicitly_named);

}  // namespace cvm::agent
