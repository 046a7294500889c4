// HCL report parsing and the claims binding, on the real reports and on
// reports built here for the cases no fixture covers.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "common/openssl.hpp"
#include "report/hcl.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::report {
namespace {

using cvm::testing::read_fixture;

constexpr std::size_t kReportTypeOffset = 0x4c8;
constexpr std::size_t kHashTypeOffset = 0x4cc;
constexpr std::size_t kVariableDataSizeOffset = 0x4d0;

void put_u32(Bytes& blob, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    blob[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

struct HclOptions {
  std::uint32_t header_version = 2;
  std::uint32_t request_data_version = 1;
  std::uint32_t report_type = 2;
  std::uint32_t hash_type = 1;
  std::uint32_t capability_bitmap = 0x5;  // written for request-data version 2 and later
  std::size_t padding = 100;
};

// Builds an HCL report around a forged SNP report whose REPORT_DATA binds `claims`.
Bytes build_hcl(const std::string& claims, const HclOptions& options = {}) {
  testing::ReportFields fields;
  Bytes digest = ossl::sha256(as_bytes(claims));
  std::copy(digest.begin(), digest.end(), fields.report_data.begin());
  Bytes snp = testing::encode_report(fields);

  bool bitmap = options.request_data_version >= 2;
  std::size_t claims_offset = kClaimsOffset + (bitmap ? 4 : 0);
  Bytes blob(claims_offset + claims.size() + options.padding, 0);
  std::memcpy(blob.data(), "HCLA", 4);
  std::size_t data_size = 20 + (bitmap ? 4 : 0) + claims.size();
  put_u32(blob, 4, options.header_version);
  put_u32(blob, 8, static_cast<std::uint32_t>(0x4c0 + data_size));
  put_u32(blob, 0xc, 2);
  std::copy(snp.begin(), snp.end(), blob.begin() + 0x20);
  put_u32(blob, 0x4c0, static_cast<std::uint32_t>(data_size));
  put_u32(blob, 0x4c4, options.request_data_version);
  put_u32(blob, kReportTypeOffset, options.report_type);
  put_u32(blob, kHashTypeOffset, options.hash_type);
  put_u32(blob, kVariableDataSizeOffset, static_cast<std::uint32_t>(claims.size()));
  if (bitmap) {
    put_u32(blob, kClaimsOffset, options.capability_bitmap);
  }
  std::memcpy(blob.data() + claims_offset, claims.data(), claims.size());
  return blob;
}

const std::string kClaims = R"({"keys":[],"vm-configuration":{"secure-boot":true},"user-data":"00"})";

void expect_field_error(const Result<HclReport>& result, Errc code, const std::string& field,
                        std::size_t offset) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code) << result.error().to_string();
  ASSERT_TRUE(result.error().field.has_value()) << result.error().to_string();
  EXPECT_EQ(*result.error().field, field) << result.error().to_string();
  ASSERT_TRUE(result.error().offset.has_value()) << result.error().to_string();
  EXPECT_EQ(*result.error().offset, offset) << result.error().to_string();
}

TEST(HclFixture, SnpReportsParseAndBind) {
  CVM_REQUIRE_FIXTURES();
  struct Case {
    const char* path;
    std::uint32_t header_version;
    std::uint32_t snp_version;
    std::size_t claims_size;
  };
  const Case cases[] = {
      {"azure-cvm-tooling/hcl-report-snp.bin", 1, 2, 583},
      {"trustee/az-snp-vtpm-evidence-v2.hcl_report.bin", 1, 3, 1110},
      {"trustee/az-snp-vtpm-hcl-report.bin", 1, 2, 1110},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    Bytes blob = read_fixture(c.path);
    auto report = parse_hcl_report(blob);
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    EXPECT_EQ(report->header_version, c.header_version);
    EXPECT_EQ(report->request_type, 2u);
    EXPECT_EQ(report->report_type, HclReportType::snp);
    EXPECT_EQ(report->hash_type, HclHashType::sha256);
    EXPECT_EQ(report->request_data_version, 1u);
    EXPECT_FALSE(report->capability_bitmap.has_value());
    EXPECT_EQ(report->snp.version, c.snp_version);
    EXPECT_EQ(report->claims.size(), c.claims_size);
    EXPECT_EQ(report->claims_offset, kClaimsOffset);
    EXPECT_EQ(report->claims_offset + report->claims.size() + report->tail_size, blob.size());
    EXPECT_TRUE(report->notes.empty()) << report->notes.front().field << " " << report->notes.front().detail;
    EXPECT_EQ(report->claims.front(), '{');
    auto bound = verify_claims_binding(*report);
    EXPECT_TRUE(bound.has_value()) << bound.error().to_string();
  }
}

TEST(HclFixture, ClaimsHashesMatchPublishedValues) {
  CVM_REQUIRE_FIXTURES();
  auto evidence = parse_hcl_report(read_fixture("trustee/az-snp-vtpm-evidence-v2.hcl_report.bin"));
  ASSERT_TRUE(evidence.has_value()) << evidence.error().to_string();
  EXPECT_EQ(hex_encode(ossl::sha256(evidence->claims)),
            "cf7cc0731c50f64876804b3943b2bfbd93dba69f5928e3df223e78ff34dd46ee");
  EXPECT_EQ(hex_encode(ByteView(evidence->snp.report_data).first(32)),
            "cf7cc0731c50f64876804b3943b2bfbd93dba69f5928e3df223e78ff34dd46ee");

  auto tooling = parse_hcl_report(read_fixture("azure-cvm-tooling/hcl-report-snp.bin"));
  ASSERT_TRUE(tooling.has_value()) << tooling.error().to_string();
  EXPECT_EQ(hex_encode(ossl::sha256(tooling->claims)),
            "1d0a466a9eed975e88f889f7aed4abc1c97e87c4f43e5e3478c9a4a5853cbd7d");
}

TEST(HclFixture, TdxReportsAreUnsupported) {
  CVM_REQUIRE_FIXTURES();
  for (const char* path : {"azure-cvm-tooling/hcl-report-tdx.bin",
                           "cvm-attestation-tools/hcl_report_tdx_from_snp_hcl_report_bin.bin"}) {
    SCOPED_TRACE(path);
    Bytes blob = read_fixture(path);
    auto report = parse_hcl_report(blob);
    expect_field_error(report, Errc::unsupported, "report_type", kReportTypeOffset);
    EXPECT_NE(report.error().message.find("TDX"), std::string::npos) << report.error().message;

    // The layout still parses, and the TDREPORT's reportdata (at 128 in
    // the TDREPORT) binds the claims just as SNP REPORT_DATA does.
    auto envelope = parse_hcl_envelope(blob);
    ASSERT_TRUE(envelope.has_value()) << envelope.error().to_string();
    EXPECT_EQ(envelope->header_version, 2u);
    EXPECT_EQ(envelope->report_type, HclReportType::tdx);
    EXPECT_TRUE(envelope->notes.empty());
    auto report_data = std::span<const std::uint8_t, 64>(envelope->hardware_report.data() + 128, 64);
    auto bound = verify_claims_binding(envelope->claims, report_data);
    EXPECT_TRUE(bound.has_value()) << bound.error().to_string();
  }
}

TEST(HclFixture, CutReportIsRejected) {
  CVM_REQUIRE_FIXTURES();
  Bytes blob = read_fixture("trustee/az-snp-vtpm-hcl-report.bin");
  struct Case {
    std::size_t length;
    const char* field;
    std::size_t offset;
  };
  const Case cases[] = {
      {0x20, "hardware_report", 0x20},
      {0x4c0, "data_size", 0x4c0},
      {0x4d4, "runtime_claims", 0x4d4},
      {0x4d4 + 555, "runtime_claims", 0x4d4},
      {0x4d4 + 1109, "runtime_claims", 0x4d4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.length);
    expect_field_error(parse_hcl_report(ByteView(blob).first(c.length)), Errc::invalid_data, c.field, c.offset);
  }
  // Cut right after the claims: no padding is left, and that is fine.
  auto exact = parse_hcl_report(ByteView(blob).first(0x4d4 + 1110));
  ASSERT_TRUE(exact.has_value()) << exact.error().to_string();
  EXPECT_EQ(exact->tail_size, 0u);
  EXPECT_TRUE(verify_claims_binding(*exact).has_value());
}

TEST(HclParse, BuiltReportBinds) {
  Bytes blob = build_hcl(kClaims);
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  EXPECT_EQ(as_text(report->claims), kClaims);
  EXPECT_EQ(report->tail_size, 100u);
  EXPECT_TRUE(report->notes.empty());
  EXPECT_TRUE(verify_claims_binding(*report).has_value());
}

TEST(HclParse, CutAtEveryBoundary) {
  Bytes blob = build_hcl(kClaims, {.padding = 0});
  struct Case {
    std::size_t length;
    const char* field;
    std::size_t offset;
  };
  const Case cases[] = {
      {0, "signature", 0},
      {0x10, "status", 0x10},
      {0x20, "hardware_report", 0x20},
      {0x100, "hardware_report", 0x20},
      {0x4c0, "data_size", 0x4c0},
      {0x4c6, "request_data_version", 0x4c4},
      {0x4d0, "variable_data_size", 0x4d0},
      {0x4d4, "runtime_claims", 0x4d4},
      {0x4d4 + kClaims.size() / 2, "runtime_claims", 0x4d4},
      {0x4d4 + kClaims.size() - 1, "runtime_claims", 0x4d4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.length);
    expect_field_error(parse_hcl_report(ByteView(blob).first(c.length)), Errc::invalid_data, c.field,
                       c.offset);
  }
}

TEST(HclParse, EveryPrefixIsRejected) {
  Bytes blob = build_hcl(kClaims, {.padding = 0});
  for (std::size_t length = 0; length < blob.size(); ++length) {
    auto report = parse_hcl_report(ByteView(blob).first(length));
    ASSERT_FALSE(report.has_value()) << "prefix of " << length << " bytes parsed";
    EXPECT_EQ(report.error().code, Errc::invalid_data);
  }
  EXPECT_TRUE(parse_hcl_report(blob).has_value());
}

TEST(HclParse, ClaimsSizePastEnd) {
  Bytes blob = build_hcl(kClaims, {.padding = 3});
  put_u32(blob, kVariableDataSizeOffset, static_cast<std::uint32_t>(kClaims.size() + 4));
  expect_field_error(parse_hcl_report(blob), Errc::invalid_data, "runtime_claims", kClaimsOffset);
  put_u32(blob, kVariableDataSizeOffset, 0xffffffffu);
  expect_field_error(parse_hcl_report(blob), Errc::invalid_data, "runtime_claims", kClaimsOffset);
}

TEST(HclParse, ZeroClaimsSize) {
  Bytes blob = build_hcl(kClaims);
  put_u32(blob, kVariableDataSizeOffset, 0);
  expect_field_error(parse_hcl_report(blob), Errc::invalid_data, "variable_data_size",
                     kVariableDataSizeOffset);
}

TEST(HclParse, BadSignature) {
  Bytes blob = build_hcl(kClaims);
  blob[3] = 'B';
  expect_field_error(parse_hcl_report(blob), Errc::invalid_data, "signature", 0);
}

TEST(HclParse, UnknownHeaderVersion) {
  expect_field_error(parse_hcl_report(build_hcl(kClaims, {.header_version = 3})), Errc::unsupported,
                     "header_version", 4);
  EXPECT_TRUE(parse_hcl_report(build_hcl(kClaims, {.header_version = 1})).has_value());
}

TEST(HclParse, ReportTypes) {
  struct Case {
    std::uint32_t type;
    Errc code;
    const char* name;
  };
  const Case cases[] = {
      {0, Errc::invalid_data, "invalid"},   {1, Errc::unsupported, "VBS"},
      {3, Errc::unsupported, "Trusted Launch"}, {4, Errc::unsupported, "TDX"},
      {5, Errc::unsupported, "CCA"},        {6, Errc::invalid_data, "6"},
      {0xffffffffu, Errc::invalid_data, "4294967295"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    auto report = parse_hcl_report(build_hcl(kClaims, {.report_type = c.type}));
    expect_field_error(report, c.code, "report_type", kReportTypeOffset);
    EXPECT_NE(report.error().message.find(c.name), std::string::npos) << report.error().message;
  }
}

TEST(HclParse, HashTypes) {
  struct Case {
    std::uint32_t type;
    Errc code;
  };
  const Case cases[] = {{0, Errc::invalid_data}, {2, Errc::unsupported}, {3, Errc::unsupported},
                        {4, Errc::invalid_data}, {0x100, Errc::invalid_data}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    expect_field_error(parse_hcl_report(build_hcl(kClaims, {.hash_type = c.type})), c.code,
                       "report_data_hash_type", kHashTypeOffset);
  }
}

TEST(HclParse, CapabilityBitmapIsSkipped) {
  Bytes blob = build_hcl(kClaims, {.request_data_version = 2, .capability_bitmap = 0xa5});
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  ASSERT_TRUE(report->capability_bitmap.has_value());
  EXPECT_EQ(*report->capability_bitmap, 0xa5u);
  EXPECT_EQ(report->claims_offset, kClaimsOffset + 4);
  EXPECT_EQ(as_text(report->claims), kClaims);
  EXPECT_TRUE(report->notes.empty());
  EXPECT_TRUE(verify_claims_binding(*report).has_value());

  // Cut inside the bitmap.
  expect_field_error(parse_hcl_report(ByteView(blob).first(kClaimsOffset + 2)), Errc::invalid_data,
                     "capability_bitmap", kClaimsOffset);
}

TEST(HclParse, InconsistentSizesAreNotes) {
  Bytes blob = build_hcl(kClaims);
  put_u32(blob, 8, 12345);
  put_u32(blob, 0x4c0, 99);
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  ASSERT_EQ(report->notes.size(), 2u);
  EXPECT_EQ(report->notes[0].field, "data_size");
  EXPECT_EQ(report->notes[0].offset, 0x4c0u);
  EXPECT_EQ(report->notes[1].field, "report_size");
  EXPECT_EQ(report->notes[1].offset, 8u);
  EXPECT_EQ(report->report_size, 12345u);
  EXPECT_EQ(as_text(report->claims), kClaims);
}

TEST(HclParse, NonZeroPaddingIsNote) {
  Bytes blob = build_hcl(kClaims, {.padding = 16});
  std::size_t tail = kClaimsOffset + kClaims.size();
  blob[tail + 5] = 0x7f;
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  ASSERT_EQ(report->notes.size(), 1u);
  EXPECT_EQ(report->notes[0].field, "padding");
  EXPECT_EQ(report->notes[0].offset, tail);
  EXPECT_TRUE(verify_claims_binding(*report).has_value());
}

TEST(HclParse, StatusAndReservedAreNotes) {
  Bytes blob = build_hcl(kClaims);
  put_u32(blob, 0x10, 7);
  blob[0x1f] = 1;
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  ASSERT_EQ(report->notes.size(), 2u);
  EXPECT_EQ(report->notes[0].field, "status");
  EXPECT_EQ(report->notes[1].field, "reserved");
  EXPECT_EQ(report->status, 7u);
}

TEST(HclParse, SnpErrorOffsetIsInBlob) {
  Bytes blob = build_hcl(kClaims);
  put_u32(blob, 0x20, 1);  // SNP report version 1
  auto report = parse_hcl_report(blob);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, Errc::unsupported) << report.error().to_string();
  ASSERT_TRUE(report.error().offset.has_value()) << report.error().to_string();
  EXPECT_EQ(*report.error().offset, 0x20u);
}

TEST(HclBinding, FlippedClaimsByteFails) {
  Bytes blob = build_hcl(kClaims);
  blob[kClaimsOffset + 3] ^= 0x01;
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  auto bound = verify_claims_binding(*report);
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, Errc::verification_failed);
}

TEST(HclBinding, UpperReportDataMustBeZero) {
  Bytes blob = build_hcl(kClaims);
  blob[0x20 + 0x50 + 40] = 1;  // REPORT_DATA starts at 0x50 in the SNP report
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  auto bound = verify_claims_binding(*report);
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, Errc::verification_failed);
}

TEST(HclBinding, ClaimsMustBeHashedAsStored) {
  // The same JSON with other whitespace is another byte string and must not bind.
  Bytes blob = build_hcl(kClaims);
  auto report = parse_hcl_report(blob);
  ASSERT_TRUE(report.has_value());
  std::string respaced = R"({ "keys":[],"vm-configuration":{"secure-boot":true},"user-data":"00"})";
  auto bound = verify_claims_binding(as_bytes(respaced), std::span<const std::uint8_t, 64>(report->snp.report_data));
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, Errc::verification_failed);
}

}  // namespace
}  // namespace cvm::report
