// The Azure HCL report: the paravisor's wrapper around the hardware report
// and the runtime claims, as stored in vTPM NV index 0x01400001.
//
// Layout (little-endian): a 32-byte header ("HCLA", version, report_size,
// request_type, status, reserved), the 1184-byte hardware report slot at
// 0x20, then the IGVM request data at 0x4C0 (data_size, version,
// report_type, report_data_hash_type, variable_data_size) and the runtime
// claims at 0x4D4. Sources: microsoft/openvmm
// openhcl/openhcl_attestation_protocol/src/igvm_attest/get.rs and
// kinvolk/azure-cvm-tooling az-cvm-vtpm/src/hcl/mod.rs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "snp/report.hpp"

namespace cvm::report {

inline constexpr std::uint32_t kHclSignature = 0x414c4348;  // bytes "HCLA"
inline constexpr std::size_t kHclHeaderSize = 0x20;
inline constexpr std::size_t kHardwareReportOffset = 0x20;
inline constexpr std::size_t kHardwareReportSize = 1184;  // the size of an SNP report
inline constexpr std::size_t kRequestDataOffset = 0x4c0;
inline constexpr std::size_t kRequestDataFixedSize = 20;  // the five u32 fields at 0x4C0
inline constexpr std::size_t kClaimsOffset = 0x4d4;       // without a capability bitmap
inline constexpr std::size_t kCapabilityBitmapSize = 4;
// From this request-data version on a capability bitmap precedes the claims.
inline constexpr std::uint32_t kFirstRequestVersionWithBitmap = 2;

static_assert(kHardwareReportOffset + kHardwareReportSize == kRequestDataOffset);
static_assert(kRequestDataOffset + kRequestDataFixedSize == kClaimsOffset);
static_assert(kHardwareReportSize == snp::kReportSize);

// IGVM_ATTEST report_type at 0x4C8.
enum class HclReportType : std::uint32_t {
  invalid = 0,
  vbs = 1,
  snp = 2,
  tvm = 3,  // Trusted Launch VM, no hardware isolation
  tdx = 4,
  cca = 5,
};

// IGVM_ATTEST report_data_hash_type at 0x4CC: how the claims hash is made.
enum class HclHashType : std::uint32_t {
  invalid = 0,
  sha256 = 1,
  sha384 = 2,
  sha512 = 3,
};

[[nodiscard]] std::string_view hcl_report_type_name(std::uint32_t value);
[[nodiscard]] std::string_view hcl_hash_type_name(std::uint32_t value);

// Something odd about a report that parsed: it does not stop verification,
// because the signed hardware report and the claims hash decide, but a
// person looking at the report should see it.
struct HclNote {
  std::string field;
  std::size_t offset = 0;
  std::string detail;
};

// The fields every HCL report has, whatever its hardware report.
struct HclEnvelope {
  std::uint32_t header_version = 0;
  std::uint32_t report_size = 0;  // as stored; checked only for consistency
  std::uint32_t request_type = 0;
  std::uint32_t status = 0;
  std::array<std::uint8_t, kHardwareReportSize> hardware_report{};

  std::uint32_t data_size = 0;  // as stored; checked only for consistency
  std::uint32_t request_data_version = 0;
  HclReportType report_type = HclReportType::invalid;  // can be a value outside the enum
  HclHashType hash_type = HclHashType::invalid;        // can be a value outside the enum
  std::optional<std::uint32_t> capability_bitmap;      // request-data version 2 and later
  std::uint32_t variable_data_size = 0;
  std::size_t claims_offset = kClaimsOffset;
  Bytes claims;  // the runtime claims exactly as stored; hash these, never re-serialise
  std::size_t tail_size = 0;  // bytes after the claims (the zero padding of the NV area)
  std::vector<HclNote> notes;
};

// An HCL report whose hardware report is an SNP report.
struct HclReport : HclEnvelope {
  snp::Report snp;
};

// Parses the layout of any HCL report without interpreting report_type,
// hash_type or the hardware report, for callers that display TDX or other
// reports the verifier does not handle.
//
// Errors (Errc::invalid_data, naming the field and offset): a blob shorter
// than a field needs (so anything shorter than 0x4D4 bytes), a signature
// other than "HCLA", a zero variable_data_size or one larger than the bytes
// present. Header versions other than 1 and 2 are Errc::unsupported.
//
// Inconsistent report_size or data_size, a non-zero status or reserved
// field, and non-zero bytes after the claims become notes, not errors: the
// claims binding check covers the bytes that matter, and the padding is
// outside everything that is signed or hashed.
[[nodiscard]] Result<HclEnvelope> parse_hcl_envelope(ByteView data);

// Parses an HCL report with an SNP hardware report and a SHA-256 claims hash.
//
// Besides parse_hcl_envelope's errors, report type 0 and unknown report or
// hash types are Errc::invalid_data. The VBS, Trusted Launch, TDX and CCA
// report types and SHA-384 or SHA-512 claims hashes are Errc::unsupported,
// and the message names the type. An SNP report that does not parse fails
// with the snp parser's error, its offset moved to the blob's.
[[nodiscard]] Result<HclReport> parse_hcl_report(ByteView data);

// Checks SHA-256(claims) == report_data[0..32] and report_data[32..64] == 0.
// Fails with Errc::verification_failed naming both hashes.
[[nodiscard]] Result<void> verify_claims_binding(ByteView claims,
                                                 std::span<const std::uint8_t, 64> report_data);

// The binding check for a parsed report: its claims against its SNP REPORT_DATA.
[[nodiscard]] Result<void> verify_claims_binding(const HclReport& report);

}  // namespace cvm::report
