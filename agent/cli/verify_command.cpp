// `cvm-attest verify`: offline verification of attestation evidence in any
// format the report library reads.
#include <json/value.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"
#include "agent/cli/output.hpp"
#include "agent/cli/snp_json.hpp"
#include "common/bytes.hpp"
#include "common/time.hpp"
#include "report/evidence.hpp"
#include "report/verify.hpp"
#include "snp/certs.hpp"
#include "vtpm/pcr.hpp"

namespace cvm::cli {
namespace {

// Certificate files are a few kilobytes; anything larger is not one.
constexpr std::size_t kMaxCertificateFileSize = 1 << 20;

struct VerifyEvidenceOptions {
  std::string path;
  std::vector<std::string> chain_paths;
  std::vector<std::string> trust_anchor_paths;
  std::string at;
  std::string nonce_hex;
  std::string pcrs;
  std::string product;
  bool json = false;
};

Error usage_error(Error error) {
  error.code = Errc::invalid_argument;
  return error;
}

Result<report::EvidenceVerifyOptions> verify_options_from(const VerifyEvidenceOptions& options) {
  report::EvidenceVerifyOptions out;
  if (!options.at.empty()) {
    auto at = parse_rfc3339(options.at);
    if (!at) return fail(usage_error(std::move(at).error()));
    out.at = *at;
  }
  if (!options.nonce_hex.empty()) {
    auto nonce = hex_decode(options.nonce_hex);
    if (!nonce) {
      return fail(Error{.code = Errc::invalid_argument,
                        .message = "--nonce '" + options.nonce_hex + "' is not hex",
                        .hint = "give the expected nonce as hex digits, e.g. --nonce 6368616c6c656e6765"});
    }
    out.expected_nonce = std::move(*nonce);
  }
  if (!options.pcrs.empty()) {
    auto indices = vtpm::parse_pcr_indices(options.pcrs);
    if (!indices) return fail(usage_error(std::move(indices).error()));
    out.required_pcrs = std::move(*indices);
  }
  if (!options.product.empty()) {
    auto product = snp::parse_product_name(options.product);
    if (!product) return fail(usage_error(std::move(product).error()));
    out.configured_product = *product;
  }
  for (const auto& path : options.chain_paths) {
    out.extra_certificates.push_back(CVM_TRY(read_file(path, kMaxCertificateFileSize)));
  }
  return out;
}

Json::Value verification_json(const report::Evidence& evidence, const report::EvidenceVerification& verification) {
  Json::Value out = checks_json(verification.passed(), verification.product, verification.checks, verification.notes);
  out["format"] = std::string(report::evidence_format_name(evidence.format));
  return out;
}

// The layout of `report verify` after a line naming the evidence format.
std::string verification_text(const report::Evidence& evidence, const report::EvidenceVerification& verification) {
  return "format  " + std::string(report::evidence_format_name(evidence.format)) + "\n" +
         checks_text(verification.passed(), verification.checks, verification.notes);
}

int run_verify(const VerifyEvidenceOptions& options) {
  auto verify_options = verify_options_from(options);
  if (!verify_options) return report_error(verify_options.error(), options.json);

  snp::TrustStore trust = snp::TrustStore::amd();
  for (const auto& path : options.trust_anchor_paths) {
    auto added = trust.add_roots_from_file(path);
    if (!added) return report_error(added.error(), options.json);
  }

  // One byte over the reader's limit, so an oversized file fails in the
  // reader with its message rather than in read_file.
  auto text = read_file(options.path, report::kMaxEvidenceSize + 1);
  if (!text) return report_error(text.error(), options.json);
  auto evidence = report::read_evidence(as_text(*text));
  if (!evidence) {
    return report_error(std::move(evidence).error().prefixed(options.path), options.json);
  }

  report::EvidenceVerification verification = report::verify_evidence(*evidence, trust, *verify_options);
  if (options.json) {
    print_json(verification_json(*evidence, verification));
  } else {
    std::cout << verification_text(*evidence, verification);
  }
  return verification.passed() ? kExitOk : kExitVerificationFailed;
}

}  // namespace

void add_verify_commands(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<VerifyEvidenceOptions>();
  auto* verify = app.add_subcommand(
      "verify", "Verify attestation evidence offline (AzureGuest or SevSnpVm body, or az-snp-vtpm evidence)");
  verify->add_option("file", options->path, "evidence file (JSON)")->required();
  verify->add_option("--chain", options->chain_paths,
                     "PEM or DER certificates to complete the VCEK chain (ASK and ARK), for evidence that "
                     "carries the VCEK alone");
  verify->add_option("--trust-anchor", options->trust_anchor_paths,
                     "extra root certificate (PEM or DER) to trust besides the pinned AMD ARKs");
  verify->add_option("--at", options->at, "check certificate validity at this RFC 3339 time instead of now");
  verify->add_option("--nonce", options->nonce_hex,
                     "expected nonce as hex: the quote's extraData (and the claims' user-data for az-snp-vtpm "
                     "and SevSnpVm evidence) must carry it");
  verify->add_option("--pcrs", options->pcrs, "PCRs the quote must cover, e.g. 0-7 or 0,1,2");
  verify->add_option("--product", options->product,
                     "CPU product (milan, genoa, turin) when neither report nor VCEK names it");
  verify->add_flag("--json", options->json, "Print the checks as JSON");
  verify->callback([options, &context] { context.exit_code = run_verify(*options); });
}

}  // namespace cvm::cli
