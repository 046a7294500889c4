// `cvm-attest tpm quote|pcrs|nvread|detect`: direct access to the (v)TPM.
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"
#include "agent/cli/output.hpp"
#include "common/bytes.hpp"
#include "vtpm/nv.hpp"
#include "vtpm/pcr.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::cli {
namespace {

struct TpmOptions {
  std::string tcti = std::string(vtpm::kDefaultTcti);
  bool json = false;
};

struct PcrOptions {
  std::string pcrs = "0-7";
  std::string bank = "sha256";
};

struct QuoteCommandOptions {
  TpmOptions tpm;
  PcrOptions pcrs;
  std::string nonce_hex;
  bool base64 = false;
};

struct NvReadCommandOptions {
  TpmOptions tpm;
  std::string index = "0x01400001";
  std::string out_path;
};

// tpm2-tss prints its own warnings and errors on stderr, which would repeat
// each error this command reports. TSS2_LOG, when the user sets it, wins.
void silence_tss_logging() {
  ::setenv("TSS2_LOG", "all+NONE", 0);
}

Result<vtpm::PcrSelection> parse_selection(const PcrOptions& options) {
  vtpm::PcrSelection selection;
  selection.bank = CVM_TRY(vtpm::parse_hash_algorithm(options.bank));
  selection.indices = CVM_TRY(vtpm::parse_pcr_indices(options.pcrs));
  return selection;
}

Result<TPM2_HANDLE> parse_nv_index(const std::string& text) {
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
  }
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return fail(Errc::invalid_argument, "invalid NV index '" + text + "'; expected hex such as 0x01400001");
  }
  if ((value >> 24) != TPM2_HT_NV_INDEX) {
    return fail(Errc::invalid_argument, "NV index " + text + " is outside the NV handle range 0x01000000-0x01ffffff");
  }
  return value;
}

Result<void> write_output_file(const std::string& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) {
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  if (!out) {
    return fail(errno_error(Errc::io, "cannot write " + path, errno));
  }
  return {};
}

Json::Value pcr_values_json(const vtpm::PcrValues& values) {
  Json::Value list(Json::arrayValue);
  for (const auto& value : values.values) {
    Json::Value item(Json::objectValue);
    item["index"] = value.index;
    item["digest"] = hex_encode(value.digest);
    list.append(item);
  }
  return list;
}

void print_pcr_values_text(const vtpm::PcrValues& values) {
  std::cout << "bank: " << vtpm::hash_algorithm_name(values.bank) << "\n";
  for (const auto& value : values.values) {
    std::cout << "pcr " << value.index << ": " << hex_encode(value.digest) << "\n";
  }
}

std::string signature_scheme_name(TPMI_ALG_SIG_SCHEME scheme) {
  switch (scheme) {
    case TPM2_ALG_RSASSA: return "rsassa";
    case TPM2_ALG_RSAPSS: return "rsapss";
    default: return vtpm::handle_hex(scheme);
  }
}

int run_quote(const QuoteCommandOptions& options) {
  silence_tss_logging();
  const bool json = options.tpm.json;
  auto selection = parse_selection(options.pcrs);
  if (!selection) {
    return report_error(selection.error(), json);
  }
  auto nonce = hex_decode(options.nonce_hex);
  if (!nonce) {
    Error error = std::move(nonce).error().prefixed("--nonce");
    error.code = Errc::invalid_argument;
    return report_error(error, json);
  }
  auto tpm = vtpm::Tpm::open(options.tpm.tcti);
  if (!tpm) {
    return report_error(tpm.error(), json);
  }
  auto quote = vtpm::quote(*tpm, vtpm::QuoteOptions{.pcrs = *selection, .nonce = *nonce});
  if (!quote) {
    return report_error(quote.error(), json);
  }

  auto encode = [&](ByteView data) { return options.base64 ? base64_encode(data) : hex_encode(data); };
  if (json) {
    Json::Value root(Json::objectValue);
    root["encoding"] = options.base64 ? "base64" : "hex";
    root["nonce"] = hex_encode(*nonce);
    root["quote"] = encode(quote->attest);
    root["signature"] = encode(quote->signature.value);
    root["signature_scheme"] = signature_scheme_name(quote->signature.scheme);
    root["signature_hash"] = vtpm::hash_algorithm_name(quote->signature.hash);
    root["bank"] = vtpm::hash_algorithm_name(quote->pcrs.bank);
    root["pcrs"] = pcr_values_json(quote->pcrs);
    print_json(root);
  } else {
    std::cout << "quote: " << encode(quote->attest) << "\n"
              << "signature: " << encode(quote->signature.value) << "\n"
              << "signature scheme: " << signature_scheme_name(quote->signature.scheme) << "-"
              << vtpm::hash_algorithm_name(quote->signature.hash) << "\n";
    print_pcr_values_text(quote->pcrs);
  }
  return kExitOk;
}

int run_pcrs(const TpmOptions& tpm_options, const PcrOptions& pcr_options) {
  silence_tss_logging();
  auto selection = parse_selection(pcr_options);
  if (!selection) {
    return report_error(selection.error(), tpm_options.json);
  }
  auto tpm = vtpm::Tpm::open(tpm_options.tcti);
  if (!tpm) {
    return report_error(tpm.error(), tpm_options.json);
  }
  auto values = vtpm::read_pcrs(*tpm, *selection);
  if (!values) {
    return report_error(values.error(), tpm_options.json);
  }
  if (tpm_options.json) {
    Json::Value root(Json::objectValue);
    root["bank"] = vtpm::hash_algorithm_name(values->bank);
    root["pcrs"] = pcr_values_json(*values);
    print_json(root);
  } else {
    print_pcr_values_text(*values);
  }
  return kExitOk;
}

int run_nvread(const NvReadCommandOptions& options) {
  silence_tss_logging();
  const bool json = options.tpm.json;
  auto index = parse_nv_index(options.index);
  if (!index) {
    return report_error(index.error(), json);
  }
  auto tpm = vtpm::Tpm::open(options.tpm.tcti);
  if (!tpm) {
    return report_error(tpm.error(), json);
  }
  auto data = vtpm::nv_read(*tpm, *index);
  if (!data) {
    return report_error(data.error(), json);
  }
  if (!options.out_path.empty()) {
    auto written = write_output_file(options.out_path, *data);
    if (!written) {
      return report_error(written.error(), json);
    }
  }
  if (json) {
    Json::Value root(Json::objectValue);
    root["index"] = vtpm::handle_hex(*index);
    root["size"] = static_cast<Json::UInt64>(data->size());
    if (options.out_path.empty()) {
      root["data"] = base64_encode(*data);
    } else {
      root["out"] = options.out_path;
    }
    print_json(root);
  } else if (options.out_path.empty()) {
    std::cout << hex_encode(*data) << "\n";
  } else {
    std::cout << "wrote " << data->size() << " bytes of NV index " << vtpm::handle_hex(*index) << " to "
              << options.out_path << "\n";
  }
  return kExitOk;
}

int run_detect(const TpmOptions& options) {
  silence_tss_logging();
  auto tpm = vtpm::Tpm::open(options.tcti);
  if (!tpm) {
    return report_error(tpm.error(), options.json);
  }
  auto detection = vtpm::detect_platform(*tpm);
  if (!detection) {
    return report_error(detection.error(), options.json);
  }
  if (options.json) {
    Json::Value root(Json::objectValue);
    root["azure_cvm"] = detection->azure_cvm;
    root["reason"] = detection->reason;
    print_json(root);
  } else {
    std::cout << (detection->azure_cvm ? "Azure confidential VM: " : "not an Azure confidential VM: ")
              << detection->reason << "\n";
  }
  return detection->azure_cvm ? kExitOk : kExitVerificationFailed;
}

void add_tpm_options(CLI::App& command, TpmOptions& options) {
  command.add_option("--tcti", options.tcti,
                     "TPM connection: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321 or mssim:...")
      ->envname("CVM_ATTEST_TCTI")
      ->capture_default_str();
  command.add_flag("--json", options.json, "Print JSON");
}

void add_pcr_options(CLI::App& command, PcrOptions& options) {
  command.add_option("--pcrs", options.pcrs, "PCR indices, e.g. 0-7 or 0,1,2,7")->capture_default_str();
  command.add_option("--bank", options.bank, "PCR bank: sha1, sha256, sha384 or sha512")->capture_default_str();
}

}  // namespace

void add_tpm_commands(CLI::App& app, CommandContext& context) {
  auto* tpm = app.add_subcommand("tpm", "Read PCRs, NV indices and quotes from the (v)TPM");
  tpm->require_subcommand(1);

  auto quote_options = std::make_shared<QuoteCommandOptions>();
  auto* quote = tpm->add_subcommand("quote", "Quote PCRs with the AK (0x81000003) over a nonce");
  quote->add_option("--nonce", quote_options->nonce_hex, "nonce as hex, 0 to 50 bytes, placed in the quote unchanged")
      ->required();
  add_pcr_options(*quote, quote_options->pcrs);
  add_tpm_options(*quote, quote_options->tpm);
  quote->add_flag("--base64", quote_options->base64, "Print the quote and signature as base64 instead of hex");
  quote->callback([quote_options, &context] { context.exit_code = run_quote(*quote_options); });

  auto pcr_tpm_options = std::make_shared<TpmOptions>();
  auto pcr_options = std::make_shared<PcrOptions>();
  auto* pcrs = tpm->add_subcommand("pcrs", "Print PCR values");
  add_pcr_options(*pcrs, *pcr_options);
  add_tpm_options(*pcrs, *pcr_tpm_options);
  pcrs->callback([pcr_tpm_options, pcr_options, &context] {
    context.exit_code = run_pcrs(*pcr_tpm_options, *pcr_options);
  });

  auto nvread_options = std::make_shared<NvReadCommandOptions>();
  auto* nvread = tpm->add_subcommand("nvread", "Read a whole NV index with owner authorization");
  nvread->add_option("--index", nvread_options->index, "NV index as hex")->capture_default_str();
  nvread->add_option("--out", nvread_options->out_path, "write the raw bytes to this file instead of printing hex");
  add_tpm_options(*nvread, nvread_options->tpm);
  nvread->callback([nvread_options, &context] { context.exit_code = run_nvread(*nvread_options); });

  auto detect_options = std::make_shared<TpmOptions>();
  auto* detect = tpm->add_subcommand(
      "detect", "Tell whether this is an Azure confidential VM by its vTPM (exit 0 yes, 1 no)");
  add_tpm_options(*detect, *detect_options);
  detect->callback([detect_options, &context] { context.exit_code = run_detect(*detect_options); });
}

}  // namespace cvm::cli
