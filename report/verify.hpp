// Offline verification of attestation evidence: the checks an attestation
// service makes, each reported by name with its outcome, so a failure is
// explained locally instead of by an opaque HTTP 400.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "report/evidence.hpp"
#include "snp/certs.hpp"
#include "snp/tcb.hpp"
#include "snp/verify.hpp"

namespace cvm::report {

using snp::Check;
using snp::CheckStatus;

struct EvidencePolicy {
  bool allow_debug = false;
  std::optional<std::uint32_t> required_vmpl = 0;
  bool allow_migration_agent = false;
  // Minimum REPORTED_TCB components; each is checked when set.
  std::optional<snp::Tcb> minimum_tcb;
};

struct EvidenceVerifyOptions {
  Clock::time_point at = Clock::now();
  std::optional<snp::Product> configured_product;
  // The nonce the quote's extraData must carry; unset accepts any (and reports it).
  std::optional<Bytes> expected_nonce;
  // PCRs the quote must cover; empty accepts what it covers.
  std::vector<std::uint32_t> required_pcrs;
  EvidencePolicy policy;
  // Certificates to chain the VCEK with besides those the evidence carries,
  // each entry PEM text (one or more certificates) or one DER certificate:
  // the ASK and ARK for Confidential Containers evidence, which carries the
  // VCEK alone. They only complete the chain, because trust still comes from
  // the TrustStore passed to verify_evidence.
  std::vector<Bytes> extra_certificates;
};

struct EvidenceVerification {
  std::vector<Check> checks;
  std::vector<std::string> notes;
  std::optional<snp::Product> product;

  [[nodiscard]] bool passed() const;
  [[nodiscard]] const Check* find(std::string_view name) const;
};

// Runs every check and reports each, continuing past failures. Check names:
// certificate_chain, report_signature, vcek_matches_report, claims_binding,
// ak_matches_claims, quote_signature, nonce, pcr_digest, event_log_replay,
// ephemeral_key, report_policy. Checks that a format cannot support
// (SevSnpVm has no quote) are skipped with the reason, and so are the
// checks that need the fields of an SNP report that does not parse
// (report_signature fails then).
//
// Each check compares its part with the signed value that covers it, so
// a changed byte fails only the checks covering that byte: the event log
// is replayed against the quote's pcrDigest, not against the listed PCR
// values, and the ephemeral key's PolicyPCR digest is compared only with
// PCR values that the signed quote vouches for.
[[nodiscard]] EvidenceVerification verify_evidence(const Evidence& evidence, const snp::TrustStore& trust,
                                                   const EvidenceVerifyOptions& options);

}  // namespace cvm::report
