// Evidence verification on real attestation data: Confidential Containers
// az-snp-vtpm evidence from an Azure Milan CVM, and AzureGuest evidence
// assembled from a real HCL report, VCEK chain and vTPM quotes.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "report/claims.hpp"
#include "report/evidence.hpp"
#include "report/hcl.hpp"
#include "report/quote_formats.hpp"
#include "report/verify.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/evidence_test_support.hpp"

namespace cvm::report {
namespace {

using cvm::testing::at_time;
using cvm::testing::describe;
using cvm::testing::failed_checks;
using cvm::testing::read_fixture;
using cvm::testing::status_of;
using Checks = std::set<std::string>;

constexpr std::string_view kEvidenceNonce =
    "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
const Bytes kChallenge = {'c', 'h', 'a', 'l', 'l', 'e', 'n', 'g', 'e'};
// SNP report fields, as offsets into the HCL report (the SNP report starts at 0x20).
constexpr std::size_t kSnpInHcl = kHardwareReportOffset;

class CocoEvidence : public ::testing::Test {
 protected:
  void SetUp() override {
    CVM_REQUIRE_FIXTURES();
    root_ = testing::parse_json_text(as_text(read_fixture("trustee/az-snp-vtpm-evidence-v2.json")));
    auto hcl = base64_decode(root_["hcl_report"].asString());
    ASSERT_TRUE(hcl.has_value());
    hcl_ = *hcl;
    options_.at = at_time("2025-06-01T00:00:00Z");
    options_.expected_nonce = testing::hex_bytes(kEvidenceNonce);
    options_.extra_certificates.push_back(read_fixture("amd/milan-cert_chain.pem"));
  }

  EvidenceVerification verify(const Json::Value& root) {
    auto evidence = read_evidence(testing::compact_json(root));
    EXPECT_TRUE(evidence.has_value()) << evidence.error().to_string();
    if (!evidence) return {};
    return verify_evidence(*evidence, trust_, options_);
  }

  // Verifies the evidence with its HCL report replaced by `hcl`.
  EvidenceVerification verify_hcl(const Bytes& hcl) {
    Json::Value root = root_;
    root["hcl_report"] = base64url_encode(hcl);
    return verify(root);
  }

  Json::Value root_;
  Bytes hcl_;
  snp::TrustStore trust_ = snp::TrustStore::amd();
  EvidenceVerifyOptions options_;
};

TEST_F(CocoEvidence, ReadsEveryPart) {
  auto evidence = read_evidence(testing::compact_json(root_));
  ASSERT_TRUE(evidence.has_value()) << evidence.error().to_string();
  EXPECT_EQ(evidence->format, EvidenceFormat::coco_az_snp_vtpm);
  Bytes hcl = read_fixture("trustee/az-snp-vtpm-evidence-v2.hcl_report.bin");
  EXPECT_EQ(evidence->snp_report, Bytes(hcl.begin() + kSnpInHcl, hcl.begin() + kSnpInHcl + kHardwareReportSize));
  auto parsed = parse_hcl_report(hcl);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(evidence->runtime_claims, parsed->claims);
  EXPECT_EQ(evidence->vcek_der, read_fixture("trustee/az-snp-vtpm-evidence-v2.vcek.der"));
  EXPECT_TRUE(evidence->vcek_chain_pem.empty());
  EXPECT_FALSE(evidence->ak_public.has_value());
  ASSERT_TRUE(evidence->quote.has_value());
  EXPECT_EQ(evidence->quote->size(), testing::hex_bytes(root_["tpm_quote"]["message"].asString()).size());
  EXPECT_EQ(evidence->quote_signature->size(), 256u);
  ASSERT_EQ(evidence->pcrs.size(), 24u);
  EXPECT_EQ(evidence->pcrs[23].index, 23u);
  EXPECT_EQ(evidence->pcrs[23].digest, testing::hex_bytes(root_["tpm_quote"]["pcrs"][23].asString()));
  EXPECT_TRUE(evidence->event_log.empty());
}

TEST_F(CocoEvidence, PassesEveryApplicableCheck) {
  options_.required_pcrs = {0, 1, 2, 3, 4, 5, 6, 7, 23};
  EvidenceVerification verification = verify(root_);
  for (const char* name : {"certificate_chain", "report_signature", "vcek_matches_report", "claims_binding",
                           "ak_matches_claims", "quote_signature", "nonce", "pcr_digest", "report_policy"}) {
    EXPECT_EQ(status_of(verification, name), snp::CheckStatus::pass) << name << "\n" << describe(verification);
  }
  EXPECT_EQ(status_of(verification, "event_log_replay"), snp::CheckStatus::skipped);
  EXPECT_EQ(status_of(verification, "ephemeral_key"), snp::CheckStatus::skipped);
  EXPECT_EQ(verification.checks.size(), 11u);
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(verification.product, std::optional<snp::Product>(snp::Product::milan));
}

TEST_F(CocoEvidence, ChainFileIsNeeded) {
  options_.extra_certificates.clear();
  EvidenceVerification verification = verify(root_);
  EXPECT_EQ(failed_checks(verification), Checks{"certificate_chain"}) << describe(verification);
  EXPECT_FALSE(verification.passed());
}

TEST_F(CocoEvidence, ChainFileMayRepeatTheVcek) {
  // A chain file with the VCEK in it as well must not count as a second leaf.
  auto vcek = ossl::parse_der_certificate(read_fixture("trustee/az-snp-vtpm-evidence-v2.vcek.der"));
  ASSERT_TRUE(vcek.has_value());
  std::string pem = ossl::certificate_pem(vcek->get());
  options_.extra_certificates.insert(options_.extra_certificates.begin(), Bytes(pem.begin(), pem.end()));
  EvidenceVerification verification = verify(root_);
  EXPECT_TRUE(verification.passed()) << describe(verification);
}

TEST_F(CocoEvidence, ConvertsToSevSnpVm) {
  // The SevSnpVm body has no quote, so only the hardware checks remain, and
  // it must keep the VCEK that az-snp-vtpm evidence carries on its own.
  auto coco = read_evidence(testing::compact_json(root_));
  ASSERT_TRUE(coco.has_value());
  auto converted = read_evidence(encode_sev_snp_vm(*coco));
  ASSERT_TRUE(converted.has_value()) << converted.error().to_string();
  EXPECT_EQ(converted->snp_report, coco->snp_report);
  EXPECT_EQ(converted->runtime_claims, coco->runtime_claims);
  EXPECT_NE(converted->vcek_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EvidenceVerification verification = verify_evidence(*converted, trust_, options_);
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(status_of(verification, "nonce"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "quote_signature"), snp::CheckStatus::skipped);
}

TEST_F(CocoEvidence, WrongNonceFailsNonce) {
  Bytes nonce = *options_.expected_nonce;
  nonce[10] ^= 0x01;
  options_.expected_nonce = nonce;
  EvidenceVerification verification = verify(root_);
  EXPECT_EQ(failed_checks(verification), Checks{"nonce"}) << describe(verification);
}

TEST_F(CocoEvidence, NoExpectedNonceSkipsNonce) {
  options_.expected_nonce.reset();
  EvidenceVerification verification = verify(root_);
  EXPECT_EQ(status_of(verification, "nonce"), snp::CheckStatus::skipped);
  EXPECT_NE(verification.find("nonce")->detail.find(std::string(kEvidenceNonce)), std::string::npos);
  EXPECT_TRUE(verification.passed()) << describe(verification);
}

TEST_F(CocoEvidence, MissingRequiredPcrFailsPcrDigest) {
  options_.required_pcrs = {24};
  EvidenceVerification verification = verify(root_);
  EXPECT_EQ(failed_checks(verification), Checks{"pcr_digest"}) << describe(verification);
}

struct ReportFlip {
  std::size_t offset;  // into the SNP report
  Checks failing;
};

TEST_F(CocoEvidence, FlippedReportByteFailsItsCheck) {
  const std::vector<ReportFlip> flips = {
      {0x030, {"report_signature", "report_policy"}},         // VMPL
      {0x0a0, {"report_signature"}},                          // MEASUREMENT
      {0x0c0, {"report_signature"}},                          // HOST_DATA
      {0x140, {"report_signature"}},                          // REPORT_ID
      {0x050, {"report_signature", "claims_binding"}},        // REPORT_DATA[0]
      {0x08f, {"report_signature", "claims_binding"}},        // REPORT_DATA[63], the zero upper half
      {0x1a0, {"report_signature", "vcek_matches_report"}},   // CHIP_ID[0]
      {0x1df, {"report_signature", "vcek_matches_report"}},   // CHIP_ID[63]
      {0x2a0, {"report_signature"}},                          // SIGNATURE R, low byte
      {0x2cf, {"report_signature"}},                          // SIGNATURE R, high byte of the 48
      {0x2e8, {"report_signature"}},                          // SIGNATURE S, low byte
  };
  for (const ReportFlip& flip : flips) {
    Bytes hcl = hcl_;
    hcl[kSnpInHcl + flip.offset] ^= 0x01;
    EvidenceVerification verification = verify_hcl(hcl);
    EXPECT_EQ(failed_checks(verification), flip.failing) << "offset 0x" << std::hex << flip.offset << "\n"
                                                         << describe(verification);
  }
}

TEST_F(CocoEvidence, DebugPolicyBitFailsPolicyAndSignature) {
  Bytes hcl = hcl_;
  hcl[kSnpInHcl + 0x008 + 2] ^= 0x08;  // POLICY bit 19, DEBUG
  EvidenceVerification verification = verify_hcl(hcl);
  EXPECT_EQ(failed_checks(verification), (Checks{"report_signature", "report_policy"})) << describe(verification);
}

TEST_F(CocoEvidence, UnsignedReportBytesAreRejected) {
  // Bytes after the 48 significant bytes of R and after the signature are
  // outside the signature, so the parser requires them to be zero.
  for (std::size_t offset : {std::size_t{0x2d0}, std::size_t{0x330}, std::size_t{0x49f}}) {
    Bytes hcl = hcl_;
    hcl[kSnpInHcl + offset] ^= 0x01;
    Json::Value root = root_;
    root["hcl_report"] = base64url_encode(hcl);
    auto evidence = read_evidence(testing::compact_json(root));
    ASSERT_FALSE(evidence.has_value()) << "offset 0x" << std::hex << offset;
    EXPECT_EQ(evidence.error().code, Errc::invalid_data);
    EXPECT_EQ(evidence.error().field, std::optional<std::string>("hcl_report"));
  }
}

// Replaces one character of the claims text with another of the same class,
// so the claims still parse and only their hash changes.
Bytes with_claims_char(Bytes hcl, std::string_view anchor, std::size_t skip) {
  std::string_view claims(reinterpret_cast<const char*>(hcl.data()) + kClaimsOffset, hcl.size() - kClaimsOffset);
  std::size_t position = claims.find(anchor);
  EXPECT_NE(position, std::string_view::npos) << anchor;
  std::size_t at = kClaimsOffset + position + anchor.size() + skip;
  char& c = reinterpret_cast<char&>(hcl[at]);
  // Swap to another character that keeps the JSON valid.
  switch (c) {
    case 'A': c = 'B'; break;
    case '0': c = '1'; break;
    case 'a': c = 'b'; break;
    case '1': c = '0'; break;
    default: c = 'A'; break;
  }
  return hcl;
}

TEST_F(CocoEvidence, FlippedClaimsByteFailsItsCheck) {
  struct ClaimsFlip {
    std::string_view anchor;
    std::size_t skip;
    Checks failing;
  };
  const std::vector<ClaimsFlip> flips = {
      {"\"vmUniqueId\":\"", 3, {"claims_binding"}},
      {"\"vmUniqueId\":\"", 30, {"claims_binding"}},
      {"\"user-data\":\"", 0, {"claims_binding", "nonce"}},
      {"\"user-data\":\"", 95, {"claims_binding", "nonce"}},   // the nonce's last hex digit
      {"\"user-data\":\"", 127, {"claims_binding"}},           // the zero padding after the nonce
      // HCLAkPub's modulus: the quote no longer verifies with that key.
      {"\"n\":\"", 40, {"claims_binding", "quote_signature"}},
  };
  for (const ClaimsFlip& flip : flips) {
    Bytes hcl = with_claims_char(hcl_, flip.anchor, flip.skip);
    EvidenceVerification verification = verify_hcl(hcl);
    EXPECT_EQ(failed_checks(verification), flip.failing) << flip.anchor << " +" << flip.skip << "\n"
                                                         << describe(verification);
  }

  // Claims that no longer parse leave no AK, so everything resting on it fails.
  Bytes broken = hcl_;
  broken[kClaimsOffset] = '[';
  EvidenceVerification verification = verify_hcl(broken);
  EXPECT_EQ(failed_checks(verification), (Checks{"claims_binding", "ak_matches_claims", "quote_signature", "nonce"}))
      << describe(verification);
}

TEST_F(CocoEvidence, FlippedQuoteByteFailsItsCheck) {
  Bytes message = testing::hex_bytes(root_["tpm_quote"]["message"].asString());
  // TPMS_ATTEST: magic 0, type 4, qualifiedSigner (size 6, 34 bytes), extraData
  // (size 42, 48 bytes), clockInfo 92, firmwareVersion 109, then the PCR
  // selection and pcrDigest, which ends the structure.
  ASSERT_EQ(message[43], 0x30);
  struct QuoteFlip {
    std::size_t offset;
    Checks failing;
  };
  const std::vector<QuoteFlip> flips = {
      {0, {"quote_signature"}},  // magic: the quote no longer parses
      {10, {"quote_signature"}},
      {44, {"quote_signature", "nonce"}},
      {91, {"quote_signature", "nonce"}},
      {95, {"quote_signature"}},
      {112, {"quote_signature"}},
      {message.size() - 1, {"quote_signature", "pcr_digest"}},
  };
  for (const QuoteFlip& flip : flips) {
    Bytes changed = message;
    changed[flip.offset] ^= 0x01;
    Json::Value root = root_;
    root["tpm_quote"]["message"] = hex_encode(changed);
    EvidenceVerification verification = verify(root);
    EXPECT_EQ(failed_checks(verification), flip.failing) << "offset " << flip.offset << "\n" << describe(verification);
  }

  Bytes signature = testing::hex_bytes(root_["tpm_quote"]["signature"].asString());
  for (std::size_t offset : {std::size_t{0}, std::size_t{128}, signature.size() - 1}) {
    Bytes changed = signature;
    changed[offset] ^= 0x80;
    Json::Value root = root_;
    root["tpm_quote"]["signature"] = hex_encode(changed);
    EvidenceVerification verification = verify(root);
    EXPECT_EQ(failed_checks(verification), Checks{"quote_signature"}) << "signature offset " << offset;
  }
}

TEST_F(CocoEvidence, FlippedPcrFailsPcrDigest) {
  for (Json::ArrayIndex index : {0u, 7u, 14u, 23u}) {
    for (std::size_t offset : {std::size_t{0}, std::size_t{31}}) {
      Bytes pcr = testing::hex_bytes(root_["tpm_quote"]["pcrs"][index].asString());
      pcr[offset] ^= 0x01;
      Json::Value root = root_;
      root["tpm_quote"]["pcrs"][index] = hex_encode(pcr);
      EvidenceVerification verification = verify(root);
      EXPECT_EQ(failed_checks(verification), Checks{"pcr_digest"}) << "PCR " << index << " byte " << offset;
    }
  }
}

TEST_F(CocoEvidence, FlippedVcekSignatureFailsChain) {
  Bytes vcek = read_fixture("trustee/az-snp-vtpm-evidence-v2.vcek.der");
  vcek[vcek.size() - 5] ^= 0x01;  // inside the ASK's signature over the VCEK
  Json::Value root = root_;
  root["vcek"] = base64url_encode(vcek);
  EvidenceVerification verification = verify(root);
  EXPECT_EQ(failed_checks(verification), Checks{"certificate_chain"}) << describe(verification);
}

// AzureGuest evidence assembled from the other real Milan report, its
// VCEK chain and the quote its AK made over the nonce "challenge".
class AssembledEvidence : public ::testing::Test {
 protected:
  void SetUp() override {
    CVM_REQUIRE_FIXTURES();
    ASSERT_TRUE(fill_from_hcl_report(evidence_, read_fixture("trustee/az-snp-vtpm-hcl-report.bin")).has_value());
    Bytes chain = read_fixture("trustee/az-snp-vtpm-vcek.pem");
    evidence_.vcek_chain_pem.assign(chain.begin(), chain.end());
    auto bundle = parse_coco_tpm_quote_json(read_fixture("trustee/az-snp-vtpm-tpm-quote-v1.json"));
    ASSERT_TRUE(bundle.has_value()) << bundle.error().to_string();
    set_quote(std::move(*bundle));

    auto claims = parse_runtime_claims(evidence_.runtime_claims);
    ASSERT_TRUE(claims.has_value());
    const Jwk* ak = claims->find_key(kAkKeyId);
    ASSERT_NE(ak, nullptr);
    evidence_.ak_public = testing::rsa_ak_public(ak->n);
    evidence_.os_distro = "Ubuntu";
    evidence_.os_version_major = 22;
    evidence_.os_version_minor = 4;
    evidence_.client_payload = {{"nonce", "1234"}, {"purpose", "test"}};

    options_.at = at_time("2025-06-01T00:00:00Z");
    options_.expected_nonce = kChallenge;
  }

  void set_quote(QuoteBundle bundle) {
    evidence_.quote = std::move(bundle.message);
    evidence_.quote_signature = std::move(bundle.signature);
    evidence_.pcrs.clear();
    for (std::size_t i = 0; i < bundle.pcrs.size(); ++i) {
      evidence_.pcrs.push_back(PcrEntry{.index = static_cast<std::uint32_t>(i), .digest = bundle.pcrs[i]});
    }
  }

  Evidence evidence_;
  snp::TrustStore trust_ = snp::TrustStore::amd();
  EvidenceVerifyOptions options_;
};

TEST_F(AssembledEvidence, Verifies) {
  EvidenceVerification verification = verify_evidence(evidence_, trust_, options_);
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(status_of(verification, "ak_matches_claims"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "nonce"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "event_log_replay"), snp::CheckStatus::skipped);
  EXPECT_EQ(status_of(verification, "ephemeral_key"), snp::CheckStatus::skipped);
}

TEST_F(AssembledEvidence, QuoteOfAnotherAkFailsAkMatch) {
  // quote.bin is a real quote by another vTPM's AK. Presented as AikPub, that
  // AK verifies the quote, but it is not the HCLAkPub of this report.
  auto bundle = parse_az_cvm_vtpm_quote(read_fixture("azure-cvm-tooling/quote.bin"));
  ASSERT_TRUE(bundle.has_value()) << bundle.error().to_string();
  set_quote(std::move(*bundle));
  auto other_ak = testing::read_pem_public_key(read_fixture("azure-cvm-tooling/akpub.pem"));
  ASSERT_NE(other_ak, nullptr);
  evidence_.ak_public = testing::rsa_ak_public(testing::rsa_modulus(other_ak.get()));

  EvidenceVerification verification = verify_evidence(evidence_, trust_, options_);
  EXPECT_EQ(failed_checks(verification), Checks{"ak_matches_claims"}) << describe(verification);
  EXPECT_EQ(status_of(verification, "quote_signature"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "nonce"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "pcr_digest"), snp::CheckStatus::pass);
}

TEST_F(AssembledEvidence, AkWithoutRestrictedFailsAkMatch) {
  auto claims = parse_runtime_claims(evidence_.runtime_claims);
  evidence_.ak_public =
      testing::rsa_ak_public(claims->find_key(kAkKeyId)->n, testing::kAzureAkAttributes & ~TPMA_OBJECT_RESTRICTED);
  EvidenceVerification verification = verify_evidence(evidence_, trust_, options_);
  EXPECT_EQ(failed_checks(verification), Checks{"ak_matches_claims"}) << describe(verification);
}

void expect_same_parts(const Evidence& read, const Evidence& original) {
  EXPECT_EQ(read.snp_report, original.snp_report);
  EXPECT_EQ(read.runtime_claims, original.runtime_claims);
  EXPECT_EQ(read.vcek_chain_pem, original.vcek_chain_pem);
}

void expect_same_statuses(const EvidenceVerification& a, const EvidenceVerification& b) {
  ASSERT_EQ(a.checks.size(), b.checks.size());
  for (std::size_t i = 0; i < a.checks.size(); ++i) {
    EXPECT_EQ(a.checks[i].name, b.checks[i].name);
    EXPECT_EQ(a.checks[i].status, b.checks[i].status) << a.checks[i].name;
  }
}

TEST_F(AssembledEvidence, AzureGuestRoundTrip) {
  evidence_.ak_certificate = Bytes{0x30, 0x03, 0x02, 0x01, 0x01};
  std::string body = encode_azure_guest(evidence_);
  auto read = read_evidence(body);
  ASSERT_TRUE(read.has_value()) << read.error().to_string();
  EXPECT_EQ(read->format, EvidenceFormat::azure_guest);
  expect_same_parts(*read, evidence_);
  EXPECT_EQ(read->ak_public, evidence_.ak_public);
  EXPECT_EQ(read->ak_certificate, evidence_.ak_certificate);
  EXPECT_EQ(read->quote, evidence_.quote);
  EXPECT_EQ(read->quote_signature, evidence_.quote_signature);
  ASSERT_EQ(read->pcrs.size(), evidence_.pcrs.size());
  for (std::size_t i = 0; i < read->pcrs.size(); ++i) {
    EXPECT_EQ(read->pcrs[i].index, evidence_.pcrs[i].index);
    EXPECT_EQ(read->pcrs[i].digest, evidence_.pcrs[i].digest);
  }
  EXPECT_EQ(read->client_payload, evidence_.client_payload);
  EXPECT_EQ(read->os_type, "Linux");
  EXPECT_EQ(read->os_distro, "Ubuntu");
  EXPECT_EQ(read->os_version_major, 22);
  EXPECT_EQ(read->os_version_minor, 4);
  EXPECT_FALSE(read->ephemeral_public.has_value());
  expect_same_statuses(verify_evidence(*read, trust_, options_), verify_evidence(evidence_, trust_, options_));
}

TEST_F(AssembledEvidence, SevSnpVmRoundTrip) {
  evidence_.nonce_field = "client-nonce";
  std::string body = encode_sev_snp_vm(evidence_);
  auto read = read_evidence(body);
  ASSERT_TRUE(read.has_value()) << read.error().to_string();
  EXPECT_EQ(read->format, EvidenceFormat::sev_snp_vm);
  expect_same_parts(*read, evidence_);
  EXPECT_EQ(read->nonce_field, std::optional<std::string>("client-nonce"));
  EXPECT_FALSE(read->quote.has_value());

  // Without a quote, the nonce must be in the claims' user-data, which is zero here.
  options_.expected_nonce.reset();
  EvidenceVerification verification = verify_evidence(*read, trust_, options_);
  EXPECT_TRUE(verification.passed()) << describe(verification);
  for (const char* name : {"ak_matches_claims", "quote_signature", "nonce", "pcr_digest", "event_log_replay",
                           "ephemeral_key"}) {
    EXPECT_EQ(status_of(verification, name), snp::CheckStatus::skipped) << name;
  }
  options_.required_pcrs = {0, 1, 2};
  EXPECT_EQ(status_of(verify_evidence(*read, trust_, options_), "pcr_digest"), snp::CheckStatus::skipped);
  options_.expected_nonce = kChallenge;
  EXPECT_EQ(failed_checks(verify_evidence(*read, trust_, options_)), Checks{"nonce"});
  options_.expected_nonce = Bytes(8, 0);
  EXPECT_TRUE(verify_evidence(*read, trust_, options_).passed());
}

// Rewrites an AzureGuest body the way another client could send it: every
// JSON layer tab-indented with members in another order, and every base64
// value in the other alphabet (standard with padding instead of base64url,
// and the reverse).
std::string rewritten_azure_guest(const std::string& body) {
  Json::Value outer = testing::parse_json_text(body);
  Json::Value info = testing::parse_json_text(as_text(*base64_decode(outer["AttestationInfo"].asString())));
  Json::Value proof =
      testing::parse_json_text(as_text(*base64_decode(info["IsolationInfo"]["Evidence"]["Proof"].asString())));
  proof["SnpReport"] = testing::padded_base64(*base64_decode(proof["SnpReport"].asString()));
  proof["VcekCertChain"] = base64url_encode(*base64_decode(proof["VcekCertChain"].asString()));
  info["IsolationInfo"]["Evidence"]["Proof"] = base64url_encode(as_bytes(testing::tabbed_reversed_json(proof)));
  Json::Value& tpm = info["TpmInfo"];
  tpm["PcrQuote"] = base64url_encode(*base64_decode(tpm["PcrQuote"].asString()));
  tpm["AikPub"] = base64url_encode(*base64_decode(tpm["AikPub"].asString()));
  for (Json::Value& pcr : tpm["PCRs"]) pcr["Digest"] = base64url_encode(*base64_decode(pcr["Digest"].asString()));
  // Microsoft's Python client sends the OS version as strings.
  info["OSVersionMajor"] = "22";
  info["OSVersionMinor"] = "4";
  outer["AttestationInfo"] = testing::padded_base64(as_bytes(testing::tabbed_reversed_json(info)));
  return testing::tabbed_reversed_json(outer);
}

TEST_F(AssembledEvidence, ReaderAcceptsOtherLayouts) {
  std::string body = rewritten_azure_guest(encode_azure_guest(evidence_));
  ASSERT_NE(body.find("\t\"AttestationInfo\" : \""), std::string::npos) << body.substr(0, 80);
  auto read = read_evidence(body);
  ASSERT_TRUE(read.has_value()) << read.error().to_string();
  expect_same_parts(*read, evidence_);
  EXPECT_EQ(read->quote, evidence_.quote);
  EXPECT_EQ(read->ak_public, evidence_.ak_public);
  EXPECT_EQ(read->os_version_major, 22);
  EXPECT_EQ(read->os_version_minor, 4);
  ASSERT_EQ(read->pcrs.size(), 24u);
  EXPECT_EQ(read->pcrs[5].digest, evidence_.pcrs[5].digest);
  EXPECT_TRUE(verify_evidence(*read, trust_, options_).passed());

  // The same for a SevSnpVm body and for Confidential Containers evidence.
  Json::Value snp = testing::parse_json_text(encode_sev_snp_vm(evidence_));
  snp["runtimeData"]["data"] = testing::padded_base64(evidence_.runtime_claims);
  auto read_snp = read_evidence(testing::tabbed_reversed_json(snp));
  ASSERT_TRUE(read_snp.has_value()) << read_snp.error().to_string();
  expect_same_parts(*read_snp, evidence_);
}

}  // namespace
}  // namespace cvm::report
