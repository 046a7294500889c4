// Verification of forged reports and chains: cases no real fixture covers.
#include <gtest/gtest.h>

#include <map>

#include "common/time.hpp"
#include "snp/verify.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::snp {
namespace {

using cvm::testing::Chain;
using cvm::testing::ChainOptions;
using cvm::testing::ReportFields;

const Check* find_check(const Verification& verification, std::string_view name) {
  for (const auto& check : verification.checks) {
    if (check.name == name) {
      return &check;
    }
  }
  return nullptr;
}

CheckStatus status_of(const Verification& verification, std::string_view name) {
  const Check* check = find_check(verification, name);
  return check ? check->status : CheckStatus::skipped;
}

ossl::UniqueX509 copy_of(X509* certificate) {
  X509_up_ref(certificate);
  return ossl::UniqueX509(certificate);
}

// A forged platform: its chain, its chip and TCB, and a signed report.
struct Platform {
  Chain chain;
  ChainOptions options;
  ReportFields fields;
};

ChainOptions options_for(Product product, bool vlek) {
  ChainOptions options;
  options.product = product;
  options.vlek = vlek;
  for (std::size_t i = 0; i < options.chip_id.size(); ++i) {
    options.chip_id[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }
  if (product == Product::turin) {
    std::fill(options.chip_id.begin() + 8, options.chip_id.end(), 0);
    options.tcb = Tcb{.bootloader = 2, .tee = 1, .snp = 24, .microcode = 72, .fmc = 3};
  } else {
    options.tcb = Tcb{.bootloader = 4, .tee = 0, .snp = 22, .microcode = 219};
  }
  return options;
}

// Key generation is the slow part, so each kind of chain is made once per run.
const Platform& platform(Product product, bool vlek) {
  static std::map<std::pair<Product, bool>, Platform> cache;
  auto key = std::make_pair(product, vlek);
  auto found = cache.find(key);
  if (found != cache.end()) {
    return found->second;
  }
  Platform made;
  made.options = options_for(product, vlek);
  auto chain = cvm::testing::make_chain(made.options);
  EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
  made.chain = std::move(*chain);
  made.fields.version = 3;
  std::uint64_t tcb = cvm::testing::encode_tcb(made.options.tcb, product);
  made.fields.current_tcb = tcb;
  made.fields.reported_tcb = tcb;
  made.fields.committed_tcb = tcb;
  made.fields.launch_tcb = tcb;
  if (!vlek) {
    made.fields.chip_id = made.options.chip_id;
  }
  made.fields.key_info = vlek ? (1u << 2) : 0u;
  switch (product) {
    case Product::milan: made.fields.cpuid_fam_id = 0x19; made.fields.cpuid_mod_id = 0x01; break;
    case Product::genoa: made.fields.cpuid_fam_id = 0x19; made.fields.cpuid_mod_id = 0x11; break;
    case Product::turin: made.fields.cpuid_fam_id = 0x1a; made.fields.cpuid_mod_id = 0x02; break;
  }
  return cache.emplace(key, std::move(made)).first->second;
}

Bytes signed_report(const Platform& platform, const ReportFields& fields) {
  Bytes data = cvm::testing::encode_report(fields);
  auto signed_ok = cvm::testing::sign_report(data, platform.chain.leaf_key.get());
  EXPECT_TRUE(signed_ok.has_value());
  return data;
}

Endorsement endorsement_of(const Platform& platform) {
  Endorsement endorsement;
  endorsement.leaf = copy_of(platform.chain.leaf.get());
  endorsement.chain.push_back(copy_of(platform.chain.ask.get()));
  endorsement.chain.push_back(copy_of(platform.chain.ark.get()));
  return endorsement;
}

TrustStore trusting(const Platform& platform) {
  TrustStore trust = TrustStore::amd();
  trust.add_root(copy_of(platform.chain.ark.get()));
  return trust;
}

Verification verify_bytes(const Platform& platform, const Bytes& data, const TrustStore& trust,
                          VerifyOptions options = {}) {
  auto report = parse_report(data);
  EXPECT_TRUE(report.has_value()) << report.error().to_string();
  return verify_report(*report, endorsement_of(platform), trust, options);
}

std::string describe(const Verification& verification) {
  std::string out;
  for (const auto& check : verification.checks) {
    out += check.name + "=" + std::string(check_status_name(check.status)) + " (" + check.detail + ")\n";
  }
  return out;
}

class ForgedProducts : public ::testing::TestWithParam<std::tuple<Product, std::uint32_t>> {};

TEST_P(ForgedProducts, ReportVerifiesWithItsAnchor) {
  auto [product, version] = GetParam();
  const Platform& forged = platform(product, false);
  ReportFields fields = forged.fields;
  fields.version = version;
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(verification.product, product);
  EXPECT_EQ(status_of(verification, "chip_id_match"), CheckStatus::pass);
}

INSTANTIATE_TEST_SUITE_P(Snp, ForgedProducts,
                         ::testing::Values(std::make_tuple(Product::milan, 3u),
                                           std::make_tuple(Product::genoa, 5u),
                                           std::make_tuple(Product::turin, 3u),
                                           std::make_tuple(Product::turin, 5u)),
                         [](const auto& param_info) {
                           return std::string(product_name(std::get<0>(param_info.param))) + "V" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(VerifyReport, LocalRootIsNotTrustedWithoutAnchor) {
  const Platform& forged = platform(Product::milan, false);
  Verification verification = verify_bytes(forged, signed_report(forged, forged.fields), TrustStore::amd());
  EXPECT_FALSE(verification.passed());
  EXPECT_EQ(status_of(verification, "certificate_chain"), CheckStatus::fail);
  EXPECT_EQ(status_of(verification, "report_signature"), CheckStatus::pass);
}

TEST(VerifyReport, TurinUsesFmcInTcbMatch) {
  const Platform& forged = platform(Product::turin, false);
  ReportFields fields = forged.fields;
  Tcb other_fmc = forged.options.tcb;
  other_fmc.fmc = 9;
  fields.reported_tcb = cvm::testing::encode_tcb(other_fmc, Product::turin);
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "tcb_match"), CheckStatus::fail);
  EXPECT_NE(find_check(verification, "tcb_match")->detail.find("fmcSPL"), std::string::npos);
}

TEST(VerifyReport, VlekSignedReportVerifies) {
  const Platform& forged = platform(Product::genoa, true);
  Verification verification = verify_bytes(forged, signed_report(forged, forged.fields), trusting(forged));
  EXPECT_TRUE(verification.passed()) << describe(verification);
  EXPECT_EQ(status_of(verification, "signing_key"), CheckStatus::pass);
  EXPECT_EQ(status_of(verification, "chip_id_match"), CheckStatus::skipped);
}

TEST(VerifyReport, KeyInfoMustNameTheGivenKey) {
  const Platform& vlek = platform(Product::genoa, true);
  ReportFields fields = vlek.fields;
  fields.key_info = 0;  // claims VCEK, but the VLEK signed it
  Verification verification = verify_bytes(vlek, signed_report(vlek, fields), trusting(vlek));
  EXPECT_EQ(status_of(verification, "signing_key"), CheckStatus::fail);
  EXPECT_FALSE(verification.passed());

  fields.key_info = 7u << 2;  // "not signed"
  verification = verify_bytes(vlek, signed_report(vlek, fields), trusting(vlek));
  EXPECT_EQ(status_of(verification, "signing_key"), CheckStatus::fail);
}

TEST(VerifyReport, ExpiredVcekDependsOnTime) {
  const Platform& base = platform(Product::milan, false);
  ChainOptions expired_options = base.options;
  expired_options.not_before_offset_seconds = -10L * 365 * 24 * 3600;
  expired_options.lifetime_seconds = 365L * 24 * 3600;
  auto expired_leaf = cvm::testing::issue_leaf(base.chain, expired_options);
  ASSERT_TRUE(expired_leaf.has_value());
  Bytes data = signed_report(base, base.fields);
  auto report = parse_report(data);
  ASSERT_TRUE(report.has_value());

  Endorsement endorsement = endorsement_of(base);
  endorsement.leaf = std::move(*expired_leaf);
  Verification now = verify_report(*report, endorsement, trusting(base), VerifyOptions{});
  EXPECT_EQ(status_of(now, "certificate_chain"), CheckStatus::fail);
  EXPECT_NE(find_check(now, "certificate_chain")->detail.find("expired"), std::string::npos);

  // The leaf was valid from ten to nine years ago. The forged ARK and ASK
  // became valid twenty years ago, so the whole chain was valid back then.
  VerifyOptions past;
  past.at = Clock::now() - std::chrono::hours(24 * (365 * 9 + 180));
  Verification then = verify_report(*report, endorsement, trusting(base), past);
  EXPECT_TRUE(then.passed()) << describe(then);

  VerifyOptions before_issue;
  before_issue.at = Clock::now() - std::chrono::hours(24 * 365 * 11);
  Verification early = verify_report(*report, endorsement, trusting(base), before_issue);
  EXPECT_EQ(status_of(early, "certificate_chain"), CheckStatus::fail);
  EXPECT_NE(find_check(early, "certificate_chain")->detail.find("not valid before"), std::string::npos);
}

TEST(VerifyReport, FutureTimeWithinValidityPasses) {
  const Platform& forged = platform(Product::milan, false);
  VerifyOptions later;
  later.at = Clock::now() + std::chrono::hours(24 * 365);
  Verification verification = verify_bytes(forged, signed_report(forged, forged.fields), trusting(forged), later);
  EXPECT_TRUE(verification.passed()) << describe(verification);
}

TEST(VerifyReport, WrongIntermediateFails) {
  const Platform& milan = platform(Product::milan, false);
  const Platform& genoa = platform(Product::genoa, false);
  auto report = parse_report(signed_report(milan, milan.fields));
  ASSERT_TRUE(report.has_value());
  Endorsement endorsement;
  endorsement.leaf = copy_of(milan.chain.leaf.get());
  endorsement.chain.push_back(copy_of(genoa.chain.ask.get()));
  endorsement.chain.push_back(copy_of(genoa.chain.ark.get()));
  TrustStore trust = trusting(genoa);
  Verification verification = verify_report(*report, endorsement, trust, VerifyOptions{});
  EXPECT_EQ(status_of(verification, "certificate_chain"), CheckStatus::fail);
}

TEST(VerifyReport, IntermediateSignedByAnotherRootFails) {
  const Platform& milan = platform(Product::milan, false);
  const Platform& genoa = platform(Product::genoa, false);
  // The Genoa ARK is trusted but did not issue the Milan ASK, so no trusted
  // root is found.
  auto report = parse_report(signed_report(milan, milan.fields));
  ASSERT_TRUE(report.has_value());
  Endorsement endorsement;
  endorsement.leaf = copy_of(milan.chain.leaf.get());
  endorsement.chain.push_back(copy_of(milan.chain.ask.get()));
  Verification verification = verify_report(*report, endorsement, trusting(genoa), VerifyOptions{});
  EXPECT_EQ(status_of(verification, "certificate_chain"), CheckStatus::fail);
}

TEST(VerifyReport, TamperedSignedByteFailsSignature) {
  const Platform& forged = platform(Product::milan, false);
  Bytes data = signed_report(forged, forged.fields);
  data[0x90] ^= 0x01;  // MEASUREMENT
  Verification verification = verify_bytes(forged, data, trusting(forged));
  EXPECT_EQ(status_of(verification, "report_signature"), CheckStatus::fail);
  EXPECT_FALSE(verification.passed());
}

TEST(VerifyReport, TcbMismatchFails) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  Tcb newer = forged.options.tcb;
  newer.microcode = static_cast<std::uint8_t>(newer.microcode + 1);
  fields.reported_tcb = cvm::testing::encode_tcb(newer, Product::milan);
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "tcb_match"), CheckStatus::fail);
  EXPECT_EQ(status_of(verification, "report_signature"), CheckStatus::pass);
}

TEST(VerifyReport, CurrentTcbDifferenceIsANote) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  fields.current_tcb = fields.reported_tcb + (1ULL << 56);
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_TRUE(verification.passed()) << describe(verification);
  ASSERT_FALSE(verification.notes.empty());
  EXPECT_NE(verification.notes.front().find("CURRENT_TCB"), std::string::npos);
}

TEST(VerifyReport, ChipIdMismatchFails) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  fields.chip_id[5] ^= 0xff;
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "chip_id_match"), CheckStatus::fail);
  EXPECT_EQ(status_of(verification, "tcb_match"), CheckStatus::pass);
}

TEST(VerifyReport, CpuidAndVcekProductMustAgree) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  fields.cpuid_mod_id = 0x11;  // Genoa
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "product"), CheckStatus::fail);
}

TEST(VerifyReport, UnknownCpuFamilyFails) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  fields.cpuid_fam_id = 0x17;
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "product"), CheckStatus::fail);
  EXPECT_FALSE(verification.passed());
}

TEST(VerifyReport, Version2ProductFromConfiguration) {
  const Platform& base = platform(Product::milan, false);
  ChainOptions unnamed = base.options;
  unnamed.omit_product_name = true;
  auto leaf = cvm::testing::issue_leaf(base.chain, unnamed);
  ASSERT_TRUE(leaf.has_value());
  ReportFields fields = base.fields;
  fields.version = 2;
  auto report = parse_report(signed_report(base, fields));
  ASSERT_TRUE(report.has_value());
  Endorsement endorsement = endorsement_of(base);
  endorsement.leaf = std::move(*leaf);

  Verification without = verify_report(*report, endorsement, trusting(base), VerifyOptions{});
  EXPECT_EQ(status_of(without, "product"), CheckStatus::fail);

  VerifyOptions configured;
  configured.configured_product = Product::milan;
  Verification with = verify_report(*report, endorsement, trusting(base), configured);
  EXPECT_TRUE(with.passed()) << describe(with);
}

TEST(VerifyReport, NewerVersionVerifiesRawBytes) {
  const Platform& forged = platform(Product::genoa, false);
  ReportFields fields = forged.fields;
  fields.version = 7;
  Bytes data = cvm::testing::encode_report(fields);
  data[0x220] = 0x42;  // a field this agent does not know
  ASSERT_TRUE(cvm::testing::sign_report(data, forged.chain.leaf_key.get()).has_value());
  Verification verification = verify_bytes(forged, data, trusting(forged));
  EXPECT_TRUE(verification.passed()) << describe(verification);
  bool noted = false;
  for (const auto& note : verification.notes) {
    noted = noted || note.find("newer than this agent knows") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(VerifyReport, UnsupportedSignatureAlgorithmFails) {
  const Platform& forged = platform(Product::milan, false);
  ReportFields fields = forged.fields;
  fields.signature_algo = 2;
  Verification verification = verify_bytes(forged, signed_report(forged, fields), trusting(forged));
  EXPECT_EQ(status_of(verification, "report_signature"), CheckStatus::fail);
}

TEST(SortEndorsement, NeedsExactlyOneLeaf) {
  const Platform& forged = platform(Product::milan, false);
  std::vector<ossl::UniqueX509> only_chain;
  only_chain.push_back(copy_of(forged.chain.ask.get()));
  auto missing = sort_endorsement(std::move(only_chain));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);

  std::vector<ossl::UniqueX509> two_leaves;
  two_leaves.push_back(copy_of(forged.chain.leaf.get()));
  two_leaves.push_back(copy_of(forged.chain.leaf.get()));
  auto doubled = sort_endorsement(std::move(two_leaves));
  ASSERT_FALSE(doubled.has_value());
  EXPECT_EQ(doubled.error().code, Errc::invalid_argument);
}

TEST(VcekExtensions, ForgedTurinExtensions) {
  const Platform& forged = platform(Product::turin, false);
  auto extensions = parse_vcek_extensions(forged.chain.leaf.get());
  ASSERT_TRUE(extensions.has_value());
  EXPECT_EQ(extensions->product_name, "Turin");
  EXPECT_EQ(extensions->fmc_spl, 3);
  ASSERT_TRUE(extensions->hwid.has_value());
  EXPECT_EQ(extensions->hwid->size(), 8u);
  EXPECT_FALSE(extensions->csp_id.has_value());
}

}  // namespace
}  // namespace cvm::snp
