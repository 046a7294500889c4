// Files that carry a TPM quote together with its signature and PCR values,
// as other attestation tools write them.
#pragma once

#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::report {

// A quote as evidence carries it: the TPMS_ATTEST bytes, the raw RSA
// signature over them, and the PCR values in selection order.
struct QuoteBundle {
  Bytes message;
  Bytes signature;
  std::vector<Bytes> pcrs;
};

// Limits for quote files: an RSA-16384 signature, a TPMS_ATTEST far larger
// than any quote, and PCR values for a few full banks.
inline constexpr std::size_t kMaxQuoteSignatureSize = 2048;
inline constexpr std::size_t kMaxQuoteMessageSize = 4096;
inline constexpr std::size_t kMaxQuotePcrs = 256;

// Reads the bincode encoding of the az-cvm-vtpm `Quote` (kinvolk/azure-cvm-tooling):
// a u64-LE length and the signature, a u64-LE length and the TPMS_ATTEST,
// then a u64-LE count and that many 32-byte SHA-256 PCR values. Errors
// (Errc::invalid_data, naming the field and offset): truncation, lengths or
// counts over the limits above, and trailing bytes.
[[nodiscard]] Result<QuoteBundle> parse_az_cvm_vtpm_quote(ByteView data);

// Reads the Confidential Containers az-snp-vtpm TPM quote JSON
// (confidential-containers guest-components and trustee):
// {"signature": hex, "message": hex, "pcrs": [hex, ...]}. Errors
// (Errc::invalid_data, with the JSON key as field): invalid JSON, a missing
// or non-hex member, PCR values other than 32 bytes, sizes over the limits.
[[nodiscard]] Result<QuoteBundle> parse_coco_tpm_quote_json(ByteView data);

}  // namespace cvm::report
