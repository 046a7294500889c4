// AzureGuest evidence whose TPM parts come from a real TPM 2.0 (swtpm): an
// AK, a quote over PCRs extended as a generated event log records, and an
// ephemeral key certified by the AK. The hardware report is forged with a
// test ARK, signed over runtime claims that name the swtpm AK. Every check
// then passes, and each kind of tampering fails the check that covers it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "report/eventlog.hpp"
#include "report/evidence.hpp"
#include "report/verify.hpp"
#include "tests/support/snp_forge.hpp"
#include "tests/unit/evidence_test_support.hpp"
#include "tests/unit/vtpm_test_support.hpp"

namespace cvm::report {
namespace {

using cvm::testing::describe;
using cvm::testing::failed_checks;
using cvm::testing::status_of;
using Checks = std::set<std::string>;

const Bytes kNonce = {'s', 'w', 't', 'p', 'm', '-', 'n', 'o', 'n', 'c', 'e'};
constexpr std::uint64_t kPolicyDebug = 1ull << 19;
constexpr std::uint64_t kPolicyMigrateMa = 1ull << 18;
// TCG PC Client event types; replay does not interpret them.
constexpr std::uint32_t kEvEfiVariableDriverConfig = 0x80000001;
constexpr std::uint32_t kEvEfiBootServicesApplication = 0x80000003;

ossl::UniqueX509 copy_of(X509* certificate) {
  X509_up_ref(certificate);
  return ossl::UniqueX509(certificate);
}

void put16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}

void put32(Bytes& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// A crypto-agile TCG event log with a SHA-256 bank only.
class EventLogWriter {
 public:
  EventLogWriter() {
    Bytes spec;
    const char signature[16] = "Spec ID Event03";
    spec.insert(spec.end(), signature, signature + 16);
    put32(spec, 0);     // platform class: client
    spec.push_back(0);  // spec version minor
    spec.push_back(2);  // spec version major
    spec.push_back(0);  // errata
    spec.push_back(2);  // UINTN is 64-bit
    put32(spec, 1);
    put16(spec, kAlgSha256);
    put16(spec, 32);
    spec.push_back(0);  // no vendor info
    put32(log_, 0);
    put32(log_, kEvNoAction);
    log_.insert(log_.end(), 20, 0);
    put32(log_, static_cast<std::uint32_t>(spec.size()));
    log_.insert(log_.end(), spec.begin(), spec.end());
  }

  // Records an event and returns the SHA-256 digest it extends its PCR with.
  Bytes add(std::uint32_t pcr, std::uint32_t type, std::string_view data) {
    Bytes digest = ossl::sha256(as_bytes(data));
    put32(log_, pcr);
    put32(log_, type);
    put32(log_, 1);
    put16(log_, kAlgSha256);
    log_.insert(log_.end(), digest.begin(), digest.end());
    put32(log_, static_cast<std::uint32_t>(data.size()));
    log_.insert(log_.end(), data.begin(), data.end());
    return digest;
  }

  [[nodiscard]] const Bytes& bytes() const { return log_; }

 private:
  Bytes log_;
};

void extend_sha256(const vtpm::Tpm& tpm, std::uint32_t index, const Bytes& digest) {
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::copy(digest.begin(), digest.end(), values.digests[0].digest.sha256);
  TSS2_RC rc = Esys_PCR_Extend(tpm.esys(), ESYS_TR_PCR0 + index, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               &values);
  ASSERT_EQ(rc, TSS2_RC_SUCCESS) << "PCR_Extend " << index;
}

// A forged Milan platform; key generation is slow, so it is made once.
struct Platform {
  testing::Chain chain;
  testing::ChainOptions options;
  testing::ReportFields fields;
};

const Platform& platform() {
  static Platform made = [] {
    Platform out;
    for (std::size_t i = 0; i < out.options.chip_id.size(); ++i) {
      out.options.chip_id[i] = static_cast<std::uint8_t>(0x40 + i);
    }
    out.options.tcb = snp::Tcb{.bootloader = 4, .tee = 0, .snp = 22, .microcode = 219};
    auto chain = testing::make_chain(out.options);
    EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
    out.chain = std::move(*chain);
    std::uint64_t tcb = testing::encode_tcb(out.options.tcb, snp::Product::milan);
    out.fields.current_tcb = tcb;
    out.fields.reported_tcb = tcb;
    out.fields.committed_tcb = tcb;
    out.fields.launch_tcb = tcb;
    out.fields.chip_id = out.options.chip_id;
    return out;
  }();
  return made;
}

// A report signed by the forged VCEK whose REPORT_DATA binds `claims`.
Bytes signed_report(ByteView claims, testing::ReportFields fields = platform().fields) {
  Bytes hash = ossl::sha256(claims);
  std::fill(fields.report_data.begin(), fields.report_data.end(), 0);
  std::copy(hash.begin(), hash.end(), fields.report_data.begin());
  Bytes report = testing::encode_report(fields);
  EXPECT_TRUE(testing::sign_report(report, platform().chain.leaf_key.get()).has_value());
  return report;
}

class SwtpmEvidence : public testing::AkTest {
 protected:
  void SetUp() override {
    AkTest::SetUp();
    if (HasFatalFailure()) return;
    vtpm::Tpm tpm = open_tpm();

    EventLogWriter log;
    for (std::uint32_t pcr = 0; pcr < 8; ++pcr) {
      Bytes digest = log.add(pcr, kEvEfiVariableDriverConfig, "component measured into PCR " + std::to_string(pcr));
      extend_sha256(tpm, pcr, digest);
      if (pcr == 4) {
        extend_sha256(tpm, pcr, log.add(pcr, kEvEfiBootServicesApplication, "boot loader"));
      }
    }
    extend_sha256(tpm, 7, log.add(7, kEvSeparator, std::string(4, '\0')));
    ASSERT_FALSE(HasFatalFailure());
    log_ = log.bytes();

    auto ak = vtpm::read_ak_public(tpm);
    ASSERT_TRUE(ak.has_value()) << ak.error().to_string();
    auto quote = vtpm::quote(tpm, vtpm::QuoteOptions{.nonce = kNonce});
    ASSERT_TRUE(quote.has_value()) << quote.error().to_string();
    auto ephemeral = vtpm::create_ephemeral_key(tpm);
    ASSERT_TRUE(ephemeral.has_value()) << ephemeral.error().to_string();

    std::string claims = testing::runtime_claims_for(ak->key.get(), {});
    evidence_.snp_report = signed_report(as_bytes(claims));
    evidence_.runtime_claims.assign(claims.begin(), claims.end());
    evidence_.vcek_chain_pem = ossl::certificate_pem(platform().chain.leaf.get()) + testing::chain_pem(platform().chain);
    evidence_.ak_public = ak->tpm2b_public;
    evidence_.quote = quote->attest;
    evidence_.quote_signature = quote->signature.value;
    for (const auto& pcr : quote->pcrs.values) {
      evidence_.pcrs.push_back(PcrEntry{.index = pcr.index, .digest = pcr.digest});
    }
    evidence_.event_log = log_;
    evidence_.ephemeral_public = ephemeral->public_key.tpm2b_public;
    evidence_.ephemeral_certify_info = ephemeral->certify_info;
    evidence_.ephemeral_certify_signature = ephemeral->certify_signature.value;

    trust_.add_root(copy_of(platform().chain.ark.get()));
    options_.expected_nonce = kNonce;
    options_.required_pcrs = {0, 1, 2, 3, 4, 5, 6, 7};
  }

  EvidenceVerification verify(const Evidence& evidence) { return verify_evidence(evidence, trust_, options_); }

  Bytes log_;
  Evidence evidence_;
  snp::TrustStore trust_ = snp::TrustStore::amd();
  EvidenceVerifyOptions options_;
};

TEST_F(SwtpmEvidence, EveryCheckPasses) {
  EvidenceVerification verification = verify(evidence_);
  EXPECT_NE(verification.find("ephemeral_key")->detail.find("PolicyPCR over the quoted PCRs 0-7"), std::string::npos)
      << describe(verification);
  for (const auto& check : verification.checks) {
    EXPECT_EQ(check.status, snp::CheckStatus::pass) << check.name << ": " << check.detail;
  }
  EXPECT_EQ(verification.checks.size(), 11u);
  EXPECT_TRUE(verification.passed()) << describe(verification);
}

TEST_F(SwtpmEvidence, AzureGuestRoundTrip) {
  auto read = read_evidence(encode_azure_guest(evidence_));
  ASSERT_TRUE(read.has_value()) << read.error().to_string();
  EXPECT_EQ(read->event_log, evidence_.event_log);
  EXPECT_EQ(read->ephemeral_public, evidence_.ephemeral_public);
  EXPECT_EQ(read->ephemeral_certify_info, evidence_.ephemeral_certify_info);
  EXPECT_EQ(read->ephemeral_certify_signature, evidence_.ephemeral_certify_signature);
  EXPECT_EQ(read->vcek_chain_pem, evidence_.vcek_chain_pem);
  EvidenceVerification verification = verify(*read);
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(status_of(verification, "ephemeral_key"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "event_log_replay"), snp::CheckStatus::pass);
}

TEST_F(SwtpmEvidence, UntrustedArkFailsChain) {
  trust_ = snp::TrustStore::amd();
  EXPECT_EQ(failed_checks(verify(evidence_)), Checks{"certificate_chain"});
}

TEST_F(SwtpmEvidence, TamperedEncKeyPubFailsEphemeralKey) {
  const Bytes& original = *evidence_.ephemeral_public;
  // Offsets into the TPM2B_PUBLIC: objectAttributes (6), the policy digest
  // (10), and bytes of the modulus at the end.
  for (std::size_t offset : {std::size_t{7}, std::size_t{12}, original.size() - 100, original.size() - 1}) {
    Evidence evidence = evidence_;
    (*evidence.ephemeral_public)[offset] ^= 0x01;
    EvidenceVerification verification = verify(evidence);
    EXPECT_EQ(failed_checks(verification), Checks{"ephemeral_key"}) << "offset " << offset << "\n"
                                                                     << describe(verification);
  }
}

TEST_F(SwtpmEvidence, TamperedCertifyInfoFailsEphemeralKey) {
  for (std::size_t offset : {std::size_t{0}, std::size_t{20}, evidence_.ephemeral_certify_info->size() - 1}) {
    Evidence evidence = evidence_;
    (*evidence.ephemeral_certify_info)[offset] ^= 0x01;
    EXPECT_EQ(failed_checks(verify(evidence)), Checks{"ephemeral_key"}) << "offset " << offset;
  }
  Evidence evidence = evidence_;
  (*evidence.ephemeral_certify_signature)[100] ^= 0x01;
  EXPECT_EQ(failed_checks(verify(evidence)), Checks{"ephemeral_key"});
  evidence = evidence_;
  evidence.ephemeral_certify_signature.reset();
  EXPECT_EQ(failed_checks(verify(evidence)), Checks{"ephemeral_key"});
}

TEST_F(SwtpmEvidence, CertifyOfAnotherKeyFailsEphemeralKey) {
  // The AK's certification of a second ephemeral key: validly signed, but of another object.
  vtpm::Tpm tpm = open_tpm();
  auto second = vtpm::create_ephemeral_key(
      tpm, vtpm::EphemeralKeyOptions{.pcrs = vtpm::PcrSelection{.indices = {0, 1, 2}}});
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  Evidence evidence = evidence_;
  evidence.ephemeral_certify_info = second->certify_info;
  evidence.ephemeral_certify_signature = second->certify_signature.value;
  EvidenceVerification verification = verify(evidence);
  EXPECT_EQ(failed_checks(verification), Checks{"ephemeral_key"}) << describe(verification);
  EXPECT_NE(verification.find("ephemeral_key")->detail.find("another object"), std::string::npos);
}

TEST_F(SwtpmEvidence, KeyBoundToOtherPcrsFails) {
  // A genuine key and certification, but its policy covers PCRs 0-2 only,
  // so a later change of PCRs 3-7 would not lock it.
  vtpm::Tpm tpm = open_tpm();
  auto narrow = vtpm::create_ephemeral_key(
      tpm, vtpm::EphemeralKeyOptions{.pcrs = vtpm::PcrSelection{.indices = {0, 1, 2}}});
  ASSERT_TRUE(narrow.has_value()) << narrow.error().to_string();
  Evidence evidence = evidence_;
  evidence.ephemeral_public = narrow->public_key.tpm2b_public;
  evidence.ephemeral_certify_info = narrow->certify_info;
  evidence.ephemeral_certify_signature = narrow->certify_signature.value;
  EvidenceVerification verification = verify(evidence);
  EXPECT_EQ(failed_checks(verification), Checks{"ephemeral_key"}) << describe(verification);
  EXPECT_NE(verification.find("ephemeral_key")->detail.find("authPolicy"), std::string::npos);

  // The policy is compared with attested values only: with a changed PCR
  // value, pcr_digest fails and the policy is not compared.
  evidence_.pcrs[2].digest[0] ^= 0x01;
  verification = verify(evidence_);
  EXPECT_EQ(failed_checks(verification), Checks{"pcr_digest"});
  EXPECT_NE(verification.find("ephemeral_key")->detail.find("not compared"), std::string::npos);
}

TEST_F(SwtpmEvidence, MissingQuoteFailsWhatNeedsIt) {
  // Without a quote nothing vouches for the PCR values the key's policy
  // must match, nor carries the nonce or covers the required PCRs.
  Evidence evidence = evidence_;
  evidence.quote.reset();
  evidence.quote_signature.reset();
  EvidenceVerification verification = verify(evidence);
  EXPECT_EQ(failed_checks(verification), (Checks{"ephemeral_key", "nonce", "pcr_digest"})) << describe(verification);
  EXPECT_FALSE(verification.passed());

  // Without the key, an expected nonce and required PCRs, the hardware part alone can pass.
  evidence.ephemeral_public.reset();
  options_.expected_nonce.reset();
  options_.required_pcrs.clear();
  EXPECT_TRUE(verify(evidence).passed()) << describe(verify(evidence));
}

TEST_F(SwtpmEvidence, ChangedPcrFailsPcrDigest) {
  for (std::size_t i : {std::size_t{0}, std::size_t{4}, std::size_t{7}}) {
    Evidence evidence = evidence_;
    evidence.pcrs[i].digest[31] ^= 0x01;
    EvidenceVerification verification = verify(evidence);
    EXPECT_EQ(failed_checks(verification), Checks{"pcr_digest"}) << "PCR " << i << "\n" << describe(verification);
  }
}

TEST_F(SwtpmEvidence, MismatchedEventLogFailsReplay) {
  // An event whose recorded digest differs from what was extended.
  Evidence changed = evidence_;
  changed.event_log[changed.event_log.size() - 10] ^= 0x01;  // inside the last event's digest
  EvidenceVerification verification = verify(changed);
  EXPECT_EQ(failed_checks(verification), Checks{"event_log_replay"}) << describe(verification);
  EXPECT_NE(verification.find("event_log_replay")->detail.find("PCRs 7"), std::string::npos)
      << verification.find("event_log_replay")->detail;

  // A log missing its last event.
  Evidence shortened = evidence_;
  EventLogWriter partial;
  for (std::uint32_t pcr = 0; pcr < 8; ++pcr) {
    (void)partial.add(pcr, kEvEfiVariableDriverConfig, "component measured into PCR " + std::to_string(pcr));
    if (pcr == 4) (void)partial.add(pcr, kEvEfiBootServicesApplication, "boot loader");
  }
  shortened.event_log = partial.bytes();
  EXPECT_EQ(failed_checks(verify(shortened)), Checks{"event_log_replay"});

  // A log that does not parse.
  Evidence truncated = evidence_;
  truncated.event_log.resize(truncated.event_log.size() - 3);
  EXPECT_EQ(failed_checks(verify(truncated)), Checks{"event_log_replay"});
}

TEST_F(SwtpmEvidence, PolicyBitsFailReportPolicy) {
  for (std::uint64_t bit : {kPolicyDebug, kPolicyMigrateMa}) {
    testing::ReportFields fields = platform().fields;
    fields.policy |= bit;
    Evidence evidence = evidence_;
    evidence.snp_report = signed_report(evidence.runtime_claims, fields);
    EvidenceVerification verification = verify(evidence);
    EXPECT_EQ(failed_checks(verification), Checks{"report_policy"}) << "bit " << bit << "\n"
                                                                      << describe(verification);
  }
  options_.policy.allow_debug = true;
  testing::ReportFields fields = platform().fields;
  fields.policy |= kPolicyDebug;
  Evidence evidence = evidence_;
  evidence.snp_report = signed_report(evidence.runtime_claims, fields);
  EXPECT_TRUE(verify(evidence).passed());
}

TEST_F(SwtpmEvidence, VmplAndTcbFailReportPolicy) {
  testing::ReportFields fields = platform().fields;
  fields.vmpl = 2;
  Evidence evidence = evidence_;
  evidence.snp_report = signed_report(evidence.runtime_claims, fields);
  EXPECT_EQ(failed_checks(verify(evidence)), Checks{"report_policy"});

  options_.policy.minimum_tcb = snp::Tcb{.bootloader = 4, .tee = 0, .snp = 23, .microcode = 219};
  EXPECT_EQ(failed_checks(verify(evidence_)), Checks{"report_policy"});
  options_.policy.minimum_tcb = snp::Tcb{.bootloader = 4, .tee = 0, .snp = 22, .microcode = 219};
  EXPECT_TRUE(verify(evidence_).passed());
}

TEST_F(SwtpmEvidence, SwappedAkFailsAkMatch) {
  // The claims, and the report over them, name another RSA key than the
  // swtpm AK that made the quote.
  auto other = testing::generate_rsa_key(2048);
  ASSERT_TRUE(other.has_value());
  std::string claims = testing::runtime_claims_for(other->get(), {});
  Evidence evidence = evidence_;
  evidence.runtime_claims.assign(claims.begin(), claims.end());
  evidence.snp_report = signed_report(evidence.runtime_claims);
  EvidenceVerification verification = verify(evidence);
  EXPECT_EQ(failed_checks(verification), Checks{"ak_matches_claims"}) << describe(verification);
  EXPECT_EQ(status_of(verification, "quote_signature"), snp::CheckStatus::pass);
}

TEST_F(SwtpmEvidence, ClaimsWithoutAkFailAkMatchOnly) {
  // Signed claims without HCLAkPub: the AK cannot be tied to the report,
  // but the quote and the certification still verify with AikPub.
  std::string claims = "{\"keys\":[],\"user-data\":\"\"}";
  Evidence evidence = evidence_;
  evidence.runtime_claims.assign(claims.begin(), claims.end());
  evidence.snp_report = signed_report(evidence.runtime_claims);
  EvidenceVerification verification = verify(evidence);
  EXPECT_EQ(failed_checks(verification), Checks{"ak_matches_claims"}) << describe(verification);
  EXPECT_EQ(status_of(verification, "quote_signature"), snp::CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "ephemeral_key"), snp::CheckStatus::pass);
}

TEST_F(SwtpmEvidence, WrongNonceFailsNonce) {
  options_.expected_nonce = Bytes{'o', 't', 'h', 'e', 'r'};
  EXPECT_EQ(failed_checks(verify(evidence_)), Checks{"nonce"});
}

TEST_F(SwtpmEvidence, RequiredPcrOutsideQuoteFails) {
  options_.required_pcrs = {0, 1, 2, 3, 4, 5, 6, 7, 11};
  EvidenceVerification verification = verify(evidence_);
  EXPECT_EQ(failed_checks(verification), Checks{"pcr_digest"});
  EXPECT_NE(verification.find("pcr_digest")->detail.find("11"), std::string::npos);
}

// `cvm-attest verify` on the same evidence, written as an AzureGuest body,
// with the forged ARK given as --trust-anchor.
class VerifyCommand : public SwtpmEvidence {
 protected:
  void SetUp() override {
    SwtpmEvidence::SetUp();
    if (HasFatalFailure()) return;
    directory_ = std::filesystem::path(swtpm_->state_dir()) / "verify-command";
    std::filesystem::create_directories(directory_);
    write("ark.pem", ossl::certificate_pem(platform().chain.ark.get()));
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream out(directory_ / name, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good()) << name;
  }

  testing::ProcessResult run(const Evidence& evidence, std::vector<std::string> extra) {
    write("evidence.json", encode_azure_guest(evidence));
    std::vector<std::string> arguments = {CVM_ATTEST_BINARY, "verify", (directory_ / "evidence.json").string(),
                                          "--trust-anchor", (directory_ / "ark.pem").string()};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    auto result = testing::run_process(arguments);
    EXPECT_TRUE(result.has_value()) << result.error().to_string();
    return result ? *result : testing::ProcessResult{};
  }

  std::filesystem::path directory_;
};

TEST_F(VerifyCommand, JsonReportsEveryCheck) {
  testing::ProcessResult result = run(evidence_, {"--nonce", hex_encode(kNonce), "--pcrs", "0-7", "--json"});
  EXPECT_EQ(result.exit_status, 0) << result.output;
  Json::Value output = testing::parse_json_text(result.output);
  EXPECT_TRUE(output["passed"].asBool());
  EXPECT_EQ(output["format"].asString(), "azure-guest");
  EXPECT_EQ(output["product"].asString(), "Milan");
  ASSERT_EQ(output["checks"].size(), 11u);
  for (const Json::Value& check : output["checks"]) {
    EXPECT_EQ(check["status"].asString(), "pass") << check["name"].asString() << ": " << check["detail"].asString();
  }
  EXPECT_TRUE(output["notes"].isArray());
}

TEST_F(VerifyCommand, FailedCheckExitsWithOne) {
  Evidence evidence = evidence_;
  evidence.pcrs[0].digest[0] ^= 0x01;
  testing::ProcessResult result = run(evidence, {"--nonce", hex_encode(kNonce)});
  EXPECT_EQ(result.exit_status, 1) << result.output;
  EXPECT_NE(result.output.find("fail    pcr_digest"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("verification FAILED"), std::string::npos) << result.output;
}

TEST_F(VerifyCommand, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run(evidence_, {"--nonce", "xyz"}).exit_status, 2);
  EXPECT_EQ(run(evidence_, {"--pcrs", "0-99"}).exit_status, 2);
  EXPECT_EQ(run(evidence_, {"--at", "yesterday"}).exit_status, 2);
  EXPECT_EQ(run(evidence_, {"--product", "athlon"}).exit_status, 2);
}

}  // namespace
}  // namespace cvm::report
