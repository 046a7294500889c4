// Real reports and certificates from public test suites (CVM_ATTEST_FIXTURES).
#include <gtest/gtest.h>

#include "common/time.hpp"
#include "snp/verify.hpp"
#include "tests/support/fixtures.hpp"

namespace cvm::snp {
namespace {

using cvm::testing::read_fixture;

// Every fixture VCEK is valid on this date, so the tests do not age.
Clock::time_point fixture_time() { return parse_rfc3339("2025-06-01T00:00:00Z").value(); }

constexpr std::size_t kHclReportOffset = 0x20;

Bytes snp_from_hcl(const Bytes& hcl) {
  if (hcl.size() < kHclReportOffset + kReportSize) {
    ADD_FAILURE() << "HCL fixture too short";
    return {};
  }
  return Bytes(hcl.begin() + kHclReportOffset, hcl.begin() + kHclReportOffset + kReportSize);
}

Endorsement endorsement_from(const std::vector<std::string>& files) {
  std::vector<ossl::UniqueX509> certificates;
  for (const auto& file : files) {
    Bytes data = read_fixture(file);
    auto parsed = ossl::parse_certificates(data, file);
    EXPECT_TRUE(parsed.has_value()) << file << ": " << parsed.error().to_string();
    for (auto& certificate : *parsed) {
      certificates.push_back(std::move(certificate));
    }
  }
  auto endorsement = sort_endorsement(std::move(certificates));
  EXPECT_TRUE(endorsement.has_value());
  return std::move(*endorsement);
}

std::string describe(const Verification& verification) {
  std::string out;
  for (const auto& check : verification.checks) {
    out += check.name + "=" + std::string(check_status_name(check.status)) + " (" + check.detail + ")\n";
  }
  return out;
}

struct RealPair {
  const char* name;
  const char* report;  // SNP report, or HCL report when `hcl` is set
  bool hcl;
  std::vector<std::string> certificates;
};

std::vector<RealPair> real_pairs() {
  return {
      {"go_sev_guest", "go-sev-guest/attestation.bin", false,
       {"go-sev-guest/vcek.der", "amd/milan-cert_chain.pem"}},
      {"trustee_snp", "trustee/snp-test-report.bin", false,
       {"trustee/snp-test-vcek.der", "amd/milan-cert_chain.pem"}},
      {"trustee_evidence_v2", "trustee/az-snp-vtpm-evidence-v2.hcl_report.bin", true,
       {"trustee/az-snp-vtpm-evidence-v2.vcek.der", "amd/milan-cert_chain.pem"}},
      {"trustee_hcl", "trustee/az-snp-vtpm-hcl-report.bin", true, {"trustee/az-snp-vtpm-vcek.pem"}},
  };
}

Bytes report_bytes(const RealPair& pair) {
  Bytes data = read_fixture(pair.report);
  return pair.hcl ? snp_from_hcl(data) : data;
}

TEST(RealReports, EveryPairVerifies) {
  CVM_REQUIRE_FIXTURES();
  for (const RealPair& pair : real_pairs()) {
    SCOPED_TRACE(pair.name);
    auto report = parse_report(report_bytes(pair));
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    Verification verification = verify_report(*report, endorsement_from(pair.certificates), TrustStore::amd(),
                                               VerifyOptions{.at = fixture_time()});
    EXPECT_TRUE(verification.passed()) << describe(verification);
    EXPECT_EQ(verification.product, Product::milan);
  }
}

TEST(RealReports, EverySignedByteIsCovered) {
  CVM_REQUIRE_FIXTURES();
  const RealPair pair = real_pairs().front();
  Bytes original = report_bytes(pair);
  Endorsement endorsement = endorsement_from(pair.certificates);
  for (std::size_t offset = 0; offset < kSignedSize; ++offset) {
    Bytes tampered = original;
    tampered[offset] ^= 0x01;
    auto report = parse_report(tampered);
    if (!report) {
      continue;  // the version field can turn into an unsupported version: rejected too
    }
    auto signature = verify_report_signature(*report, endorsement.leaf.get());
    ASSERT_FALSE(signature.has_value()) << "flipping byte " << offset << " still verifies";
    bool in_signature_algo = offset >= 0x34 && offset < 0x38;
    EXPECT_EQ(signature.error().code, in_signature_algo ? Errc::unsupported : Errc::verification_failed)
        << "offset " << offset;
  }
}

TEST(RealReports, EveryPairRejectsATamperedMeasurement) {
  CVM_REQUIRE_FIXTURES();
  for (const RealPair& pair : real_pairs()) {
    SCOPED_TRACE(pair.name);
    Bytes data = report_bytes(pair);
    data[0x90] ^= 0x80;
    auto report = parse_report(data);
    ASSERT_TRUE(report.has_value());
    Verification verification = verify_report(*report, endorsement_from(pair.certificates), TrustStore::amd(),
                                              VerifyOptions{.at = fixture_time()});
    EXPECT_FALSE(verification.passed());
  }
}

TEST(RealReports, EvidenceV2IsVersion3WithCpuid) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_report(snp_from_hcl(read_fixture("trustee/az-snp-vtpm-evidence-v2.hcl_report.bin")));
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->version, 3u);
  EXPECT_EQ(report->cpuid_fam_id, 0x19);
  EXPECT_EQ(report->cpuid_mod_id, 0x01);
  EXPECT_EQ(report->cpuid_step, 0x01);
}

TEST(RealReports, MismatchedPairFailsOnChipId) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_report(snp_from_hcl(read_fixture("azure-cvm-tooling/hcl-report-snp.bin")));
  ASSERT_TRUE(report.has_value());
  Verification verification = verify_report(*report, endorsement_from({"azure-cvm-tooling/certs.pem"}),
                                            TrustStore::amd(), VerifyOptions{.at = fixture_time()});
  EXPECT_FALSE(verification.passed());
  const Check* chip = nullptr;
  const Check* chain = nullptr;
  for (const auto& check : verification.checks) {
    if (check.name == "chip_id_match") chip = &check;
    if (check.name == "certificate_chain") chain = &check;
  }
  ASSERT_NE(chip, nullptr);
  EXPECT_EQ(chip->status, CheckStatus::fail);
  EXPECT_NE(chip->detail.find("another chip"), std::string::npos);
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->status, CheckStatus::pass);
}

TEST(RealReports, MaaExampleVersion1IsTheWrongSize) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_report(read_fixture("maa-rest-api-specs/sevsnpvm_example_snp_report_v1.bin"));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, Errc::invalid_data);
}

TEST(RealCertificates, TurinVcekHasEightByteHwidAndFmc) {
  CVM_REQUIRE_FIXTURES();
  auto extensions = parse_vcek_extensions(read_fixture("virtee-sev/vcek_turin.der"));
  ASSERT_TRUE(extensions.has_value()) << extensions.error().to_string();
  EXPECT_EQ(extensions->product_name, "Turin");
  EXPECT_EQ(extensions->struct_version, 1);
  ASSERT_TRUE(extensions->hwid.has_value());
  EXPECT_EQ(hex_encode(*extensions->hwid), "1e550a8ee5cf9f4d");
  EXPECT_TRUE(extensions->fmc_spl.has_value());
  EXPECT_TRUE(extensions->microcode_spl.has_value());

  Endorsement endorsement = endorsement_from({"virtee-sev/vcek_turin.der", "amd/turin-cert_chain.pem"});
  auto chain = verify_chain(endorsement, TrustStore::amd(), fixture_time());
  ASSERT_TRUE(chain.has_value()) << chain.error().to_string();
  ASSERT_TRUE(chain->pinned.has_value());
  EXPECT_EQ(chain->pinned->product, Product::turin);
}

TEST(RealCertificates, MilanVcekExtensions) {
  CVM_REQUIRE_FIXTURES();
  auto extensions = parse_vcek_extensions(read_fixture("go-sev-guest/vcek.der"));
  ASSERT_TRUE(extensions.has_value());
  EXPECT_EQ(extensions->product_name, "Milan-B0");
  ASSERT_TRUE(extensions->hwid.has_value());
  EXPECT_EQ(extensions->hwid->size(), 64u);
  EXPECT_FALSE(extensions->fmc_spl.has_value());
}

TEST(RealCertificates, AmdRootsArePinnedAndSignTheirIntermediates) {
  CVM_REQUIRE_FIXTURES();
  TrustStore trust = TrustStore::amd();
  for (const char* file : {"amd/milan-cert_chain.pem", "amd/genoa-cert_chain.pem", "amd/turin-cert_chain.pem",
                           "amd/milan-vlek-cert_chain.pem", "amd/genoa-vlek-cert_chain.pem",
                           "amd/turin-vlek-cert_chain.pem"}) {
    SCOPED_TRACE(file);
    auto certificates = ossl::parse_certificates(read_fixture(file), file);
    ASSERT_TRUE(certificates.has_value());
    ASSERT_EQ(certificates->size(), 2u);
    X509* intermediate = (*certificates)[0].get();
    X509* root = (*certificates)[1].get();
    EXPECT_TRUE(trust.pinned(root).has_value());
    EXPECT_FALSE(trust.pinned(intermediate).has_value());
    EXPECT_EQ(X509_verify(root, X509_get0_pubkey(root)), 1);
    EXPECT_EQ(X509_verify(intermediate, X509_get0_pubkey(root)), 1);
  }
}

TEST(RealCertificates, ChainWithoutArkUsesNoUntrustedRoot) {
  CVM_REQUIRE_FIXTURES();
  // Only the VCEK and ASK: the pinned ARK is known by fingerprint only, so the
  // chain cannot be completed and must fail rather than trust the ASK.
  auto certificates = ossl::parse_certificates(read_fixture("amd/milan-cert_chain.pem"), "milan");
  ASSERT_TRUE(certificates.has_value());
  Endorsement endorsement = endorsement_from({"go-sev-guest/vcek.der"});
  endorsement.chain.push_back(std::move((*certificates)[0]));
  auto chain = verify_chain(endorsement, TrustStore::amd(), fixture_time());
  ASSERT_FALSE(chain.has_value());
  EXPECT_EQ(chain.error().code, Errc::verification_failed);
}

}  // namespace
}  // namespace cvm::snp
