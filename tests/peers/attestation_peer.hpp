// A test attestation service shaped like Microsoft Azure Attestation: it
// verifies evidence, issues RS256 tokens with MAA's claim structure, encrypts
// AzureGuest responses to the TPM ephemeral key, and serves its JWKS.
#pragma once

#include <json/value.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "common/openssl.hpp"
#include "tests/peers/faults.hpp"
#include "tests/peers/http_server.hpp"

namespace cvm::peers {

// What a verifier extracted from valid evidence, to become token claims.
struct VerifiedEvidence {
  Json::Value isolation_claims;  // x-ms-sevsnpvm-* and the hardware runtime claims
  Json::Value runtime_claims;    // the HCL runtime claims JSON (keys, vm-configuration, user-data)
  Json::Value client_payload;    // AzureGuest only
  ossl::UniquePkey ephemeral_key;  // AzureGuest only: EncKeyPub, the key responses are encrypted to
  std::string nonce;             // echoed as the `nonce` claim when not empty
};

// Verifies a request body for one protocol; an error becomes HTTP 400 with
// MAA's error shape, its message naming the failed check.
using EvidenceVerifier = std::function<Result<VerifiedEvidence>(const std::string& body)>;

enum class TokenFault { none, unknown_key, expired, future_issued };

class AttestationPeer {
 public:
  AttestationPeer(EvidenceVerifier azure_guest, EvidenceVerifier sev_snp_vm);

  // Must be called with the server's base URL once it listens: it becomes `iss`.
  void set_issuer(std::string issuer);
  [[nodiscard]] Handler handler();
  FaultInjector& faults() { return faults_; }

  void set_lifetime(std::chrono::seconds lifetime) {
    std::lock_guard lock(mutex_);
    lifetime_ = lifetime;
  }
  // Applies to the next `count` tokens.
  void set_token_fault(TokenFault fault, int count = 1, std::chrono::seconds skew = std::chrono::seconds(600));
  [[nodiscard]] int attestations() const { return attestations_.load(); }

 private:
  Response serve(const Request& request);
  Response attest(const Request& request, bool azure_guest);
  Response control(const Request& request);
  Result<std::string> issue(Json::Value claims);
  Response jwks() const;
  Response openid_configuration() const;

  EvidenceVerifier verify_azure_guest_;
  EvidenceVerifier verify_sev_snp_vm_;
  FaultInjector faults_;
  ossl::UniquePkey signing_key_;
  ossl::UniqueX509 signing_certificate_;
  ossl::UniquePkey stranger_key_;  // signs tokens for the unknown-key fault
  std::string kid_;
  mutable std::mutex mutex_;
  std::string issuer_;
  std::chrono::seconds lifetime_{8 * 3600};
  TokenFault token_fault_ = TokenFault::none;
  int token_fault_count_ = 0;
  std::chrono::seconds token_fault_skew_{600};
  std::atomic<int> attestations_{0};
};

// AES-256-GCM encryption of a JWT with additional data "Transport Key", the
// AES key RSAES-encrypted to `ephemeral_key`; returns the `token` string of an
// AzureGuest response (base64url JSON with standard base64 fields, as MAA sends).
[[nodiscard]] Result<std::string> encrypt_for_azure_guest(const std::string& jwt, EVP_PKEY* ephemeral_key);

}  // namespace cvm::peers
