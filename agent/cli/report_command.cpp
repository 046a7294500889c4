// `cvm-attest report show` and `cvm-attest report verify`.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"
#include "agent/cli/output.hpp"
#include "agent/cli/snp_json.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/time.hpp"
#include "snp/certs.hpp"
#include "snp/report.hpp"
#include "snp/verify.hpp"

namespace cvm::cli {
namespace {

// Reports and certificate files are small; anything larger is not one of them.
constexpr std::size_t kMaxInputFileSize = 1 << 20;
// The HCL report wraps the SNP report at a fixed offset.
constexpr std::size_t kHclHardwareReportOffset = 0x20;

struct ReportSource {
  std::string snp_path;
  std::string hcl_path;
};

struct ShowOptions {
  ReportSource source;
  std::string product;
  bool json = false;
};

struct VerifyCommandOptions {
  ReportSource source;
  std::vector<std::string> vcek_paths;
  std::string chain_path;
  std::vector<std::string> trust_anchor_paths;
  std::string at;
  std::string product;
  bool json = false;
};

Result<snp::Report> load_report(const ReportSource& source) {
  if (!source.snp_path.empty()) {
    Bytes data = CVM_TRY(read_file(source.snp_path, kMaxInputFileSize));
    auto report = snp::parse_report(data);
    if (!report) {
      return std::unexpected(std::move(report).error().prefixed(source.snp_path));
    }
    return report;
  }
  Bytes data = CVM_TRY(read_file(source.hcl_path, kMaxInputFileSize));
  if (data.size() < kHclHardwareReportOffset + snp::kReportSize) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = source.hcl_path + ": an HCL report needs at least " +
                                           std::to_string(kHclHardwareReportOffset + snp::kReportSize) +
                                           " bytes, got " + std::to_string(data.size())})
                    .at("hardware_report", kHclHardwareReportOffset));
  }
  if (!(data[0] == 'H' && data[1] == 'C' && data[2] == 'L' && data[3] == 'A')) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = source.hcl_path + ": not an HCL report (signature is not 'HCLA')"})
                    .at("signature", 0));
  }
  auto report = snp::parse_report(ByteView(data).subspan(kHclHardwareReportOffset, snp::kReportSize));
  if (!report) {
    return std::unexpected(std::move(report).error().prefixed(source.hcl_path + " (SNP report at 0x20)"));
  }
  return report;
}

Result<std::optional<snp::Product>> parse_optional_product(const std::string& text) {
  if (text.empty()) {
    return std::optional<snp::Product>{};
  }
  auto product = snp::parse_product_name(text);
  if (!product) {
    Error error = std::move(product).error();
    error.code = Errc::invalid_argument;
    return std::unexpected(std::move(error));
  }
  return std::optional<snp::Product>(*product);
}

int run_show(const ShowOptions& options) {
  auto report = load_report(options.source);
  if (!report) {
    return report_error(report.error(), options.json);
  }
  auto configured = parse_optional_product(options.product);
  if (!configured) {
    return report_error(configured.error(), options.json);
  }
  // `show` decodes TCBs when the product is known but never fails for lack of it.
  std::optional<snp::Product> product;
  auto resolved = snp::resolve_product(*report, std::nullopt, *configured);
  if (resolved) {
    product = *resolved;
  } else if (resolved.error().code != Errc::invalid_argument) {
    return report_error(resolved.error(), options.json);
  }
  if (options.json) {
    print_json(report_json(*report, product));
  } else {
    std::cout << report_text(*report, product);
  }
  return kExitOk;
}

Result<snp::Endorsement> load_endorsement(const VerifyCommandOptions& options) {
  std::vector<ossl::UniqueX509> certificates;
  std::vector<std::string> paths = options.vcek_paths;
  if (!options.chain_path.empty()) {
    paths.push_back(options.chain_path);
  }
  for (const auto& path : paths) {
    Bytes data = CVM_TRY(read_file(path, kMaxInputFileSize));
    auto parsed = CVM_TRY(ossl::parse_certificates(data, path));
    for (auto& certificate : parsed) {
      certificates.push_back(std::move(certificate));
    }
  }
  return snp::sort_endorsement(std::move(certificates));
}

int run_verify(const VerifyCommandOptions& options) {
  auto report = load_report(options.source);
  if (!report) {
    return report_error(report.error(), options.json);
  }
  auto endorsement = load_endorsement(options);
  if (!endorsement) {
    return report_error(endorsement.error(), options.json);
  }
  snp::TrustStore trust = snp::TrustStore::amd();
  for (const auto& path : options.trust_anchor_paths) {
    auto added = trust.add_roots_from_file(path);
    if (!added) {
      return report_error(added.error(), options.json);
    }
  }
  snp::VerifyOptions verify_options;
  if (!options.at.empty()) {
    auto at = parse_rfc3339(options.at);
    if (!at) {
      return report_error(at.error(), options.json);
    }
    verify_options.at = *at;
  }
  auto configured = parse_optional_product(options.product);
  if (!configured) {
    return report_error(configured.error(), options.json);
  }
  verify_options.configured_product = *configured;

  snp::Verification verification = snp::verify_report(*report, *endorsement, trust, verify_options);
  if (options.json) {
    print_json(verification_json(verification));
  } else {
    std::cout << verification_text(verification);
  }
  return verification.passed() ? kExitOk : kExitVerificationFailed;
}

void add_source_options(CLI::App& command, ReportSource& source) {
  auto* snp_option = command.add_option("--snp", source.snp_path, "SEV-SNP report file (exactly 1184 bytes)");
  auto* hcl_option = command.add_option("--hcl", source.hcl_path,
                                        "Azure HCL report file (NV 0x01400001 dump); its SNP report is used");
  snp_option->excludes(hcl_option);
}

}  // namespace

void add_report_commands(CLI::App& app, CommandContext& context) {
  auto* report = app.add_subcommand("report", "Inspect and verify SEV-SNP attestation reports");
  report->require_subcommand(1);

  auto show_options = std::make_shared<ShowOptions>();
  auto* show = report->add_subcommand("show", "Print every field of a report");
  add_source_options(*show, show_options->source);
  show->add_option("--product", show_options->product,
                   "CPU product (milan, genoa, turin) for decoding TCBs of version 2 reports");
  show->add_flag("--json", show_options->json, "Print JSON with AMD ABI field names");
  show->callback([show_options, &context] {
    if (show_options->source.snp_path.empty() && show_options->source.hcl_path.empty()) {
      throw CLI::RequiredError("--snp or --hcl");
    }
    context.exit_code = run_show(*show_options);
  });

  auto verify_options = std::make_shared<VerifyCommandOptions>();
  auto* verify = report->add_subcommand("verify", "Verify a report's signature, VCEK and AMD chain");
  add_source_options(*verify, verify_options->source);
  verify->add_option("--vcek", verify_options->vcek_paths,
                     "VCEK or VLEK certificate, DER or PEM; a PEM may also carry the ASK and ARK")
      ->required();
  verify->add_option("--chain", verify_options->chain_path, "PEM with the ASK (or ASVK) and ARK");
  verify->add_option("--trust-anchor", verify_options->trust_anchor_paths,
                     "extra root certificate (PEM or DER) to trust besides the pinned AMD ARKs");
  verify->add_option("--at", verify_options->at,
                     "check certificate validity at this RFC 3339 time instead of now");
  verify->add_option("--product", verify_options->product,
                     "CPU product (milan, genoa, turin) when neither report nor VCEK names it");
  verify->add_flag("--json", verify_options->json, "Print the checks as JSON");
  verify->callback([verify_options, &context] {
    if (verify_options->source.snp_path.empty() && verify_options->source.hcl_path.empty()) {
      throw CLI::RequiredError("--snp or --hcl");
    }
    context.exit_code = run_verify(*verify_options);
  });
}

}  // namespace cvm::cli
