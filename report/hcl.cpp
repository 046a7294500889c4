#include "report/hcl.hpp"

#include <algorithm>
#include <cstdio>

#include "common/openssl.hpp"

namespace cvm::report {
namespace {

constexpr std::size_t kReservedOffset = 0x14;
constexpr std::size_t kReservedSize = 12;

std::string hex_offset(std::size_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", value);
  return buffer;
}

Error field_error(Errc code, std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = code, .message = std::move(message)}).at(std::move(field), offset);
}

// Adds a note when a stored length disagrees with the one the layout implies.
void check_stored_size(HclEnvelope& report, std::string field, std::size_t offset,
                       std::uint32_t stored, std::size_t expected) {
  if (stored != expected) {
    report.notes.push_back(HclNote{
        .field = std::move(field),
        .offset = offset,
        .detail = "is " + std::to_string(stored) + ", but the layout implies " +
                  std::to_string(expected) + "; the claims size at 0x4D0 is used instead"});
  }
}

Result<void> parse_header(ByteReader& reader, HclEnvelope& report) {
  std::uint32_t signature = CVM_TRY(reader.u32le("signature"));
  if (signature != kHclSignature) {
    return fail(field_error(Errc::invalid_data,
                            "not an HCL report: the signature is not \"HCLA\"", "signature", 0)
                    .with_hint("pass the dump of vTPM NV index 0x01400001"));
  }
  report.header_version = CVM_TRY(reader.u32le("header_version"));
  if (report.header_version != 1 && report.header_version != 2) {
    return fail(field_error(Errc::unsupported,
                            "unsupported HCL report header version " +
                                std::to_string(report.header_version) + " (known: 1 and 2)",
                            "header_version", 4));
  }
  report.report_size = CVM_TRY(reader.u32le("report_size"));
  report.request_type = CVM_TRY(reader.u32le("request_type"));
  report.status = CVM_TRY(reader.u32le("status"));
  if (report.status != 0) {
    report.notes.push_back(HclNote{.field = "status",
                                   .offset = 0x10,
                                   .detail = "is " + std::to_string(report.status) + ", not 0"});
  }
  ByteView reserved = CVM_TRY(reader.bytes(kReservedSize, "reserved"));
  if (!all_zero(reserved)) {
    report.notes.push_back(
        HclNote{.field = "reserved", .offset = kReservedOffset, .detail = "is not zero"});
  }
  return {};
}

Result<void> parse_request_data(ByteReader& reader, HclEnvelope& report) {
  report.data_size = CVM_TRY(reader.u32le("data_size"));
  report.request_data_version = CVM_TRY(reader.u32le("request_data_version"));
  report.report_type = static_cast<HclReportType>(CVM_TRY(reader.u32le("report_type")));
  report.hash_type = static_cast<HclHashType>(CVM_TRY(reader.u32le("report_data_hash_type")));
  report.variable_data_size = CVM_TRY(reader.u32le("variable_data_size"));
  if (report.request_data_version >= kFirstRequestVersionWithBitmap) {
    report.capability_bitmap = CVM_TRY(reader.u32le("capability_bitmap"));
  }
  report.claims_offset = reader.offset();

  if (report.variable_data_size == 0) {
    return fail(field_error(Errc::invalid_data, "the HCL report carries no runtime claims",
                            "variable_data_size", kRequestDataOffset + 16));
  }
  if (report.variable_data_size > reader.remaining()) {
    return fail(field_error(Errc::invalid_data,
                            "runtime claims truncated: variable_data_size is " +
                                std::to_string(report.variable_data_size) + " but only " +
                                std::to_string(reader.remaining()) + " bytes follow at " +
                                hex_offset(report.claims_offset),
                            "runtime_claims", report.claims_offset)
                    .with_hint("read the whole NV index; its size is reported by NV_ReadPublic"));
  }
  ByteView claims = CVM_TRY(reader.bytes(report.variable_data_size, "runtime_claims"));
  report.claims.assign(claims.begin(), claims.end());
  return {};
}

void check_consistency(ByteReader& reader, HclEnvelope& report) {
  std::size_t bitmap_size = report.capability_bitmap ? kCapabilityBitmapSize : 0;
  std::size_t expected_data_size = kRequestDataFixedSize + bitmap_size + report.variable_data_size;
  check_stored_size(report, "data_size", kRequestDataOffset, report.data_size, expected_data_size);
  check_stored_size(report, "report_size", 8, report.report_size,
                    kRequestDataOffset + expected_data_size);

  std::size_t tail_offset = reader.offset();
  report.tail_size = reader.remaining();
  // Reading exactly the bytes that remain cannot fail.
  ByteView tail = reader.bytes(reader.remaining(), "padding").value_or(ByteView{});
  if (!all_zero(tail)) {
    auto first = std::find_if(tail.begin(), tail.end(), [](std::uint8_t b) { return b != 0; });
    std::size_t first_offset = tail_offset + static_cast<std::size_t>(first - tail.begin());
    report.notes.push_back(HclNote{
        .field = "padding",
        .offset = tail_offset,
        .detail = "the bytes after the claims are not zero (first non-zero byte at " +
                  hex_offset(first_offset) + ")"});
  }
}

}  // namespace

std::string_view hcl_report_type_name(std::uint32_t value) {
  switch (static_cast<HclReportType>(value)) {
    case HclReportType::invalid: return "invalid";
    case HclReportType::vbs: return "VBS";
    case HclReportType::snp: return "SEV-SNP";
    case HclReportType::tvm: return "Trusted Launch (TVM)";
    case HclReportType::tdx: return "TDX";
    case HclReportType::cca: return "CCA";
  }
  return "unknown";
}

std::string_view hcl_hash_type_name(std::uint32_t value) {
  switch (static_cast<HclHashType>(value)) {
    case HclHashType::invalid: return "invalid";
    case HclHashType::sha256: return "SHA-256";
    case HclHashType::sha384: return "SHA-384";
    case HclHashType::sha512: return "SHA-512";
  }
  return "unknown";
}

Result<HclEnvelope> parse_hcl_envelope(ByteView data) {
  HclEnvelope report;
  ByteReader reader(data);
  CVM_TRY(parse_header(reader, report));
  report.hardware_report =
      CVM_TRY(reader.array<kHardwareReportSize>("hardware_report"));
  CVM_TRY(parse_request_data(reader, report));
  check_consistency(reader, report);
  return report;
}

Result<HclReport> parse_hcl_report(ByteView data) {
  HclEnvelope envelope = CVM_TRY(parse_hcl_envelope(data));
  auto type = static_cast<std::uint32_t>(envelope.report_type);
  switch (envelope.report_type) {
    case HclReportType::snp:
      break;
    case HclReportType::vbs:
    case HclReportType::tvm:
    case HclReportType::tdx:
    case HclReportType::cca:
      return fail(field_error(Errc::unsupported,
                              "unsupported HCL report type " + std::to_string(type) + " (" +
                                  std::string(hcl_report_type_name(type)) +
                                  "): only SEV-SNP reports are verified",
                              "report_type", kRequestDataOffset + 8));
    default:
      return fail(field_error(Errc::invalid_data,
                              "invalid HCL report type " + std::to_string(type) +
                                  " (known: 1 VBS, 2 SEV-SNP, 3 Trusted Launch, 4 TDX, 5 CCA)",
                              "report_type", kRequestDataOffset + 8));
  }

  auto hash = static_cast<std::uint32_t>(envelope.hash_type);
  switch (envelope.hash_type) {
    case HclHashType::sha256:
      break;
    case HclHashType::sha384:
    case HclHashType::sha512:
      return fail(field_error(Errc::unsupported,
                              "unsupported claims hash type " + std::to_string(hash) + " (" +
                                  std::string(hcl_hash_type_name(hash)) +
                                  "): only SHA-256 is handled",
                              "report_data_hash_type", kRequestDataOffset + 12));
    default:
      return fail(field_error(Errc::invalid_data,
                              "invalid claims hash type " + std::to_string(hash) +
                                  " (known: 1 SHA-256, 2 SHA-384, 3 SHA-512)",
                              "report_data_hash_type", kRequestDataOffset + 12));
  }

  auto snp = snp::parse_report(envelope.hardware_report);
  if (!snp) {
    Error error = std::move(snp).error();
    if (error.offset) {
      *error.offset += kHardwareReportOffset;
    }
    return std::unexpected(std::move(error).prefixed("SNP report in the HCL report"));
  }
  HclReport report;
  static_cast<HclEnvelope&>(report) = std::move(envelope);
  report.snp = std::move(*snp);
  return report;
}

Result<void> verify_claims_binding(ByteView claims, std::span<const std::uint8_t, 64> report_data) {
  Bytes digest = ossl::sha256(claims);
  ByteView bound = report_data.first(32);
  if (!std::equal(digest.begin(), digest.end(), bound.begin(), bound.end())) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "the runtime claims are not bound to the report: SHA-256(claims) is " +
                                 hex_encode(digest) + " but REPORT_DATA[0..32] is " +
                                 hex_encode(bound)});
  }
  if (!all_zero(report_data.subspan(32))) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "REPORT_DATA[32..64] is not zero (" +
                                 hex_encode(report_data.subspan(32)) +
                                 "), so it does not have the layout of a claims hash"});
  }
  return {};
}

Result<void> verify_claims_binding(const HclReport& report) {
  return verify_claims_binding(report.claims, std::span<const std::uint8_t, 64>(report.snp.report_data));
}

}  // namespace cvm::report
