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
#include "report/claims.hpp"
#include "report/hcl.hpp"
#include "vtpm/keys.hpp"
#include "vtpm/nv.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::cli {
namespace {

// Reports and certificate files are small; anything larger is not one of them.
constexpr std::size_t kMaxInputFileSize = 1 << 20;

struct ReportSource {
  std::string snp_path;
  std::string hcl_path;
  bool tpm = false;
  std::string tcti;

  [[nodiscard]] bool given() const { return !snp_path.empty() || !hcl_path.empty() || tpm; }
};

struct RefreshOptions {
  std::string tcti;
  std::string user_data_hex;
  bool json = false;
};

// A report and, when it came inside an HCL report, that report's runtime claims.
struct LoadedReport {
  snp::Report snp;
  std::optional<Bytes> claims;
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

Result<LoadedReport> from_hcl(ByteView data, const std::string& origin) {
  auto hcl = report::parse_hcl_report(data);
  if (!hcl) {
    return fail(std::move(hcl).error().prefixed(origin));
  }
  return LoadedReport{.snp = std::move(hcl->snp), .claims = std::move(hcl->claims)};
}

Result<LoadedReport> load_report(const ReportSource& source) {
  if (!source.snp_path.empty()) {
    Bytes data = CVM_TRY(read_file(source.snp_path, kMaxInputFileSize));
    auto report = snp::parse_report(data);
    if (!report) {
      return std::unexpected(std::move(report).error().prefixed(source.snp_path));
    }
    return LoadedReport{.snp = std::move(*report)};
  }
  if (source.tpm) {
    vtpm::Tpm tpm = CVM_TRY(vtpm::Tpm::open(source.tcti));
    Bytes data = CVM_TRY(vtpm::read_hcl_report(tpm));
    return from_hcl(data, "the HCL report in NV 0x01400001");
  }
  Bytes data = CVM_TRY(read_file(source.hcl_path, kMaxInputFileSize));
  return from_hcl(data, source.hcl_path);
}

// The TPM's AK must be the HCLAkPub that the hardware report binds.
snp::Check check_tpm_ak(const ReportSource& source, const LoadedReport& loaded) {
  auto compare = [&]() -> Result<void> {
    auto claims = CVM_TRY(report::parse_runtime_claims(*loaded.claims));
    const report::Jwk* jwk = claims.find_key("HCLAkPub");
    if (jwk == nullptr) {
      return fail(Errc::verification_failed, "the runtime claims carry no HCLAkPub");
    }
    auto claimed = CVM_TRY(report::jwk_public_key(*jwk));
    vtpm::Tpm tpm = CVM_TRY(vtpm::Tpm::open(source.tcti));
    vtpm::PublicKey ak = CVM_TRY(vtpm::read_ak_public(tpm));
    if (EVP_PKEY_eq(claimed.get(), ak.key.get()) != 1) {
      return fail(Errc::verification_failed, "the AK at 0x81000003 differs from HCLAkPub; it may have been replaced");
    }
    return {};
  };
  auto result = compare();
  return result ? snp::Check{.name = "ak_matches_claims", .status = snp::CheckStatus::pass,
                             .detail = "the TPM's AK equals HCLAkPub"}
                : snp::Check{.name = "ak_matches_claims", .status = snp::CheckStatus::fail,
                             .detail = result.error().to_string()};
}

snp::Check check_binding(const LoadedReport& loaded) {
  auto bound = report::verify_claims_binding(*loaded.claims, loaded.snp.report_data);
  return bound ? snp::Check{.name = "claims_binding", .status = snp::CheckStatus::pass,
                            .detail = "SHA-256(runtime claims) = REPORT_DATA[0..32]"}
               : snp::Check{.name = "claims_binding", .status = snp::CheckStatus::fail,
                            .detail = bound.error().to_string()};
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
  auto resolved = snp::resolve_product(report->snp, std::nullopt, *configured);
  if (resolved) {
    product = *resolved;
  } else if (resolved.error().code != Errc::invalid_argument) {
    return report_error(resolved.error(), options.json);
  }
  if (options.json) {
    print_json(report_json(report->snp, product));
  } else {
    std::cout << report_text(report->snp, product);
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

  snp::Verification verification = snp::verify_report(report->snp, *endorsement, trust, verify_options);
  if (report->claims) {
    verification.checks.push_back(check_binding(*report));
  }
  if (options.source.tpm) {
    verification.checks.push_back(check_tpm_ak(options.source, *report));
  }
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
  auto* tpm_option = command.add_flag("--tpm", source.tpm, "read the HCL report from the TPM (NV 0x01400001)");
  tpm_option->excludes(snp_option)->excludes(hcl_option);
  command.add_option("--tcti", source.tcti, "TPM connection for --tpm")
      ->envname("CVM_ATTEST_TCTI")
      ->default_str(std::string(vtpm::kDefaultTcti));
}

int run_refresh(const RefreshOptions& options) {
  auto user_data = hex_decode(options.user_data_hex);
  if (!user_data || user_data->size() > vtpm::kUserDataSize) {
    return report_error(Error{.code = Errc::invalid_argument,
                              .message = "--user-data must be hex of at most 64 bytes"},
                        options.json);
  }
  auto refreshed = [&]() -> Result<vtpm::RefreshedReport> {
    {
      vtpm::Tpm tpm = CVM_TRY(vtpm::Tpm::open(options.tcti));
      CVM_TRY(vtpm::write_user_data(tpm, *user_data));
    }
    Bytes expected = *user_data;
    return vtpm::refresh_hcl_report(
        options.tcti,
        [expected](ByteView hcl) -> Result<bool> {
          auto parsed = report::parse_hcl_envelope(hcl);
          if (!parsed) return false;
          auto claims = report::parse_runtime_claims(parsed->claims);
          return claims && report::user_data_matches(*claims, expected);
        },
        vtpm::RefreshOptions{});
  }();
  if (!refreshed) {
    return report_error(refreshed.error(), options.json);
  }
  auto loaded = from_hcl(refreshed->hcl_report, "the refreshed HCL report");
  if (!loaded) {
    return report_error(loaded.error(), options.json);
  }
  auto product = snp::resolve_product(loaded->snp, std::nullopt, std::nullopt);
  std::optional<snp::Product> known = product ? std::optional(*product) : std::nullopt;
  if (options.json) {
    Json::Value out = report_json(loaded->snp, known);
    out["reads"] = refreshed->reads;
    out["runtime_claims"] = std::string(as_text(*loaded->claims));
    print_json(out);
  } else {
    std::cout << "user data written; the report carried it after " << refreshed->reads << " read(s)\n";
    std::cout << report_text(loaded->snp, known);
  }
  return kExitOk;
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
    if (!show_options->source.given()) {
      throw CLI::RequiredError("--snp, --hcl or --tpm");
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
    if (!verify_options->source.given()) {
      throw CLI::RequiredError("--snp, --hcl or --tpm");
    }
    context.exit_code = run_verify(*verify_options);
  });

  auto refresh_options = std::make_shared<RefreshOptions>();
  auto* refresh = report->add_subcommand("refresh", "Write user data (NV 0x01400002) and print the fresh report");
  refresh->add_option("--user-data", refresh_options->user_data_hex, "up to 64 bytes, hex")->required();
  refresh->add_option("--tcti", refresh_options->tcti, "TPM connection")
      ->envname("CVM_ATTEST_TCTI")
      ->default_str(std::string(vtpm::kDefaultTcti));
  refresh->add_flag("--json", refresh_options->json, "Print JSON");
  refresh->callback([refresh_options, &context] { context.exit_code = run_refresh(*refresh_options); });
}

}  // namespace cvm::cli
