#include "tests/peers/evidence_verifiers.hpp"

#include "common/bytes.hpp"
#include "report/claims.hpp"
#include "report/quote.hpp"
#include "report/tpm_public.hpp"
#include "report/verify.hpp"
#include "snp/report.hpp"

namespace cvm::peers {
namespace {

// MAA's JSON number for an SVN or VMPL.
Json::Value number(std::uint32_t value) { return Json::Value(static_cast<Json::UInt>(value)); }

// The first failed check becomes the error; the others are listed in its
// message, so a response names every check the evidence failed.
Result<void> require_passed(const report::EvidenceVerification& verification) {
  const report::Check* first = nullptr;
  std::string others;
  for (const report::Check& check : verification.checks) {
    if (check.status != report::CheckStatus::fail) {
      continue;
    }
    if (first == nullptr) {
      first = &check;
    } else {
      others += (others.empty() ? "" : ", ") + check.name;
    }
  }
  if (first == nullptr) {
    return {};
  }
  std::string message = "evidence check " + first->name + " failed: " + first->detail;
  if (!others.empty()) {
    message += "; also failed: " + others;
  }
  Error error{.code = Errc::verification_failed, .message = std::move(message), .field = first->name};
  return fail(std::move(error));
}

Result<void> fill_azure_guest(VerifiedEvidence& out, const report::Evidence& evidence) {
  if (!evidence.ephemeral_public) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "AzureGuest evidence carries no EncKeyPub, so the response cannot be encrypted",
                      .field = "EncKeyPub"});
  }
  auto ephemeral = report::parse_tpm2b_public(*evidence.ephemeral_public);
  if (!ephemeral) {
    return fail(std::move(ephemeral).error().prefixed("EncKeyPub"));
  }
  out.ephemeral_key = std::move(ephemeral->key);

  // MAA's client-payload claim carries the values as they were sent, base64-encoded.
  // The nonce claim is the payload's "nonce" value as the caller gave it.
  out.client_payload = Json::Value(Json::objectValue);
  for (const auto& [name, value] : evidence.client_payload) {
    out.client_payload[name] = base64_encode(as_bytes(value));
    if (name == "nonce") {
      out.nonce = value;
    }
  }
  if (out.nonce.empty() && evidence.quote) {
    auto quote = report::parse_attest(*evidence.quote);
    if (quote && !quote->extra_data.empty()) {
      out.nonce = base64_encode(quote->extra_data);
    }
  }
  return {};
}

}  // namespace

Json::Value sev_snp_vm_claims(const snp::Report& report, snp::Product product) {
  snp::Tcb tcb = snp::decode_tcb(report.reported_tcb, product);
  Json::Value claims(Json::objectValue);
  claims["x-ms-sevsnpvm-authorkeydigest"] = hex_encode(report.author_key_digest);
  claims["x-ms-sevsnpvm-bootloader-svn"] = number(tcb.bootloader);
  claims["x-ms-sevsnpvm-familyId"] = hex_encode(report.family_id);
  claims["x-ms-sevsnpvm-guestsvn"] = number(report.guest_svn);
  claims["x-ms-sevsnpvm-hostdata"] = hex_encode(report.host_data);
  claims["x-ms-sevsnpvm-idkeydigest"] = hex_encode(report.id_key_digest);
  claims["x-ms-sevsnpvm-imageId"] = hex_encode(report.image_id);
  claims["x-ms-sevsnpvm-is-debuggable"] = report.debug_allowed();
  claims["x-ms-sevsnpvm-launchmeasurement"] = hex_encode(report.measurement);
  claims["x-ms-sevsnpvm-microcode-svn"] = number(tcb.microcode);
  claims["x-ms-sevsnpvm-migration-allowed"] = report.migrate_ma_allowed();
  claims["x-ms-sevsnpvm-reportdata"] = hex_encode(report.report_data);
  claims["x-ms-sevsnpvm-reportid"] = hex_encode(report.report_id);
  claims["x-ms-sevsnpvm-smt-allowed"] = report.smt_allowed();
  claims["x-ms-sevsnpvm-snpfw-svn"] = number(tcb.snp);
  claims["x-ms-sevsnpvm-tee-svn"] = number(tcb.tee);
  claims["x-ms-sevsnpvm-vmpl"] = number(report.vmpl);
  return claims;
}

Result<VerifiedEvidence> verify_request_body(const std::string& body, report::EvidenceFormat expected,
                                             const snp::TrustStore& trust) {
  report::Evidence evidence = CVM_TRY(report::read_evidence(body));
  if (evidence.format != expected) {
    return fail(Errc::invalid_data, "the body is " + std::string(report::evidence_format_name(evidence.format)) +
                                        " evidence, but this endpoint accepts " +
                                        std::string(report::evidence_format_name(expected)));
  }

  report::EvidenceVerification verification = report::verify_evidence(evidence, trust, report::EvidenceVerifyOptions{});
  CVM_TRY(require_passed(verification));
  if (!verification.product) {
    return fail(Errc::verification_failed, "the evidence passed its checks but names no processor product");
  }

  // verify_evidence parsed both already; a second parse cannot fail differently.
  snp::Report parsed_report = CVM_TRY(snp::parse_report(evidence.snp_report));
  report::RuntimeClaims claims = CVM_TRY(report::parse_runtime_claims(evidence.runtime_claims));

  VerifiedEvidence out;
  out.isolation_claims = sev_snp_vm_claims(parsed_report, *verification.product);
  out.runtime_claims = claims.json;
  if (evidence.format == report::EvidenceFormat::azure_guest) {
    CVM_TRY(fill_azure_guest(out, evidence));
  } else if (evidence.nonce_field) {
    out.nonce = *evidence.nonce_field;
  }
  return out;
}

EvidenceVerifiers::EvidenceVerifiers(snp::TrustStore trust)
    : trust_(std::make_shared<const snp::TrustStore>(std::move(trust))) {}

Result<EvidenceVerifiers> EvidenceVerifiers::from_trust_anchor_files(const std::vector<std::string>& paths) {
  snp::TrustStore trust = snp::TrustStore::amd();
  for (const std::string& path : paths) {
    CVM_TRY(trust.add_roots_from_file(path));
  }
  return EvidenceVerifiers(std::move(trust));
}

EvidenceVerifier EvidenceVerifiers::azure_guest() const {
  return [trust = trust_](const std::string& body) {
    return verify_request_body(body, report::EvidenceFormat::azure_guest, *trust);
  };
}

EvidenceVerifier EvidenceVerifiers::sev_snp_vm() const {
  return [trust = trust_](const std::string& body) {
    return verify_request_body(body, report::EvidenceFormat::sev_snp_vm, *trust);
  };
}

}  // namespace cvm::peers
