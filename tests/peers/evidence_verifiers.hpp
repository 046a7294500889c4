// The evidence checks of the test attestation service: each request body is
// read with report::read_evidence and checked with report::verify_evidence,
// the agent's own offline checks, against a trust store holding the emulated
// platform's ARK.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "report/evidence.hpp"
#include "snp/certs.hpp"
#include "snp/report.hpp"
#include "tests/peers/attestation_peer.hpp"

namespace cvm::peers {

// The roots a verifier trusts: the pinned AMD roots and, for emulated and
// forged platforms, extra ARKs.
class EvidenceVerifiers {
 public:
  explicit EvidenceVerifiers(snp::TrustStore trust);

  // Adds every certificate of each PEM file as an extra root. A missing or
  // unreadable file is an error naming it.
  [[nodiscard]] static Result<EvidenceVerifiers> from_trust_anchor_files(const std::vector<std::string>& paths);

  // Verifiers for /attest/AzureGuest and /attest/SevSnpVm. A body of the
  // other protocol is rejected. Each failed check becomes an
  // Errc::verification_failed error whose `field` is the check's name.
  [[nodiscard]] EvidenceVerifier azure_guest() const;
  [[nodiscard]] EvidenceVerifier sev_snp_vm() const;

 private:
  std::shared_ptr<const snp::TrustStore> trust_;
};

// Checks one request body. `expected` is the format the endpoint accepts.
[[nodiscard]] Result<VerifiedEvidence> verify_request_body(const std::string& body, report::EvidenceFormat expected,
                                                           const snp::TrustStore& trust);

// The x-ms-sevsnpvm-* claims MAA derives from a report: byte fields as
// lower-case hex, SVNs as numbers (the TCB decoded with the product's
// layout), policy bits as booleans.
[[nodiscard]] Json::Value sev_snp_vm_claims(const snp::Report& report, snp::Product product);

}  // namespace cvm::peers
