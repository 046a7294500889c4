// Attestation evidence: what one attestation collects, and its encodings as
// MAA AzureGuest and SevSnpVm request bodies and as Confidential Containers
// `az-snp-vtpm` evidence.
#pragma once

#include <json/value.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::report {

// The largest evidence text read_evidence accepts: far larger than any
// evidence, whose size the event log dominates (real logs are tens of
// kilobytes).
inline constexpr std::size_t kMaxEvidenceSize = 16 << 20;

enum class EvidenceFormat { azure_guest, sev_snp_vm, coco_az_snp_vtpm };

[[nodiscard]] std::string_view evidence_format_name(EvidenceFormat format);
[[nodiscard]] Result<EvidenceFormat> parse_evidence_format(std::string_view name);

struct PcrEntry {
  std::uint32_t index = 0;
  Bytes digest;
};

// The parts of one attestation. Optional parts are absent in formats that
// do not carry them (SevSnpVm has no TPM data; Confidential Containers
// evidence has no event log or ephemeral key).
struct Evidence {
  EvidenceFormat format = EvidenceFormat::azure_guest;

  Bytes snp_report;       // the 1184-byte SEV-SNP report
  Bytes runtime_claims;   // the HCL runtime claims, exactly as stored
  std::string vcek_chain_pem;  // VCEK (or VLEK), ASK, ARK; may be empty
  std::optional<Bytes> vcek_der;  // Confidential Containers evidence carries the VCEK alone

  // TPM evidence (AzureGuest, Confidential Containers).
  std::optional<Bytes> ak_public;       // marshalled TPM2B_PUBLIC of the AK
  std::optional<Bytes> ak_certificate;  // DER from NV 0x01C101D0
  std::optional<Bytes> quote;           // TPMS_ATTEST
  std::optional<Bytes> quote_signature; // raw RSA signature
  std::vector<PcrEntry> pcrs;           // SHA-256 bank, ascending
  Bytes event_log;                      // empty when the VM has none
  std::optional<Bytes> ephemeral_public;            // TPM2B_PUBLIC
  std::optional<Bytes> ephemeral_certify_info;      // TPMS_ATTEST from TPM2_Certify
  std::optional<Bytes> ephemeral_certify_signature;

  // AzureGuest: the caller's payload, values as given (they are sent base64-encoded).
  std::vector<std::pair<std::string, std::string>> client_payload;
  // SevSnpVm: the `nonce` field. AzureGuest carries the nonce in the quote.
  std::optional<std::string> nonce_field;

  // Operating system description for AzureGuest.
  std::string os_type = "Linux";
  std::string os_distro;
  int os_version_major = 1;
  int os_version_minor = 0;
};

// Request bodies as MAA expects them (reference: Azure guest attestation
// library and the MAA REST specification, api-version 2020-10-01 for
// AzureGuest and 2022-08-01 for SevSnpVm).
[[nodiscard]] std::string encode_azure_guest(const Evidence& evidence);
[[nodiscard]] std::string encode_sev_snp_vm(const Evidence& evidence);
// The AttestationInfo object inside an AzureGuest body.
[[nodiscard]] Json::Value azure_guest_attestation_info(const Evidence& evidence);

// Reads any accepted encoding: an AzureGuest body ({"AttestationInfo": ...}),
// a SevSnpVm body ({"report": ..., "runtimeData": ...}) or Confidential
// Containers az-snp-vtpm evidence version 2 ({"version": 2, "tpm_quote",
// "hcl_report", "vcek"}). Errors name the JSON field at fault.
[[nodiscard]] Result<Evidence> read_evidence(std::string_view text);

// Splits an HCL report into the evidence's SNP report and runtime claims.
[[nodiscard]] Result<void> fill_from_hcl_report(Evidence& evidence, ByteView hcl_report);

// NAME and VERSION_ID from /etc/os-release (or `path`), for AzureGuest.
void fill_os_release(Evidence& evidence, const std::string& path = "/etc/os-release");

}  // namespace cvm::report
