// Parsing of SEV-SNP reports, TCB layouts, products and KDS URLs.
#include <gtest/gtest.h>

#include "snp/kds.hpp"
#include "snp/report.hpp"
#include "snp/tcb.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::snp {
namespace {

using cvm::testing::encode_report;
using cvm::testing::ReportFields;

Bytes report_of_version(std::uint32_t version) {
  ReportFields fields;
  fields.version = version;
  fields.launch_mit_vector = 0x1122;
  fields.current_mit_vector = 0x3344;
  return encode_report(fields);
}

bool has_finding_at(const Report& report, std::size_t offset) {
  for (const auto& finding : report.findings) {
    if (finding.offset == offset) {
      return true;
    }
  }
  return false;
}

TEST(ParseReport, Version2HasNoCpuidOrMitigationFields) {
  auto report = parse_report(report_of_version(2));
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  EXPECT_EQ(report->version, 2u);
  EXPECT_FALSE(report->cpuid_fam_id.has_value());
  EXPECT_FALSE(report->cpuid_mod_id.has_value());
  EXPECT_FALSE(report->cpuid_step.has_value());
  EXPECT_FALSE(report->launch_mit_vector.has_value());
  // Version 2 reserves 0x188-0x19F, so the forged CPUID bytes are absent there.
  EXPECT_TRUE(report->findings.empty());
}

TEST(ParseReport, Version3HasCpuid) {
  auto report = parse_report(report_of_version(3));
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->cpuid_fam_id, 0x19);
  EXPECT_EQ(report->cpuid_mod_id, 0x01);
  EXPECT_EQ(report->cpuid_step, 0x01);
  EXPECT_FALSE(report->current_mit_vector.has_value());
  EXPECT_FALSE(report->has_unknown_fields);
}

TEST(ParseReport, Version4ParsesAsVersion3) {
  auto report = parse_report(report_of_version(4));
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->cpuid_fam_id.has_value());
  EXPECT_FALSE(report->launch_mit_vector.has_value());
  EXPECT_FALSE(report->has_unknown_fields);
}

TEST(ParseReport, Version5MitigationVectorsAreFields) {
  auto report = parse_report(report_of_version(5));
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->launch_mit_vector, 0x1122u);
  EXPECT_EQ(report->current_mit_vector, 0x3344u);
  EXPECT_TRUE(report->findings.empty());
}

TEST(ParseReport, Version3FlagsMitigationBytesAsReserved) {
  Bytes data = report_of_version(3);
  data[0x1f8] = 0x22;  // where version 5 keeps LAUNCH_MIT_VECTOR
  auto report = parse_report(data);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(has_finding_at(*report, 0x1f8));
}

TEST(ParseReport, NewerVersionKeepsRawAndFlagsUnknownFields) {
  Bytes data = report_of_version(6);
  data[0x210] = 0x5a;  // a field version 6 might add
  auto report = parse_report(data);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->has_unknown_fields);
  EXPECT_TRUE(report->launch_mit_vector.has_value());
  EXPECT_EQ(report->raw[0x210], 0x5a);
  EXPECT_TRUE(has_finding_at(*report, 0x208));
}

TEST(ParseReport, RejectsVersionsBelowTwo) {
  for (std::uint32_t version : {0u, 1u}) {
    auto report = parse_report(report_of_version(version));
    ASSERT_FALSE(report.has_value()) << "version " << version;
    EXPECT_EQ(report.error().code, Errc::unsupported);
    EXPECT_EQ(report.error().field, "version");
    EXPECT_EQ(report.error().offset, 0u);
  }
}

TEST(ParseReport, RejectsWrongSizes) {
  Bytes data = report_of_version(3);
  for (std::size_t size : {std::size_t{0}, std::size_t{1168}, kReportSize - 1, kReportSize + 1}) {
    Bytes resized = data;
    resized.resize(size, 0);
    auto report = parse_report(resized);
    ASSERT_FALSE(report.has_value()) << "size " << size;
    EXPECT_EQ(report.error().code, Errc::invalid_data);
  }
}

TEST(ParseReport, ReservedSignedBytesAreFindings) {
  struct Case {
    std::uint32_t version;
    std::size_t offset;
  };
  for (Case c : {Case{3, 0x04c}, Case{3, 0x18b}, Case{3, 0x19f}, Case{2, 0x188}, Case{3, 0x1eb},
                 Case{3, 0x1ef}, Case{3, 0x29f}, Case{5, 0x208}}) {
    Bytes data = report_of_version(c.version);
    data[c.offset] = 0x01;
    auto report = parse_report(data);
    ASSERT_TRUE(report.has_value()) << "offset " << c.offset;
    bool found = false;
    for (const auto& finding : report->findings) {
      found = found || (finding.offset <= c.offset && c.offset < finding.offset + 200);
    }
    EXPECT_TRUE(found) << "no finding for a non-zero byte at " << c.offset;
  }
}

TEST(ParseReport, UndefinedPolicyAndKeyInfoBitsAreFindings) {
  ReportFields fields;
  fields.policy = 0x3001f | (1ULL << 40);
  fields.key_info = 1u << 8;
  auto report = parse_report(encode_report(fields));
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(has_finding_at(*report, 0x008));
  EXPECT_TRUE(has_finding_at(*report, 0x048));
}

TEST(ParseReport, RejectsNonZeroUnsignedTail) {
  for (std::size_t offset : {std::size_t{0x330}, std::size_t{0x400}, std::size_t{0x49f}}) {
    Bytes data = report_of_version(3);
    data[offset] = 0xff;
    auto report = parse_report(data);
    ASSERT_FALSE(report.has_value()) << "offset " << offset;
    EXPECT_EQ(report.error().code, Errc::invalid_data);
    EXPECT_EQ(report.error().offset, offset);
  }
}

TEST(ParseReport, RejectsSignatureComponentOverflow) {
  Bytes data = report_of_version(3);
  data[kSignatureOffset + kP384ComponentSize] = 1;
  auto r_overflow = parse_report(data);
  ASSERT_FALSE(r_overflow.has_value());
  EXPECT_EQ(r_overflow.error().field, "signature_r");

  data = report_of_version(3);
  data[kSignatureOffset + kSignatureComponentSize + kSignatureComponentSize - 1] = 1;
  auto s_overflow = parse_report(data);
  ASSERT_FALSE(s_overflow.has_value());
  EXPECT_EQ(s_overflow.error().field, "signature_s");
}

TEST(ParseReport, ReadsFieldsAtTheirOffsets) {
  ReportFields fields;
  fields.vmpl = 2;
  fields.reported_tcb = 0x0102030405060708;
  fields.key_info = 1u << 2;
  fields.report_data[0] = 0xaa;
  fields.report_data[63] = 0xbb;
  fields.chip_id[0] = 0xcc;
  auto report = parse_report(encode_report(fields));
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->vmpl, 2u);
  EXPECT_EQ(report->reported_tcb, 0x0102030405060708u);
  EXPECT_EQ(report->signing_key(), SigningKey::vlek);
  EXPECT_EQ(report->report_data[0], 0xaa);
  EXPECT_EQ(report->report_data[63], 0xbb);
  EXPECT_EQ(report->chip_id[0], 0xcc);
  EXPECT_EQ(report->report_id_ma[0], 0xff);
  EXPECT_FALSE(report->debug_allowed());
  EXPECT_TRUE(report->smt_allowed());
}

TEST(Tcb, LegacyLayoutForMilanAndGenoa) {
  // Azure prints this TCB as DB16000000000004: microcode 219, SNP 22, boot loader 4.
  const std::uint64_t raw = 0xdb16000000000004;
  for (Product product : {Product::milan, Product::genoa}) {
    Tcb tcb = decode_tcb(raw, product);
    EXPECT_EQ(tcb.bootloader, 4);
    EXPECT_EQ(tcb.tee, 0);
    EXPECT_EQ(tcb.snp, 22);
    EXPECT_EQ(tcb.microcode, 219);
    EXPECT_FALSE(tcb.fmc.has_value());
  }
  EXPECT_EQ(tcb_hex(raw), "db16000000000004");
}

TEST(Tcb, TurinLayoutHasFmc) {
  const std::uint64_t raw = 0x4800000004030201;
  Tcb tcb = decode_tcb(raw, Product::turin);
  EXPECT_EQ(tcb.fmc, 1);
  EXPECT_EQ(tcb.bootloader, 2);
  EXPECT_EQ(tcb.tee, 3);
  EXPECT_EQ(tcb.snp, 4);
  EXPECT_EQ(tcb.microcode, 0x48);
  EXPECT_EQ(tcb_reserved_bits(raw, Product::turin), 0u);
  EXPECT_NE(tcb_reserved_bits(raw, Product::milan), 0u);
}

TEST(Product, FromCpuid) {
  EXPECT_EQ(product_from_cpuid(0x19, 0x01).value(), Product::milan);
  EXPECT_EQ(product_from_cpuid(0x19, 0x11).value(), Product::genoa);
  EXPECT_EQ(product_from_cpuid(0x19, 0xa0).value(), Product::genoa);
  EXPECT_EQ(product_from_cpuid(0x1a, 0x02).value(), Product::turin);
  auto ambiguous = product_from_cpuid(0x1a, 0x90);
  ASSERT_TRUE(ambiguous.has_value());
  EXPECT_FALSE(ambiguous->has_value());
  auto unknown = product_from_cpuid(0x17, 0x31);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::unsupported);
}

TEST(Product, NamesWithAndWithoutStepping) {
  EXPECT_EQ(parse_product_name("Milan-B0").value(), Product::milan);
  EXPECT_EQ(parse_product_name("Genoa").value(), Product::genoa);
  EXPECT_EQ(parse_product_name("turin").value(), Product::turin);
  auto unknown = parse_product_name("Rome");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::unsupported);
}

TEST(Kds, VcekUrlForLegacyProducts) {
  std::array<std::uint8_t, 64> chip{};
  chip[0] = 0xab;
  chip[63] = 0x01;
  Tcb tcb{.bootloader = 3, .tee = 0, .snp = 8, .microcode = 115};
  std::string url = kds_vcek_url("https://kds.example/", Product::milan, chip, tcb);
  EXPECT_EQ(url, "https://kds.example/vcek/v1/Milan/ab" + std::string(124, '0') +
                     "01?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115");
}

TEST(Kds, VcekUrlForTurinUsesEightBytesAndFmc) {
  std::array<std::uint8_t, 64> chip{};
  for (std::size_t i = 0; i < 8; ++i) {
    chip[i] = static_cast<std::uint8_t>(0x10 + i);
  }
  Tcb tcb{.bootloader = 1, .tee = 2, .snp = 3, .microcode = 4, .fmc = 5};
  EXPECT_EQ(kds_vcek_url(kDefaultKdsBaseUrl, Product::turin, chip, tcb),
            "https://kdsintf.amd.com/vcek/v1/Turin/1011121314151617"
            "?blSPL=01&teeSPL=02&snpSPL=03&ucodeSPL=04&fmcSPL=05");
}

TEST(Kds, ChainAndCrlUrls) {
  EXPECT_EQ(kds_cert_chain_url("https://kds.example", Product::genoa, EndorsementKey::vcek),
            "https://kds.example/vcek/v1/Genoa/cert_chain");
  EXPECT_EQ(kds_cert_chain_url("https://kds.example", Product::genoa, EndorsementKey::vlek),
            "https://kds.example/vlek/v1/Genoa/cert_chain");
  EXPECT_EQ(kds_crl_url("https://kds.example", Product::milan, EndorsementKey::vcek),
            "https://kds.example/vcek/v1/Milan/crl");
}

}  // namespace
}  // namespace cvm::snp
