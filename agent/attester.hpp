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
#include "service/token_cache.hpp"

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
  // The evidence JSON for a nonce, self-checked, without contacting the service.
  [[nodiscard]] Result<std::string> evidence(const Bytes& nonce);
  // The resolved attestation endpoint (configured, or from the VM's region).
  [[nodiscard]] Result<std::string> endpoint();
  [[nodiscard]] const Config& config() const { return config_; }

 private:
  struct State;
  Config config_;
  AttesterEvents events_;
  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace cvm::agent
