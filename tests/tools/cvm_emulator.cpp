// cvm-emulator: builds the pieces of an emulated Azure SEV-SNP confidential
// VM that scripts/dev-env loads into swtpm: an AMD-like certificate chain,
// HCL reports signed by its VCEK, and a measured-boot event log.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "snp/tcb.hpp"
#include "tests/tools/emulator_event_log.hpp"
#include "tests/tools/emulator_files.hpp"
#include "tests/tools/emulator_hcl.hpp"
#include "tests/tools/emulator_pki.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// An AK public key file is a few hundred bytes.
constexpr std::size_t kMaxAkFileSize = 64 * 1024;

struct PkiOptions {
  std::string out;
  std::string product = "genoa";
};

struct HclCommandOptions {
  std::string pki;
  std::string ak_public;
  std::string user_data;
  std::string out;
  std::uint32_t header_version = 1;
  std::string vm_id;
};

struct EventLogOptions {
  std::string out;
};

int report_failure(const cvm::Error& error) {
  std::cerr << "cvm-emulator: " << error.to_string() << "\n";
  return kExitFailure;
}

int run_pki(const PkiOptions& options) {
  auto product = cvm::snp::parse_product_name(options.product);
  if (!product) {
    return report_failure(product.error());
  }
  auto platform = cvm::emulator::random_platform(*product);
  if (!platform) {
    return report_failure(platform.error());
  }
  auto chain = cvm::emulator::generate_chain(*platform);
  if (!chain) {
    return report_failure(chain.error());
  }
  auto written = cvm::emulator::write_pki(options.out, *chain, *platform);
  if (!written) {
    return report_failure(written.error());
  }
  return kExitOk;
}

int run_hcl(const HclCommandOptions& options) {
  auto signer = cvm::emulator::load_signer(options.pki);
  if (!signer) {
    return report_failure(signer.error());
  }
  auto ak_file = cvm::read_file(options.ak_public, kMaxAkFileSize);
  if (!ak_file) {
    return report_failure(ak_file.error());
  }
  auto ak = cvm::emulator::parse_ak_public(*ak_file);
  if (!ak) {
    return report_failure(std::move(ak).error().prefixed(options.ak_public));
  }
  auto user_data = cvm::hex_decode(options.user_data);
  if (!user_data) {
    return report_failure(std::move(user_data).error().prefixed("--user-data"));
  }

  cvm::emulator::HclOptions hcl;
  hcl.header_version = options.header_version;
  hcl.user_data = std::move(*user_data);
  if (options.vm_id.empty()) {
    auto guid = cvm::emulator::random_guid();
    if (!guid) {
      return report_failure(guid.error());
    }
    hcl.vm_id = *guid;
  } else {
    hcl.vm_id = options.vm_id;
  }
  auto blob = cvm::emulator::build_hcl_report(*signer, *ak, hcl);
  if (!blob) {
    return report_failure(blob.error());
  }
  auto written = cvm::emulator::write_file_atomic(options.out, *blob);
  if (!written) {
    return report_failure(written.error());
  }
  return kExitOk;
}

int run_event_log(const EventLogOptions& options) {
  auto log = cvm::emulator::build_event_log();
  if (!log) {
    return report_failure(log.error());
  }
  auto written = cvm::emulator::write_file_atomic(options.out, log->bytes);
  if (!written) {
    return report_failure(written.error());
  }
  for (const auto& extend : log->extends) {
    std::cout << cvm::emulator::pcr_extend_spec(extend) << "\n";
  }
  return std::cout.flush() ? kExitOk : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cvm-emulator: build the platform data of an emulated Azure SEV-SNP confidential VM",
               "cvm-emulator"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 failure, 2 usage error.");
  int exit_code = kExitOk;

  auto pki = std::make_shared<PkiOptions>();
  auto* pki_command = app.add_subcommand(
      "pki", "Generate an AMD-like ARK, ASK and VCEK for a random chip id, and platform.json");
  pki_command->add_option("--out", pki->out, "output directory (created if missing)")->required();
  pki_command->add_option("--product", pki->product, "CPU product of the emulated chip")
      ->check(CLI::IsMember({"genoa", "milan"}, CLI::ignore_case));
  pki_command->callback([pki, &exit_code] { exit_code = run_pki(*pki); });

  auto hcl = std::make_shared<HclCommandOptions>();
  auto* hcl_command = app.add_subcommand(
      "hcl", "Build an HCL report (the NV 0x01400001 blob) signed by the VCEK of a `pki` directory");
  hcl_command->add_option("--pki", hcl->pki, "directory written by `cvm-emulator pki`")->required();
  hcl_command->add_option("--ak-pub", hcl->ak_public,
                          "AK public key: PEM SubjectPublicKeyInfo (tpm2_readpublic -f pem) or a "
                          "marshalled TPM2B_PUBLIC (tpm2_readpublic -o)")
      ->required();
  hcl_command->add_option("--user-data", hcl->user_data,
                          "contents of NV 0x01400002 as hex, at most 64 bytes; zero-padded to 64")
      ->required();
  hcl_command->add_option("--out", hcl->out, "output file")->required();
  hcl_command->add_option("--header-version", hcl->header_version, "HCL header version: 1 legacy HCL, 2 OpenHCL")
      ->check(CLI::IsMember({1u, 2u}));
  hcl_command->add_option("--vm-id", hcl->vm_id, "vmUniqueId GUID for the claims; random when absent");
  hcl_command->callback([hcl, &exit_code] { exit_code = run_hcl(*hcl); });

  auto event_log = std::make_shared<EventLogOptions>();
  auto* event_log_command = app.add_subcommand(
      "eventlog",
      "Write a TCG2 crypto-agile boot event log and print the PCR extends it records, one "
      "tpm2_pcrextend argument (PCR:sha1=HEX,sha256=HEX) per line");
  event_log_command->add_option("--out", event_log->out, "output file")->required();
  event_log_command->callback([event_log, &exit_code] { exit_code = run_event_log(*event_log); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    (void)app.exit(error);
    return kExitUsage;
  }
  return exit_code;
}
