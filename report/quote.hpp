// TPM attestation structures: TPMS_ATTEST from TPM2_Quote and TPM2_Certify,
// parsed from their marshalled bytes (TPM 2.0 Library, Part 2: Structures,
// section 10.12; big-endian) so that verification needs no TPM software,
// and the checks a verifier makes on a quote.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <openssl/evp.h>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::report {

inline constexpr std::uint32_t kTpmGeneratedValue = 0xff544347;  // "\xffTCG"
inline constexpr std::uint16_t kTpmStAttestCertify = 0x8017;
inline constexpr std::uint16_t kTpmStAttestQuote = 0x8018;

// The largest TPM2B_NAME, TPM2B_DATA and TPM2B_DIGEST a TPM can produce:
// a TPMT_HA (2-byte algorithm and a SHA-512 digest).
inline constexpr std::size_t kMaxNameSize = 2 + 64;
inline constexpr std::size_t kMaxDataSize = 2 + 64;
inline constexpr std::size_t kMaxDigestSize = 64;
// At most one selection per bank; TPMs implement a handful of banks.
inline constexpr std::size_t kMaxPcrSelections = 16;
// A select bitmap of 32 bytes covers 256 PCRs; TPMs have 24.
inline constexpr std::size_t kMaxPcrSelectSize = 32;

struct PcrSelection {
  std::uint16_t hash_algorithm = 0;
  Bytes select;                 // the bitmap as marshalled
  std::vector<std::uint32_t> pcrs;  // the selected indices, ascending
};

struct ClockInfo {
  std::uint64_t clock = 0;  // milliseconds the TPM has been powered
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  bool safe = false;
};

struct QuoteInfo {
  std::vector<PcrSelection> selections;
  Bytes pcr_digest;
};

struct CertifyInfo {
  Bytes name;            // the certified object's Name
  Bytes qualified_name;  // its Qualified Name
};

struct Attest {
  Bytes raw;  // the marshalled TPMS_ATTEST; the signature covers exactly these bytes
  std::uint16_t type = 0;
  Bytes qualified_signer;  // TPM2B_NAME of the signing key
  Bytes extra_data;        // the caller's qualifyingData (nonce)
  ClockInfo clock_info;
  std::uint64_t firmware_version = 0;
  std::optional<QuoteInfo> quote;      // type TPM_ST_ATTEST_QUOTE
  std::optional<CertifyInfo> certify;  // type TPM_ST_ATTEST_CERTIFY
};

// Parses a marshalled TPMS_ATTEST (without the TPM2B_ATTEST size). Errors
// name the field and offset. Truncation, a wrong magic, sizes beyond the
// limits above and trailing bytes are Errc::invalid_data. Attestation types
// other than quote and certify are Errc::unsupported.
[[nodiscard]] Result<Attest> parse_attest(ByteView data);

// Verifies a raw RSASSA-PKCS1-v1_5 SHA-256 signature over `attest_bytes`,
// as an RSA AK makes it with its RSASSA-SHA256 scheme.
[[nodiscard]] Result<void> verify_attest_signature(ByteView attest_bytes, ByteView signature,
                                                   EVP_PKEY* key);

// Computes a quote's pcrDigest: the hash, with `digest_algorithm`, of the
// PCR values concatenated in selection order (selections as listed, PCRs
// ascending within each).
[[nodiscard]] Result<Bytes> compute_pcr_digest(std::span<const Bytes> pcr_values,
                                               std::uint16_t digest_algorithm);

// Checks that PCR values, given in selection order, match the quote: one
// value per selected PCR, each of its bank's digest size, and their digest
// (with the AK's scheme hash, SHA-256 by default) equal to pcrDigest.
// Errors: Errc::invalid_argument for a wrong count or size,
// Errc::verification_failed for a different digest.
[[nodiscard]] Result<void> verify_pcr_digest(const QuoteInfo& quote, std::span<const Bytes> pcr_values,
                                             std::uint16_t digest_algorithm = 0x000b);

// Verifies a quote and returns it parsed. The checks run in this order:
// the bytes parse as TPM_ST_ATTEST_QUOTE, the signature verifies with
// `key`, extraData equals `expected_nonce` when one is given, and the PCR
// values match pcrDigest.
[[nodiscard]] Result<Attest> verify_quote(ByteView attest_bytes, ByteView signature, EVP_PKEY* key,
                                          std::optional<ByteView> expected_nonce,
                                          std::span<const Bytes> pcr_values);

}  // namespace cvm::report
