// The attestation flow, wired from the libraries: read the HCL report and
// the TPM evidence, obtain the VCEK chain, self-check, exchange the evidence
// for a token, decrypt and verify it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/config.hpp"
#include "common/openssl.hpp"
#include "report/evidence.hpp"
#include "report/hcl.hpp"
#include "service/token_cache.hpp"
#include "snp/report.hpp"
#include "vtpm/keys.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::agent {

// Time spent per stage of one attestation, for logs and the benchmark.
struct StageTimes {
  std::chrono::microseconds tpm{0};
  std::chrono::microseconds certificates{0};
  std::chrono::microseconds self_check{0};
  std::chrono::microseconds service{0};
  std::chrono::microseconds decrypt_and_verify{0};
};

// Callbacks through which the flow reports what the daemon or CLI logs.
struct AttesterEvents {
  std::function<void(const std::string& message)> info;
  std::function<void(const std::string& message)> warning;
  std::function<void(const StageTimes& times)> stages;
};

class Attester {
 public:
  Attester(Config config, AttesterEvents events);
  ~Attester();

  // One attestation. With a nonce, the nonce is bound into the TPM quote and
  // sent as the token's nonce claim. Serialised: TPM work never overlaps.
  [[nodiscard]] Result<service::Token> attest(const std::optional<Bytes>& nonce);
  // The evidence request body for a nonce, self-checked, without contacting
  // the attestation service (certificates may still be fetched).
  [[nodiscard]] Result<std::string> evidence(const std::optional<Bytes>& nonce,
                                             report::EvidenceFormat format = report::EvidenceFormat::azure_guest);
  // The resolved attestation endpoint (configured, or from the VM's region).
  [[nodiscard]] Result<std::string> endpoint();
  [[nodiscard]] const Config& config() const { return config_; }

 private:
  // The evidence and key material of one attestation, gathered before the network exchange.
  struct Collected {
    report::Evidence evidence;
    snp::Report snp;
    vtpm::EphemeralKeyOptions ephemeral_options;
    ossl::UniquePkey ephemeral_key;
  };

  [[nodiscard]] Result<Collected> collect(const std::optional<Bytes>& nonce, bool azure_guest, StageTimes& times);
  [[nodiscard]] Result<void> collect_tpm_parts(vtpm::Tpm& tpm, const report::HclReport& hcl,
                                               const std::optional<Bytes>& nonce, Collected& out);
  [[nodiscard]] Result<std::string> certificates_for(const snp::Report& report);

  struct State;
  Config config_;
  AttesterEvents events_;
  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace cvm::agent
