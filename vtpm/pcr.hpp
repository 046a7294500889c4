// PCR selection and reading, TPM2_Quote with the AK, and the parts of a
// TPMS_ATTEST that quote and certify checks need.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::vtpm {

// Quotes carry the caller's nonce as qualifyingData unchanged; longer nonces
// are rejected rather than hashed, padded or truncated.
inline constexpr std::size_t kMaxNonceSize = 50;
// Persistent handle of the AK on Azure vTPMs.
inline constexpr TPM2_HANDLE kAkHandle = 0x81000003;
// PC Client TPMs implement 24 PCRs.
inline constexpr std::uint32_t kPcrCount = 24;

// "sha1", "sha256", "sha384", "sha512" (case-insensitive).
[[nodiscard]] Result<TPMI_ALG_HASH> parse_hash_algorithm(std::string_view name);
[[nodiscard]] std::string hash_algorithm_name(TPMI_ALG_HASH algorithm);
// Digest length in bytes, 0 for an algorithm this module does not know.
[[nodiscard]] std::size_t digest_size(TPMI_ALG_HASH algorithm);
// Hashes `data` with a TPM hash algorithm through OpenSSL.
[[nodiscard]] Result<Bytes> hash_with(TPMI_ALG_HASH algorithm, ByteView data);

struct PcrSelection {
  TPMI_ALG_HASH bank = TPM2_ALG_SHA256;
  std::vector<std::uint32_t> indices = {0, 1, 2, 3, 4, 5, 6, 7};
};

// Parses "0,1,2" or "0-7,14" into sorted, distinct PCR indices below kPcrCount.
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_pcr_indices(std::string_view text);

struct PcrValue {
  std::uint32_t index = 0;
  Bytes digest;
};

struct PcrValues {
  TPMI_ALG_HASH bank = TPM2_ALG_SHA256;
  std::vector<PcrValue> values;  // ascending by index

  // The concatenated digests, the input of a quote's pcrDigest.
  [[nodiscard]] Bytes concatenated() const;
};

// Reads the selected PCRs. Fails with Errc::invalid_argument for an empty or
// out-of-range selection and Errc::unsupported when the bank is not allocated.
[[nodiscard]] Result<PcrValues> read_pcrs(const Tpm& tpm, const PcrSelection& selection);

// The fields of a TPMS_ATTEST used to check quotes and certifications.
struct AttestInfo {
  TPMI_ST_ATTEST type = 0;
  Bytes qualified_signer;
  Bytes extra_data;
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  bool safe = false;
  std::uint64_t firmware_version = 0;
  // TPM2_ST_ATTEST_QUOTE
  std::vector<PcrSelection> quoted_pcrs;
  Bytes pcr_digest;
  // TPM2_ST_ATTEST_CERTIFY
  Bytes certified_name;
  Bytes certified_qualified_name;
};

// Parses a marshalled TPMS_ATTEST (the attestationData of a TPM2B_ATTEST);
// checks its magic and that every input byte is consumed.
[[nodiscard]] Result<AttestInfo> parse_attest(ByteView tpms_attest);

struct Signature {
  TPMI_ALG_SIG_SCHEME scheme = TPM2_ALG_NULL;  // TPM2_ALG_RSASSA or TPM2_ALG_RSAPSS
  TPMI_ALG_HASH hash = TPM2_ALG_NULL;
  Bytes value;   // the raw RSA signature
  Bytes tpmt;    // the marshalled TPMT_SIGNATURE, as tpm2-tools reads it
};

struct QuoteOptions {
  PcrSelection pcrs;
  Bytes nonce;  // qualifyingData, 0 to kMaxNonceSize bytes
  TPM2_HANDLE ak = kAkHandle;
  // A quote whose pcrDigest does not match the PCR values read with it (a PCR
  // was extended in between) is taken again, this many times in all.
  int max_attempts = 3;
  // Test seam: runs between reading the PCRs and quoting, so a test can extend
  // a PCR there. Leave empty in production.
  std::function<void()> after_pcr_read;
};

struct Quote {
  Bytes attest;  // TPMS_ATTEST, the TPM2B_ATTEST without its size
  Signature signature;
  PcrValues pcrs;  // the values the quote's pcrDigest covers
  int attempts = 0;
};

// Reads the selected PCRs and quotes them with the AK (scheme NULL, so the
// AK's own scheme applies), then checks the quote's magic, type, extraData,
// PCR selection and pcrDigest against what was requested and read.
[[nodiscard]] Result<Quote> quote(const Tpm& tpm, const QuoteOptions& options);

// TPML_PCR_SELECTION for one bank; the indices must already be valid.
[[nodiscard]] TPML_PCR_SELECTION to_tpml(const PcrSelection& selection);
[[nodiscard]] Result<void> validate_selection(const PcrSelection& selection);

// Converts a TPMT_SIGNATURE of an RSA key into raw and marshalled forms.
[[nodiscard]] Result<Signature> convert_signature(const TPMT_SIGNATURE& signature);

}  // namespace cvm::vtpm
