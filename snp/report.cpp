#include "snp/report.hpp"

#include <cstdio>

namespace cvm::snp {
namespace {

// Offsets of fields whose placement depends on the report version.
constexpr std::size_t kCpuidOffset = 0x188;
constexpr std::size_t kV2ReservedAfterTcbSize = 24;  // 0x188-0x19F in version 2
constexpr std::size_t kV3ReservedAfterCpuidSize = 21;  // 0x18B-0x19F from version 3
constexpr std::size_t kMitVectorOffset = 0x1f8;
constexpr std::size_t kV3ReservedTailSize = 168;  // 0x1F8-0x29F before version 5
constexpr std::size_t kV5ReservedTailSize = 152;  // 0x208-0x29F from version 5
static_assert(kCpuidOffset + kV2ReservedAfterTcbSize == 0x1a0);
static_assert(kCpuidOffset + 3 + kV3ReservedAfterCpuidSize == 0x1a0);
static_assert(kMitVectorOffset + kV3ReservedTailSize == kSignedSize);
static_assert(kMitVectorOffset + 16 + kV5ReservedTailSize == kSignedSize);

// Bits of POLICY that are defined (0-25); the rest must be zero.
constexpr std::uint64_t kPolicyDefinedBits = (1ULL << 26) - 1;
constexpr std::uint64_t kPolicyReservedOneBit = 1ULL << 17;
// KEY_INFO bits 31:5 must be zero.
constexpr std::uint32_t kKeyInfoDefinedBits = 0x1f;

std::string hex_offset(std::size_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%03zx", value);
  return buffer;
}

// Reads a reserved range and records a finding when it is not all zero.
Result<void> reserved(ByteReader& reader, std::size_t size, std::string field, Report& report) {
  std::size_t offset = reader.offset();
  ByteView bytes = CVM_TRY(reader.bytes(size, field));
  if (!all_zero(bytes)) {
    report.findings.push_back(Finding{
        .field = std::move(field),
        .offset = offset,
        .detail = "reserved bytes " + hex_offset(offset) + "-" + hex_offset(offset + size - 1) +
                  " are not zero: " + hex_encode(bytes)});
  }
  return {};
}

Result<void> read_signed_area(ByteReader& reader, Report& report) {
  report.version = CVM_TRY(reader.u32le("version"));
  report.guest_svn = CVM_TRY(reader.u32le("guest_svn"));
  report.policy = CVM_TRY(reader.u64le("policy"));
  report.family_id = CVM_TRY(reader.array<16>("family_id"));
  report.image_id = CVM_TRY(reader.array<16>("image_id"));
  report.vmpl = CVM_TRY(reader.u32le("vmpl"));
  report.signature_algo = CVM_TRY(reader.u32le("signature_algo"));
  report.current_tcb = CVM_TRY(reader.u64le("current_tcb"));
  report.platform_info = CVM_TRY(reader.u64le("platform_info"));
  report.key_info = CVM_TRY(reader.u32le("key_info"));
  CVM_TRY(reserved(reader, 4, "reserved_0x04c", report));
  report.report_data = CVM_TRY(reader.array<64>("report_data"));
  report.measurement = CVM_TRY(reader.array<48>("measurement"));
  report.host_data = CVM_TRY(reader.array<32>("host_data"));
  report.id_key_digest = CVM_TRY(reader.array<48>("id_key_digest"));
  report.author_key_digest = CVM_TRY(reader.array<48>("author_key_digest"));
  report.report_id = CVM_TRY(reader.array<32>("report_id"));
  report.report_id_ma = CVM_TRY(reader.array<32>("report_id_ma"));
  report.reported_tcb = CVM_TRY(reader.u64le("reported_tcb"));

  if (report.version >= 3) {
    report.cpuid_fam_id = CVM_TRY(reader.u8("cpuid_fam_id"));
    report.cpuid_mod_id = CVM_TRY(reader.u8("cpuid_mod_id"));
    report.cpuid_step = CVM_TRY(reader.u8("cpuid_step"));
    CVM_TRY(reserved(reader, kV3ReservedAfterCpuidSize, "reserved_0x18b", report));
  } else {
    CVM_TRY(reserved(reader, kV2ReservedAfterTcbSize, "reserved_0x188", report));
  }

  report.chip_id = CVM_TRY(reader.array<64>("chip_id"));
  report.committed_tcb = CVM_TRY(reader.u64le("committed_tcb"));
  report.current_build = CVM_TRY(reader.u8("current_build"));
  report.current_minor = CVM_TRY(reader.u8("current_minor"));
  report.current_major = CVM_TRY(reader.u8("current_major"));
  CVM_TRY(reserved(reader, 1, "reserved_0x1eb", report));
  report.committed_build = CVM_TRY(reader.u8("committed_build"));
  report.committed_minor = CVM_TRY(reader.u8("committed_minor"));
  report.committed_major = CVM_TRY(reader.u8("committed_major"));
  CVM_TRY(reserved(reader, 1, "reserved_0x1ef", report));
  report.launch_tcb = CVM_TRY(reader.u64le("launch_tcb"));

  if (report.version >= 5) {
    report.launch_mit_vector = CVM_TRY(reader.u64le("launch_mit_vector"));
    report.current_mit_vector = CVM_TRY(reader.u64le("current_mit_vector"));
    CVM_TRY(reserved(reader, kV5ReservedTailSize, "reserved_0x208", report));
  } else {
    CVM_TRY(reserved(reader, kV3ReservedTailSize, "reserved_0x1f8", report));
  }
  return {};
}

void check_defined_bits(Report& report) {
  std::uint64_t undefined_policy = report.policy & ~kPolicyDefinedBits;
  if (undefined_policy != 0) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "POLICY has undefined bits set: 0x%016llx",
                  static_cast<unsigned long long>(undefined_policy));
    report.findings.push_back(Finding{.field = "policy", .offset = 0x008, .detail = buffer});
  }
  if ((report.policy & kPolicyReservedOneBit) == 0) {
    report.findings.push_back(Finding{
        .field = "policy", .offset = 0x008, .detail = "POLICY bit 17 is reserved and must be 1, but is 0"});
  }
  std::uint32_t undefined_key_info = report.key_info & ~kKeyInfoDefinedBits;
  if (undefined_key_info != 0) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "KEY_INFO bits 31:5 must be zero: 0x%08x", undefined_key_info);
    report.findings.push_back(Finding{.field = "key_info", .offset = 0x048, .detail = buffer});
  }
}

Error layout_error(std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = Errc::invalid_data, .message = std::move(message)}).at(std::move(field), offset);
}

}  // namespace

SigningKey Report::signing_key() const {
  switch ((key_info >> 2) & 7u) {
    case 0: return SigningKey::vcek;
    case 1: return SigningKey::vlek;
    case 7: return SigningKey::none;
    default: return SigningKey::reserved;
  }
}

Result<Report> parse_report(ByteView data) {
  if (data.size() != kReportSize) {
    return fail(layout_error("an SEV-SNP attestation report is exactly 1184 bytes, got " +
                                 std::to_string(data.size()),
                             "report", 0));
  }
  Report report;
  std::copy(data.begin(), data.end(), report.raw.begin());

  ByteReader reader(data);
  CVM_TRY(read_signed_area(reader, report));
  if (report.version < kMinVersion) {
    return fail(std::move(Error{.code = Errc::unsupported,
                                .message = "SEV-SNP report version " + std::to_string(report.version) +
                                           " is not supported (minimum is 2)"})
                    .at("version", 0));
  }
  report.has_unknown_fields = report.version > kNewestKnownVersion;
  check_defined_bits(report);

  report.signature_r = CVM_TRY(reader.array<kSignatureComponentSize>("signature_r"));
  report.signature_s = CVM_TRY(reader.array<kSignatureComponentSize>("signature_s"));
  // R and S are 48-byte P-384 values zero-extended to 72 bytes. The extension
  // and everything after S lie outside the signed area, so any non-zero byte
  // there is unauthenticated data and the report is rejected.
  ByteView r_high = ByteView(report.signature_r).subspan(kP384ComponentSize);
  ByteView s_high = ByteView(report.signature_s).subspan(kP384ComponentSize);
  if (!all_zero(r_high)) {
    return fail(layout_error("signature R has non-zero bytes beyond the 48 bytes of a P-384 value",
                             "signature_r", kSignatureOffset + kP384ComponentSize));
  }
  if (!all_zero(s_high)) {
    return fail(layout_error("signature S has non-zero bytes beyond the 48 bytes of a P-384 value",
                             "signature_s",
                             kSignatureOffset + kSignatureComponentSize + kP384ComponentSize));
  }
  std::size_t tail_offset = reader.offset();
  ByteView tail = CVM_TRY(reader.bytes(reader.remaining(), "reserved_0x330"));
  for (std::size_t i = 0; i < tail.size(); ++i) {
    if (tail[i] != 0) {
      return fail(layout_error("unsigned bytes after the signature must be zero, found 0x" +
                                   hex_encode(tail.subspan(i, 1)) + " at offset " +
                                   hex_offset(tail_offset + i),
                               "reserved_0x330", tail_offset + i));
    }
  }
  return report;
}

std::vector<std::string> policy_flags(std::uint64_t policy) {
  static constexpr std::pair<int, const char*> kBits[] = {
      {16, "smt"},          {17, "reserved_1"},      {18, "migrate_ma"},        {19, "debug"},
      {20, "single_socket"}, {21, "cxl_allow"},      {22, "mem_aes_256_xts"},   {23, "rapl_dis"},
      {24, "ciphertext_hiding"}, {25, "page_swap_disable"}};
  std::vector<std::string> out;
  for (auto [bit, name] : kBits) {
    if ((policy >> bit) & 1u) {
      out.emplace_back(name);
    }
  }
  return out;
}

std::vector<std::string> platform_info_flags(std::uint64_t platform_info) {
  static constexpr std::pair<int, const char*> kBits[] = {
      {0, "smt_en"}, {1, "tsme_en"}, {2, "ecc_en"}, {3, "rapl_dis"},
      {4, "ciphertext_hiding_en"}, {5, "alias_check_complete"}, {7, "tio_en"}};
  std::vector<std::string> out;
  for (auto [bit, name] : kBits) {
    if ((platform_info >> bit) & 1u) {
      out.emplace_back(name);
    }
  }
  return out;
}

std::string_view signing_key_name(SigningKey key) {
  switch (key) {
    case SigningKey::vcek: return "vcek";
    case SigningKey::vlek: return "vlek";
    case SigningKey::none: return "none";
    case SigningKey::reserved: return "reserved";
  }
  return "reserved";
}

}  // namespace cvm::snp
