// The SEV-SNP ATTESTATION_REPORT: layout, parsing and the typed value.
//
// Layout: AMD SEV-SNP Firmware ABI Specification (publication 56860), table
// "ATTESTATION_REPORT Structure"; offsets agree with google/go-sev-guest
// abi/abi.go and virtee/sev src/firmware/guest/types/snp.rs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::snp {

inline constexpr std::size_t kReportSize = 0x4a0;        // 1184 bytes
inline constexpr std::size_t kSignedSize = 0x2a0;        // bytes 0x000-0x29F are signed
inline constexpr std::size_t kSignatureOffset = 0x2a0;
inline constexpr std::size_t kSignatureComponentSize = 72;  // R and S, little-endian, zero-extended
inline constexpr std::size_t kP384ComponentSize = 48;
inline constexpr std::size_t kUnsignedTailOffset = 0x330;  // after R and S, never signed
inline constexpr std::uint32_t kMinVersion = 2;
inline constexpr std::uint32_t kNewestKnownVersion = 5;
inline constexpr std::uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

static_assert(kSignatureOffset + 2 * kSignatureComponentSize == kUnsignedTailOffset);

// Signing key named by KEY_INFO bits 4:2.
enum class SigningKey { vcek, vlek, none, reserved };

// A non-zero reserved range inside the signed area. It does not stop
// verification (the bytes are covered by the signature) but is reported.
struct Finding {
  std::string field;
  std::size_t offset = 0;
  std::string detail;
};

struct Report {
  std::array<std::uint8_t, kReportSize> raw{};

  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  std::uint32_t key_info = 0;
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 32> host_data{};
  std::array<std::uint8_t, 48> id_key_digest{};
  std::array<std::uint8_t, 48> author_key_digest{};
  std::array<std::uint8_t, 32> report_id{};
  std::array<std::uint8_t, 32> report_id_ma{};
  std::uint64_t reported_tcb = 0;
  std::optional<std::uint8_t> cpuid_fam_id;  // version 3 and later
  std::optional<std::uint8_t> cpuid_mod_id;
  std::optional<std::uint8_t> cpuid_step;
  std::array<std::uint8_t, 64> chip_id{};
  std::uint64_t committed_tcb = 0;
  std::uint8_t current_build = 0;
  std::uint8_t current_minor = 0;
  std::uint8_t current_major = 0;
  std::uint8_t committed_build = 0;
  std::uint8_t committed_minor = 0;
  std::uint8_t committed_major = 0;
  std::uint64_t launch_tcb = 0;
  std::optional<std::uint64_t> launch_mit_vector;  // version 5 and later
  std::optional<std::uint64_t> current_mit_vector;
  std::array<std::uint8_t, kSignatureComponentSize> signature_r{};
  std::array<std::uint8_t, kSignatureComponentSize> signature_s{};

  // Set for versions above the newest known one: parsed with the newest
  // layout, so bytes that are reserved there may carry fields this agent
  // cannot name. They are still covered by the signature check.
  bool has_unknown_fields = false;
  std::vector<Finding> findings;

  [[nodiscard]] ByteView signed_bytes() const { return ByteView(raw).first(kSignedSize); }
  [[nodiscard]] SigningKey signing_key() const;
  [[nodiscard]] bool author_key_enabled() const { return (key_info & 1u) != 0; }
  [[nodiscard]] bool mask_chip_key() const { return (key_info & 2u) != 0; }
  [[nodiscard]] bool debug_allowed() const { return (policy >> 19) & 1u; }
  [[nodiscard]] bool migrate_ma_allowed() const { return (policy >> 18) & 1u; }
  [[nodiscard]] bool smt_allowed() const { return (policy >> 16) & 1u; }
};

// Parses a report of exactly kReportSize bytes. Sizes other than 1184,
// versions below 2 and non-zero bytes in the unsigned area after the
// signature are errors naming the field and offset.
[[nodiscard]] Result<Report> parse_report(ByteView data);

// Names of the POLICY bits that are set, for display.
[[nodiscard]] std::vector<std::string> policy_flags(std::uint64_t policy);
[[nodiscard]] std::vector<std::string> platform_info_flags(std::uint64_t platform_info);
[[nodiscard]] std::string_view signing_key_name(SigningKey key);

}  // namespace cvm::snp
