// Tests of the emulated platform data: the AMD-like chain, HCL reports and
// the boot event log, checked with the agent's own SNP verifier and an
// independent reading of the byte layouts.
#include <gtest/gtest.h>
#include <json/json.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "snp/certs.hpp"
#include "snp/report.hpp"
#include "snp/verify.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/tools/emulator_event_log.hpp"
#include "tests/tools/emulator_hcl.hpp"
#include "tests/tools/emulator_pki.hpp"

namespace cvm::emulator {
namespace {

struct GeneratedPlatform {
  Platform platform;
  testing::Chain chain;
};

// The tests share one chain with RSA-2048 roots, because RSA-4096
// generation takes seconds. RootsAreRsa4096 checks the default size.
const GeneratedPlatform& shared_platform() {
  static const GeneratedPlatform generated = [] {
    auto platform = random_platform(snp::Product::genoa);
    EXPECT_TRUE(platform.has_value());
    auto chain = generate_chain(*platform, 2048);
    EXPECT_TRUE(chain.has_value()) << chain.error().to_string();
    return GeneratedPlatform{*platform, std::move(*chain)};
  }();
  return generated;
}

Signer shared_signer() {
  const auto& generated = shared_platform();
  EVP_PKEY_up_ref(generated.chain.leaf_key.get());
  return Signer{.platform = generated.platform, .vcek_key = ossl::UniquePkey(generated.chain.leaf_key.get())};
}

std::string public_key_pem(EVP_PKEY* key) {
  ossl::UniqueBio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Bytes rsa_modulus(EVP_PKEY* key) {
  BIGNUM* modulus = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &modulus), 1);
  ossl::UniqueBignum owned(modulus);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(modulus)));
  BN_bn2bin(modulus, out.data());
  return out;
}

// A marshalled TPM2B_PUBLIC of an AK with the given modulus, as tpm2_readpublic -o writes it.
Bytes marshal_rsa_public(ByteView modulus) {
  TPM2B_PUBLIC public_area{};
  public_area.publicArea.type = TPM2_ALG_RSA;
  public_area.publicArea.nameAlg = TPM2_ALG_SHA256;
  public_area.publicArea.objectAttributes = 0x00050472;
  public_area.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  public_area.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  public_area.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  public_area.publicArea.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(modulus.size() * 8);
  public_area.publicArea.parameters.rsaDetail.exponent = 0;
  public_area.publicArea.unique.rsa.size = static_cast<std::uint16_t>(modulus.size());
  std::copy(modulus.begin(), modulus.end(), public_area.publicArea.unique.rsa.buffer);
  Bytes out(sizeof(TPM2B_PUBLIC));
  std::size_t offset = 0;
  EXPECT_EQ(Tss2_MU_TPM2B_PUBLIC_Marshal(&public_area, out.data(), out.size(), &offset), TSS2_RC_SUCCESS);
  out.resize(offset);
  return out;
}

Json::Value parse_json(std::string_view text) {
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  std::string errors;
  EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &root, &errors)) << errors;
  return root;
}

// The parts of an HCL report blob, read independently of the builder.
struct ParsedHcl {
  std::uint32_t signature = 0;
  std::uint32_t header_version = 0;
  std::uint32_t report_size = 0;
  std::uint32_t request_type = 0;
  std::uint32_t status = 0;
  Bytes snp_report;
  std::uint32_t data_size = 0;
  std::uint32_t request_data_version = 0;
  std::uint32_t report_type = 0;
  std::uint32_t hash_type = 0;
  std::string claims;
};

Result<ParsedHcl> parse_hcl(ByteView blob) {
  ByteReader reader(blob);
  ParsedHcl out;
  out.signature = CVM_TRY(reader.u32le("signature"));
  out.header_version = CVM_TRY(reader.u32le("version"));
  out.report_size = CVM_TRY(reader.u32le("report_size"));
  out.request_type = CVM_TRY(reader.u32le("request_type"));
  out.status = CVM_TRY(reader.u32le("status"));
  CVM_TRY(reader.skip(12, "reserved"));
  ByteView report = CVM_TRY(reader.bytes(snp::kReportSize, "hardware_report"));
  out.snp_report.assign(report.begin(), report.end());
  out.data_size = CVM_TRY(reader.u32le("data_size"));
  out.request_data_version = CVM_TRY(reader.u32le("request_data_version"));
  out.report_type = CVM_TRY(reader.u32le("report_type"));
  out.hash_type = CVM_TRY(reader.u32le("report_data_hash_type"));
  std::uint32_t claims_size = CVM_TRY(reader.u32le("variable_data_size"));
  out.claims = std::string(as_text(CVM_TRY(reader.bytes(claims_size, "runtime_claims"))));
  if (!reader.empty()) {
    return fail(Errc::invalid_data, "bytes after the claims");
  }
  return out;
}

snp::Verification verify_with_local_ark(const snp::Report& report) {
  const auto& chain = shared_platform().chain;
  snp::Endorsement endorsement;
  endorsement.leaf.reset(X509_dup(chain.leaf.get()));
  endorsement.chain.emplace_back(X509_dup(chain.ask.get()));
  endorsement.chain.emplace_back(X509_dup(chain.ark.get()));
  snp::TrustStore trust = snp::TrustStore::amd();
  trust.add_root(ossl::UniqueX509(X509_dup(chain.ark.get())));
  return snp::verify_report(report, endorsement, trust, snp::VerifyOptions{});
}

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "emulator_test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kVmId = "0f3c1e6a-2b4d-4c5e-8f70-91a2b3c4d5e6";

TEST(EmulatorPki, VcekCarriesPlatformExtensions) {
  const auto& generated = shared_platform();
  auto extensions = snp::parse_vcek_extensions(generated.chain.leaf.get());
  ASSERT_TRUE(extensions.has_value()) << extensions.error().to_string();
  EXPECT_EQ(extensions->product_name, "Genoa");
  EXPECT_EQ(extensions->bootloader_spl, generated.platform.tcb.bootloader);
  EXPECT_EQ(extensions->tee_spl, generated.platform.tcb.tee);
  EXPECT_EQ(extensions->snp_spl, generated.platform.tcb.snp);
  EXPECT_EQ(extensions->microcode_spl, generated.platform.tcb.microcode);
  ASSERT_TRUE(extensions->hwid.has_value());
  EXPECT_EQ(*extensions->hwid, Bytes(generated.platform.chip_id.begin(), generated.platform.chip_id.end()));
  EXPECT_FALSE(all_zero(generated.platform.chip_id));
}

TEST(EmulatorPki, RootsAreRsa4096) {
  auto platform = random_platform(snp::Product::milan);
  ASSERT_TRUE(platform.has_value());
  auto generated = generate_chain(*platform);
  ASSERT_TRUE(generated.has_value()) << generated.error().to_string();
  const testing::Chain& chain = *generated;
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(chain.ark.get())), 4096);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(chain.ask.get())), 4096);
  EXPECT_EQ(X509_get_signature_nid(chain.ask.get()), NID_rsassaPss);
  EXPECT_EQ(ossl::subject_common_name(chain.ark.get()), "ARK-Milan");
  auto extensions = snp::parse_vcek_extensions(chain.leaf.get());
  ASSERT_TRUE(extensions.has_value());
  EXPECT_EQ(extensions->product_name, "Milan-B0");
}

TEST(EmulatorPki, WritesFilesAndReloads) {
  TemporaryDirectory directory;
  ASSERT_FALSE(directory.path().empty());
  const auto& generated = shared_platform();
  auto written = write_pki(directory.path(), generated.chain, generated.platform);
  ASSERT_TRUE(written.has_value()) << written.error().to_string();

  for (const char* name : {"ark.pem", "ask.pem", "vcek.pem", "vcek.der", "vcek-chain.pem", "cert_chain.pem",
                           "vcek.key", "platform.json"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(directory.path() + "/" + name)) << name;
  }
  struct stat key_status {};
  ASSERT_EQ(::stat((directory.path() + "/vcek.key").c_str(), &key_status), 0);
  EXPECT_EQ(key_status.st_mode & 0777, 0600u);

  auto chain_file = read_file(directory.path() + "/vcek-chain.pem", 1 << 20);
  ASSERT_TRUE(chain_file.has_value());
  auto certificates = ossl::parse_certificates(*chain_file, "vcek-chain.pem");
  ASSERT_TRUE(certificates.has_value());
  ASSERT_EQ(certificates->size(), 3u);
  EXPECT_EQ(ossl::subject_common_name((*certificates)[0].get()), "SEV-VCEK");
  EXPECT_EQ(ossl::subject_common_name((*certificates)[1].get()), "SEV-Genoa");
  EXPECT_EQ(ossl::subject_common_name((*certificates)[2].get()), "ARK-Genoa");

  auto kds_chain = read_file(directory.path() + "/cert_chain.pem", 1 << 20);
  ASSERT_TRUE(kds_chain.has_value());
  auto kds_certificates = ossl::parse_certificates(*kds_chain, "cert_chain.pem");
  ASSERT_TRUE(kds_certificates.has_value());
  ASSERT_EQ(kds_certificates->size(), 2u);
  EXPECT_EQ(ossl::subject_common_name((*kds_certificates)[0].get()), "SEV-Genoa");

  auto signer = load_signer(directory.path());
  ASSERT_TRUE(signer.has_value()) << signer.error().to_string();
  EXPECT_EQ(signer->platform.chip_id, generated.platform.chip_id);
  EXPECT_EQ(signer->platform.tcb, generated.platform.tcb);
  EXPECT_EQ(signer->platform.measurement, generated.platform.measurement);
  EXPECT_EQ(signer->platform.firmware_build, generated.platform.firmware_build);
  EXPECT_EQ(EVP_PKEY_eq(signer->vcek_key.get(), generated.chain.leaf_key.get()), 1);
}

TEST(EmulatorPki, PlatformJsonRejectsBadFields) {
  const auto& platform = shared_platform().platform;
  Json::Value good = parse_json(platform_json(platform));
  ASSERT_TRUE(parse_platform_json(platform_json(platform)).has_value());

  auto rewrite = [&](const std::function<void(Json::Value&)>& change) {
    Json::Value copy = good;
    change(copy);
    return parse_platform_json(Json::writeString(Json::StreamWriterBuilder(), copy));
  };
  auto short_chip = rewrite([](Json::Value& v) { v["chip_id"] = "abcd"; });
  ASSERT_FALSE(short_chip.has_value());
  EXPECT_EQ(short_chip.error().code, Errc::invalid_data);
  auto big_spl = rewrite([](Json::Value& v) { v["tcb"]["snp"] = 256; });
  ASSERT_FALSE(big_spl.has_value());
  EXPECT_EQ(big_spl.error().code, Errc::invalid_data);
  auto turin = rewrite([](Json::Value& v) { v["product"] = "Turin"; });
  ASSERT_FALSE(turin.has_value());
  EXPECT_EQ(turin.error().code, Errc::unsupported);
  auto firmware = rewrite([](Json::Value& v) { v["firmware"] = "1.55"; });
  ASSERT_FALSE(firmware.has_value());
  EXPECT_EQ(firmware.error().code, Errc::invalid_data);
  EXPECT_FALSE(parse_platform_json("[1, 2]").has_value());
}

class EmulatorHcl : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = testing::generate_rsa_key(2048);
    ASSERT_TRUE(key.has_value());
    ak_key_ = std::move(*key);
    auto ak = parse_ak_public(as_bytes(public_key_pem(ak_key_.get())));
    ASSERT_TRUE(ak.has_value()) << ak.error().to_string();
    ak_ = *ak;
  }

  Result<Bytes> build(const HclOptions& options) {
    Signer signer = shared_signer();
    return build_hcl_report(signer, ak_, options);
  }

  static HclOptions default_options() {
    HclOptions options;
    options.vm_id = kVmId;
    options.user_data = Bytes(64, 0);
    for (std::size_t i = 0; i < options.user_data.size(); ++i) {
      options.user_data[i] = static_cast<std::uint8_t>(0xa0 + i);
    }
    return options;
  }

  ossl::UniquePkey ak_key_;
  RsaPublicKey ak_;
};

TEST_F(EmulatorHcl, HeaderAndRequestData) {
  auto blob = build(default_options());
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto hcl = parse_hcl(*blob);
  ASSERT_TRUE(hcl.has_value()) << hcl.error().to_string();
  EXPECT_EQ(Bytes(blob->begin(), blob->begin() + 4), (Bytes{'H', 'C', 'L', 'A'}));
  EXPECT_EQ(hcl->header_version, 1u);
  EXPECT_EQ(hcl->report_size, blob->size());
  EXPECT_EQ(hcl->request_type, 2u);
  EXPECT_EQ(hcl->status, 0u);
  EXPECT_EQ(hcl->data_size, 20u + hcl->claims.size());
  EXPECT_EQ(hcl->request_data_version, 1u);
  EXPECT_EQ(hcl->report_type, 2u);
  EXPECT_EQ(hcl->hash_type, 1u);
  EXPECT_LE(blob->size(), kSwtpmNvIndexMaxSize);
}

TEST_F(EmulatorHcl, SnpReportBindsClaimsAndVerifies) {
  auto blob = build(default_options());
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto hcl = parse_hcl(*blob);
  ASSERT_TRUE(hcl.has_value());
  auto report = snp::parse_report(hcl->snp_report);
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  const auto& platform = shared_platform().platform;

  Bytes expected_report_data = ossl::sha256(as_bytes(hcl->claims));
  expected_report_data.resize(64, 0);
  EXPECT_EQ(Bytes(report->report_data.begin(), report->report_data.end()), expected_report_data);
  EXPECT_EQ(report->version, 3u);
  EXPECT_EQ(report->policy, 0x3001fu);
  EXPECT_EQ(report->vmpl, 0u);
  EXPECT_EQ(report->chip_id, platform.chip_id);
  EXPECT_EQ(report->reported_tcb, platform.tcb.raw);
  EXPECT_EQ(report->current_tcb, platform.tcb.raw);
  EXPECT_EQ(report->committed_tcb, platform.tcb.raw);
  EXPECT_EQ(report->launch_tcb, platform.tcb.raw);
  EXPECT_EQ(report->cpuid_fam_id, 0x19);
  EXPECT_EQ(report->cpuid_mod_id, 0x11);

  snp::Verification verification = verify_with_local_ark(*report);
  EXPECT_TRUE(verification.passed());
  for (const auto& check : verification.checks) {
    EXPECT_NE(check.status, snp::CheckStatus::fail) << check.name << ": " << check.detail;
  }
}

TEST_F(EmulatorHcl, MilanReportVerifies) {
  auto platform = random_platform(snp::Product::milan);
  ASSERT_TRUE(platform.has_value());
  auto chain = generate_chain(*platform, 2048);
  ASSERT_TRUE(chain.has_value()) << chain.error().to_string();
  EVP_PKEY_up_ref(chain->leaf_key.get());
  Signer signer{.platform = *platform, .vcek_key = ossl::UniquePkey(chain->leaf_key.get())};
  auto blob = build_hcl_report(signer, ak_, default_options());
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto report = snp::parse_report(ByteView(*blob).subspan(kHclHeaderSize, snp::kReportSize));
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  EXPECT_EQ(report->cpuid_mod_id, 0x01);
  EXPECT_EQ(report->reported_tcb, 0xdb18000000000004u);

  snp::Endorsement endorsement;
  endorsement.leaf.reset(X509_dup(chain->leaf.get()));
  endorsement.chain.emplace_back(X509_dup(chain->ask.get()));
  snp::TrustStore trust = snp::TrustStore::amd();
  trust.add_root(ossl::UniqueX509(X509_dup(chain->ark.get())));
  snp::Verification verification = snp::verify_report(*report, endorsement, trust, snp::VerifyOptions{});
  EXPECT_TRUE(verification.passed());
  EXPECT_EQ(verification.product, snp::Product::milan);
  for (const auto& check : verification.checks) {
    EXPECT_NE(check.status, snp::CheckStatus::fail) << check.name << ": " << check.detail;
  }
}

TEST_F(EmulatorHcl, ClaimsCarryAkVmAndUserData) {
  HclOptions options = default_options();
  auto blob = build(options);
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto hcl = parse_hcl(*blob);
  ASSERT_TRUE(hcl.has_value());
  EXPECT_EQ(hcl->claims.find_first_of(" \n\t"), std::string::npos) << "claims must be compact";

  Json::Value claims = parse_json(hcl->claims);
  ASSERT_EQ(claims["keys"].size(), 1u);
  const Json::Value& key = claims["keys"][0];
  EXPECT_EQ(key["kid"].asString(), "HCLAkPub");
  EXPECT_EQ(key["kty"].asString(), "RSA");
  ASSERT_EQ(key["key_ops"].size(), 1u);
  EXPECT_EQ(key["key_ops"][0].asString(), "sign");
  EXPECT_EQ(key["e"].asString(), "AQAB");
  EXPECT_EQ(key["n"].asString(), base64url_encode(rsa_modulus(ak_key_.get())));

  const Json::Value& configuration = claims["vm-configuration"];
  EXPECT_FALSE(configuration["console-enabled"].asBool());
  EXPECT_TRUE(configuration["secure-boot"].asBool());
  EXPECT_TRUE(configuration["tpm-enabled"].asBool());
  EXPECT_EQ(configuration["vmUniqueId"].asString(), "0F3C1E6A-2B4D-4C5E-8F70-91A2B3C4D5E6");

  std::string user_data = claims["user-data"].asString();
  EXPECT_EQ(user_data.size(), 128u);
  EXPECT_EQ(user_data.substr(0, 8), "A0A1A2A3");
  auto decoded = hex_decode(user_data);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, options.user_data);
}

// The emulated claims follow the layout of a real report's claims, so
// parsers tuned to real reports accept them.
TEST_F(EmulatorHcl, ClaimsLayoutMatchesRealReport) {
  CVM_REQUIRE_FIXTURES();
  Bytes real = testing::read_fixture("azure-cvm-tooling/var-data.bin");
  std::string ours = runtime_claims(ak_, kVmId, Bytes(64, 0));
  const std::string ak_prefix = R"({"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":")";
  const std::regex configuration(
      R"("vm-configuration":\{"console-enabled":(true|false),"secure-boot":(true|false),)"
      R"("tpm-enabled":(true|false),"vmUniqueId":"[0-9A-Fa-f-]{36}"\},"user-data":"[0-9A-Fa-f]{128}"\}$)");

  EXPECT_TRUE(std::string(as_text(real)).starts_with(ak_prefix));
  EXPECT_TRUE(ours.starts_with(ak_prefix));
  EXPECT_TRUE(std::regex_search(std::string(as_text(real)), configuration));
  EXPECT_TRUE(std::regex_search(ours, configuration));
}

TEST_F(EmulatorHcl, ShortUserDataIsZeroPadded) {
  HclOptions options = default_options();
  options.user_data = {0x01, 0x02, 0x03};
  auto blob = build(options);
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto hcl = parse_hcl(*blob);
  ASSERT_TRUE(hcl.has_value());
  std::string user_data = parse_json(hcl->claims)["user-data"].asString();
  EXPECT_EQ(user_data, "010203" + std::string(122, '0'));
}

TEST_F(EmulatorHcl, HeaderVersionTwo) {
  HclOptions options = default_options();
  options.header_version = 2;
  auto blob = build(options);
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  auto hcl = parse_hcl(*blob);
  ASSERT_TRUE(hcl.has_value());
  EXPECT_EQ(hcl->header_version, 2u);
  EXPECT_EQ(hcl->request_data_version, 1u);
}

TEST_F(EmulatorHcl, RejectsInvalidOptions) {
  HclOptions bad_version = default_options();
  bad_version.header_version = 3;
  auto version = build(bad_version);
  ASSERT_FALSE(version.has_value());
  EXPECT_EQ(version.error().code, Errc::invalid_argument);

  HclOptions long_user_data = default_options();
  long_user_data.user_data.resize(65, 0);
  auto user_data = build(long_user_data);
  ASSERT_FALSE(user_data.has_value());
  EXPECT_EQ(user_data.error().code, Errc::invalid_argument);

  HclOptions bad_vm_id = default_options();
  bad_vm_id.vm_id = "not-a-guid";
  auto vm_id = build(bad_vm_id);
  ASSERT_FALSE(vm_id.has_value());
  EXPECT_EQ(vm_id.error().code, Errc::invalid_argument);
}

TEST_F(EmulatorHcl, RejectsBlobOverNvLimit) {
  HclOptions options = default_options();
  auto fitting = build(options);
  ASSERT_TRUE(fitting.has_value());
  options.max_size = fitting->size() - 1;
  auto too_large = build(options);
  ASSERT_FALSE(too_large.has_value());
  EXPECT_EQ(too_large.error().code, Errc::invalid_argument);
  options.max_size = fitting->size();
  EXPECT_TRUE(build(options).has_value());
}

TEST(EmulatorAkPublic, Tpm2bPublicMatchesPem) {
  auto key = testing::generate_rsa_key(2048);
  ASSERT_TRUE(key.has_value());
  Bytes modulus = rsa_modulus(key->get());
  auto from_pem = parse_ak_public(as_bytes(public_key_pem(key->get())));
  auto from_tpm = parse_ak_public(marshal_rsa_public(modulus));
  ASSERT_TRUE(from_pem.has_value()) << from_pem.error().to_string();
  ASSERT_TRUE(from_tpm.has_value()) << from_tpm.error().to_string();
  EXPECT_EQ(from_tpm->modulus, modulus);
  EXPECT_EQ(from_tpm->modulus, from_pem->modulus);
  EXPECT_EQ(from_tpm->exponent, from_pem->exponent);
  EXPECT_EQ(from_tpm->exponent, (Bytes{0x01, 0x00, 0x01}));
}

TEST(EmulatorAkPublic, RejectsMalformedInput) {
  auto key = testing::generate_rsa_key(2048);
  ASSERT_TRUE(key.has_value());
  Bytes marshalled = marshal_rsa_public(rsa_modulus(key->get()));

  Bytes truncated(marshalled.begin(), marshalled.end() - 10);
  auto short_result = parse_ak_public(truncated);
  ASSERT_FALSE(short_result.has_value());
  EXPECT_EQ(short_result.error().code, Errc::invalid_data);

  Bytes trailing = marshalled;
  trailing.push_back(0);
  auto trailing_result = parse_ak_public(trailing);
  ASSERT_FALSE(trailing_result.has_value());
  EXPECT_EQ(trailing_result.error().code, Errc::invalid_data);

  auto ec_key = testing::generate_p384_key();
  ASSERT_TRUE(ec_key.has_value());
  auto ec_result = parse_ak_public(as_bytes(public_key_pem(ec_key->get())));
  ASSERT_FALSE(ec_result.has_value());
  EXPECT_EQ(ec_result.error().code, Errc::unsupported);

  auto empty_result = parse_ak_public(Bytes{});
  ASSERT_FALSE(empty_result.has_value());
  EXPECT_EQ(empty_result.error().code, Errc::invalid_data);
}

TEST(EmulatorGuid, NormalizesAndRejects) {
  auto upper = normalize_guid("abcdef01-2345-6789-abcd-ef0123456789");
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*upper, "ABCDEF01-2345-6789-ABCD-EF0123456789");
  for (const char* bad : {"", "abcdef01-2345-6789-abcd-ef012345678", "abcdef01-2345-6789-abcd_ef0123456789",
                          "abcdef0g-2345-6789-abcd-ef0123456789", "abcdef01-2345-6789-abcd-ef01234567890"}) {
    auto result = normalize_guid(bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code, Errc::invalid_argument) << bad;
  }
  auto random = random_guid();
  ASSERT_TRUE(random.has_value());
  EXPECT_TRUE(normalize_guid(*random).has_value());
  EXPECT_EQ((*random)[14], '4');
}

// One event of the log, read back with an independent parser.
struct LoggedEvent {
  std::uint32_t pcr = 0;
  std::uint32_t type = 0;
  Bytes sha1;
  Bytes sha256;
  Bytes data;
};

Result<std::vector<LoggedEvent>> parse_crypto_agile_log(ByteView log, Bytes& spec_id) {
  ByteReader reader(log);
  std::uint32_t first_pcr = CVM_TRY(reader.u32le("pcr"));
  std::uint32_t first_type = CVM_TRY(reader.u32le("type"));
  CVM_TRY(reader.skip(20, "sha1"));
  std::uint32_t spec_size = CVM_TRY(reader.u32le("event_size"));
  ByteView spec = CVM_TRY(reader.bytes(spec_size, "spec_id_event"));
  spec_id.assign(spec.begin(), spec.end());
  if (first_pcr != 0 || first_type != kEvNoAction) {
    return fail(Errc::invalid_data, "the first event is not the Spec ID EV_NO_ACTION");
  }
  std::vector<LoggedEvent> events;
  while (!reader.empty()) {
    LoggedEvent event;
    event.pcr = CVM_TRY(reader.u32le("pcr"));
    event.type = CVM_TRY(reader.u32le("type"));
    std::uint32_t count = CVM_TRY(reader.u32le("digest_count"));
    for (std::uint32_t i = 0; i < count; ++i) {
      std::uint16_t algorithm = CVM_TRY(reader.u16le("algorithm"));
      if (algorithm == kTpmAlgSha1) {
        ByteView digest = CVM_TRY(reader.bytes(20, "sha1"));
        event.sha1.assign(digest.begin(), digest.end());
      } else if (algorithm == kTpmAlgSha256) {
        ByteView digest = CVM_TRY(reader.bytes(32, "sha256"));
        event.sha256.assign(digest.begin(), digest.end());
      } else {
        return fail(Errc::invalid_data, "unexpected digest algorithm " + std::to_string(algorithm));
      }
    }
    std::uint32_t size = CVM_TRY(reader.u32le("event_size"));
    ByteView data = CVM_TRY(reader.bytes(size, "event"));
    event.data.assign(data.begin(), data.end());
    events.push_back(std::move(event));
  }
  return events;
}

TEST(EmulatorEventLog, SpecIdEventDeclaresBothBanks) {
  auto log = build_event_log();
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  Bytes spec_id;
  auto events = parse_crypto_agile_log(log->bytes, spec_id);
  ASSERT_TRUE(events.has_value()) << events.error().to_string();
  ASSERT_GE(spec_id.size(), 24u + 8u + 1u);
  EXPECT_EQ(std::string(as_text(ByteView(spec_id).first(16))), std::string("Spec ID Event03\0", 16));
  ByteReader reader(ByteView(spec_id).subspan(24));
  EXPECT_EQ(reader.u32le("count").value_or(0), 2u);
  EXPECT_EQ(reader.u16le("alg").value_or(0), kTpmAlgSha1);
  EXPECT_EQ(reader.u16le("size").value_or(0), 20u);
  EXPECT_EQ(reader.u16le("alg").value_or(0), kTpmAlgSha256);
  EXPECT_EQ(reader.u16le("size").value_or(0), 32u);
}

TEST(EmulatorEventLog, ExtendsMatchMeasuredEvents) {
  auto log = build_event_log();
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  Bytes spec_id;
  auto events = parse_crypto_agile_log(log->bytes, spec_id);
  ASSERT_TRUE(events.has_value()) << events.error().to_string();

  std::vector<PcrExtend> measured;
  int no_action_events = 0;
  for (const auto& event : *events) {
    if (event.type == kEvNoAction) {
      ++no_action_events;
      EXPECT_TRUE(all_zero(event.sha1));
      EXPECT_TRUE(all_zero(event.sha256));
      continue;
    }
    measured.push_back(PcrExtend{.pcr = event.pcr, .sha1 = event.sha1, .sha256 = event.sha256});
  }
  EXPECT_EQ(no_action_events, 1);
  ASSERT_EQ(measured.size(), log->extends.size());
  for (std::size_t i = 0; i < measured.size(); ++i) {
    EXPECT_EQ(measured[i].pcr, log->extends[i].pcr) << "event " << i;
    EXPECT_EQ(measured[i].sha1, log->extends[i].sha1) << "event " << i;
    EXPECT_EQ(measured[i].sha256, log->extends[i].sha256) << "event " << i;
  }
}

TEST(EmulatorEventLog, CoversBootPcrsAndEvents) {
  auto log = build_event_log();
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  Bytes spec_id;
  auto events = parse_crypto_agile_log(log->bytes, spec_id);
  ASSERT_TRUE(events.has_value());

  std::map<std::uint32_t, int> separators;
  std::map<std::uint32_t, int> events_per_pcr;
  int secure_boot_variables = 0;
  for (const auto& event : *events) {
    ++events_per_pcr[event.pcr];
    if (event.type == kEvSeparator) {
      ++separators[event.pcr];
      EXPECT_EQ(event.data, Bytes(4, 0));
      EXPECT_EQ(event.sha256, ossl::sha256(event.data));
    }
    if (event.type == kEvEfiVariableDriverConfig) {
      EXPECT_EQ(event.pcr, 7u);
      EXPECT_EQ(event.sha256, ossl::sha256(event.data));
      ++secure_boot_variables;
    }
    if (event.type == kEvEfiBootServicesApplication) {
      EXPECT_EQ(event.pcr, 4u);
    }
  }
  EXPECT_EQ(secure_boot_variables, 5);
  for (std::uint32_t pcr = 0; pcr <= 7; ++pcr) {
    EXPECT_EQ(separators[pcr], 1) << "PCR " << pcr;
  }
  for (std::uint32_t pcr = 0; pcr <= 9; ++pcr) {
    EXPECT_GT(events_per_pcr[pcr], 0) << "PCR " << pcr;
  }
  EXPECT_EQ(events_per_pcr.rbegin()->first, 9u);
}

TEST(EmulatorEventLog, ExtendSpecFormat) {
  PcrExtend extend{.pcr = 7, .sha1 = Bytes(20, 0xab), .sha256 = Bytes(32, 0x01)};
  std::string sha1_hex;
  for (int i = 0; i < 20; ++i) {
    sha1_hex += "ab";
  }
  std::string sha256_hex;
  for (int i = 0; i < 32; ++i) {
    sha256_hex += "01";
  }
  EXPECT_EQ(pcr_extend_spec(extend), "7:sha1=" + sha1_hex + ",sha256=" + sha256_hex);
}

}  // namespace
}  // namespace cvm::emulator
