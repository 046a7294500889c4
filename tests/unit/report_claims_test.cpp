// Runtime claims parsing, JWK keys and the user-data freshness predicate.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <string>

#include "report/claims.hpp"
#include "report/hcl.hpp"
#include "tests/support/fixtures.hpp"

namespace cvm::report {
namespace {

using cvm::testing::read_fixture;

Result<RuntimeClaims> parse_text(const std::string& text) { return parse_runtime_claims(as_bytes(text)); }

void expect_invalid(const std::string& text, const std::string& field) {
  auto claims = parse_text(text);
  ASSERT_FALSE(claims.has_value()) << text;
  EXPECT_EQ(claims.error().code, Errc::invalid_data) << claims.error().to_string();
  if (!field.empty()) {
    ASSERT_TRUE(claims.error().field.has_value()) << claims.error().to_string();
    EXPECT_EQ(*claims.error().field, field) << claims.error().to_string();
  }
}

TEST(ClaimsFixture, VarDataParses) {
  CVM_REQUIRE_FIXTURES();
  Bytes raw = read_fixture("azure-cvm-tooling/var-data.bin");
  auto claims = parse_runtime_claims(raw);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  EXPECT_EQ(claims->raw, raw);
  ASSERT_EQ(claims->keys.size(), 2u);

  const Jwk* ak = claims->find_key(kAkKeyId);
  ASSERT_NE(ak, nullptr);
  EXPECT_EQ(ak->kty, "RSA");
  EXPECT_EQ(ak->key_ops, std::vector<std::string>{"sign"});
  EXPECT_EQ(ak->n.size(), 256u);
  EXPECT_EQ(hex_encode(ak->e), "010001");

  const Jwk* ek = claims->find_key(kEkKeyId);
  ASSERT_NE(ek, nullptr);
  EXPECT_EQ(ek->key_ops, std::vector<std::string>{"encrypt"});
  EXPECT_EQ(ek->n.size(), 256u);
  EXPECT_EQ(claims->find_key("HCLTransferKey"), nullptr);

  ASSERT_TRUE(claims->vm_configuration.has_value());
  const VmConfiguration& config = *claims->vm_configuration;
  EXPECT_EQ(config.console_enabled, std::optional<bool>(true));
  EXPECT_EQ(config.secure_boot, std::optional<bool>(true));
  EXPECT_EQ(config.tpm_enabled, std::optional<bool>(true));
  EXPECT_EQ(config.vm_unique_id, std::optional<std::string>("3404EF27-32A2-4A07-A4C7-1A1171624C5D"));
  EXPECT_FALSE(config.current_time.has_value());
  EXPECT_TRUE(config.other.empty());

  ASSERT_TRUE(claims->user_data.has_value());
  EXPECT_EQ(*claims->user_data, Bytes(64, 0));
  EXPECT_TRUE(claims->notes.empty());
  EXPECT_TRUE(user_data_matches(*claims, Bytes(64, 0)));
  EXPECT_TRUE(user_data_matches(*claims, Bytes{}));
  EXPECT_FALSE(user_data_matches(*claims, Bytes{1}));
}

TEST(ClaimsFixture, AkJwkBuildsRsaKey) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_hcl_report(read_fixture("trustee/az-snp-vtpm-hcl-report.bin"));
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  auto claims = parse_runtime_claims(report->claims);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  const Jwk* ak = claims->find_key(kAkKeyId);
  ASSERT_NE(ak, nullptr);
  auto key = jwk_public_key(*ak);
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 2048);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_RSA);
}

TEST(ClaimsFixture, EarlyReportHasNoUserData) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_hcl_report(read_fixture("azure-cvm-tooling/hcl-report-snp.bin"));
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  auto claims = parse_runtime_claims(report->claims);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  EXPECT_FALSE(claims->user_data.has_value());
  const Jwk* ak = claims->find_key(kAkKeyId);
  ASSERT_NE(ak, nullptr);
  EXPECT_EQ(ak->key_ops, std::vector<std::string>{"encrypt"});
  EXPECT_EQ(claims->find_key(kEkKeyId), nullptr);
  ASSERT_TRUE(claims->vm_configuration.has_value());
  EXPECT_TRUE(claims->vm_configuration->current_time.has_value());
  // Absent user-data is the unset NV index: 64 zero bytes.
  EXPECT_TRUE(user_data_matches(*claims, Bytes(64, 0)));
  EXPECT_FALSE(user_data_matches(*claims, as_bytes("nonce")));
}

TEST(ClaimsFixture, TdxClaimsCarryUserData) {
  CVM_REQUIRE_FIXTURES();
  auto envelope = parse_hcl_envelope(read_fixture("cvm-attestation-tools/hcl_report_tdx_from_snp_hcl_report_bin.bin"));
  ASSERT_TRUE(envelope.has_value()) << envelope.error().to_string();
  auto claims = parse_runtime_claims(envelope->claims);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  ASSERT_TRUE(claims->vm_configuration.has_value());
  EXPECT_TRUE(claims->vm_configuration->root_cert_thumbprint.has_value());
  ASSERT_TRUE(claims->user_data.has_value());
  ASSERT_EQ(claims->user_data->size(), 64u);
  Bytes first_half(claims->user_data->begin(), claims->user_data->begin() + 32);
  EXPECT_FALSE(all_zero(first_half));
  EXPECT_TRUE(all_zero(ByteView(*claims->user_data).subspan(32)));
  EXPECT_TRUE(user_data_matches(*claims, first_half));
  EXPECT_TRUE(user_data_matches(*claims, *claims->user_data));
}

TEST(ClaimsFixture, EvidenceUserDataIsQuoteNonce) {
  CVM_REQUIRE_FIXTURES();
  auto report = parse_hcl_report(read_fixture("trustee/az-snp-vtpm-evidence-v2.hcl_report.bin"));
  ASSERT_TRUE(report.has_value()) << report.error().to_string();
  auto claims = parse_runtime_claims(report->claims);
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  auto nonce = hex_decode(
      "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef");
  ASSERT_TRUE(nonce.has_value());
  EXPECT_TRUE(user_data_matches(*claims, *nonce));
  (*nonce)[47] ^= 1;
  EXPECT_FALSE(user_data_matches(*claims, *nonce));
}

TEST(ClaimsUserData, EitherCaseMatches) {
  std::string upper(128, '0');
  std::string lower(128, '0');
  upper.replace(0, 8, "ABCDEF12");
  lower.replace(0, 8, "abcdef12");
  Bytes expected{0xab, 0xcd, 0xef, 0x12};
  for (const std::string& hex : {upper, lower}) {
    auto claims = parse_text(R"({"user-data":")" + hex + R"("})");
    ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
    EXPECT_EQ(claims->user_data_hex, hex);
    EXPECT_TRUE(user_data_matches(*claims, expected));
    Bytes padded = expected;
    padded.resize(64, 0);
    EXPECT_TRUE(user_data_matches(*claims, padded));
    EXPECT_FALSE(user_data_matches(*claims, Bytes{0xab, 0xcd, 0xef, 0x13}));
    Bytes too_long = padded;
    too_long.push_back(0);
    EXPECT_FALSE(user_data_matches(*claims, too_long));
  }
}

TEST(ClaimsParse, UnknownMembersAreKept) {
  auto claims = parse_text(
      R"({"keys":[{"kid":"Other","kty":"EC","crv":"P-256"}],"vm-configuration":{"secure-boot":false,)"
      R"("new-flag":7,"vmgs-provisioner":{"id":"x","signer":"y"},"hardware-sealing-policy":"hash"},"extra":[1]})");
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  ASSERT_EQ(claims->keys.size(), 1u);
  EXPECT_EQ(claims->keys[0].kid, "Other");
  EXPECT_EQ(claims->keys[0].kty, "EC");
  EXPECT_EQ(claims->keys[0].json["crv"].asString(), "P-256");
  auto key = jwk_public_key(claims->keys[0]);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, Errc::unsupported);

  ASSERT_TRUE(claims->vm_configuration.has_value());
  EXPECT_EQ(claims->vm_configuration->secure_boot, std::optional<bool>(false));
  EXPECT_EQ(claims->vm_configuration->hardware_sealing_policy, std::optional<std::string>("hash"));
  ASSERT_TRUE(claims->vm_configuration->vmgs_provisioner.has_value());
  EXPECT_EQ((*claims->vm_configuration->vmgs_provisioner)["signer"].asString(), "y");
  EXPECT_EQ(claims->vm_configuration->other["new-flag"].asInt(), 7);
  EXPECT_EQ(claims->vm_configuration->other.size(), 1u);
  EXPECT_TRUE(claims->json.isMember("extra"));
  EXPECT_FALSE(claims->user_data.has_value());
}

TEST(ClaimsParse, WrongTypesAreNotes) {
  auto claims = parse_text(R"({"vm-configuration":{"secure-boot":"yes","current-time":"soon","tpm-enabled":true}})");
  ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
  ASSERT_TRUE(claims->vm_configuration.has_value());
  EXPECT_FALSE(claims->vm_configuration->secure_boot.has_value());
  EXPECT_FALSE(claims->vm_configuration->current_time.has_value());
  EXPECT_EQ(claims->vm_configuration->tpm_enabled, std::optional<bool>(true));
  EXPECT_EQ(claims->notes.size(), 2u);

  auto not_object = parse_text(R"({"vm-configuration":[]})");
  ASSERT_TRUE(not_object.has_value());
  EXPECT_FALSE(not_object->vm_configuration.has_value());
  EXPECT_EQ(not_object->notes.size(), 1u);
}

TEST(ClaimsParse, MalformedInputIsRejected) {
  expect_invalid("", "");
  expect_invalid("not json", "");
  expect_invalid("[1,2]", "");
  expect_invalid(R"({"a":1} trailing)", "");
  expect_invalid(R"({"user-data":"00","user-data":"11"})", "");
  expect_invalid(R"({"keys":{}})", "keys");
  expect_invalid(R"({"keys":[1]})", "keys");
  expect_invalid(R"({"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB"}]})", "keys.n");
  expect_invalid(R"({"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"***"}]})", "keys.n");
  expect_invalid(R"({"user-data":"0g"})", "user-data");
  expect_invalid(R"({"user-data":"000"})", "user-data");
  expect_invalid(R"({"user-data":12})", "user-data");
  expect_invalid(R"({"user-data":")" + std::string(130, '0') + R"("})", "user-data");
}

TEST(ClaimsParse, DeepNestingIsRejected) {
  std::string deep = R"({"a":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  expect_invalid(deep, "");
}

TEST(ClaimsJwk, ShortOrEvenModulusIsRejected) {
  Jwk key;
  key.kid = "test";
  key.kty = "RSA";
  key.e = {1, 0, 1};
  key.n = Bytes(64, 0xff);  // 512 bits
  auto short_key = jwk_public_key(key);
  ASSERT_FALSE(short_key.has_value());
  EXPECT_EQ(short_key.error().code, Errc::invalid_data);

  key.n = Bytes(256, 0xff);
  key.n.back() = 0xfe;
  auto even_key = jwk_public_key(key);
  ASSERT_FALSE(even_key.has_value());
  EXPECT_EQ(even_key.error().code, Errc::invalid_data);

  key.n.back() = 0xff;
  key.e = {2};
  auto even_exponent = jwk_public_key(key);
  ASSERT_FALSE(even_exponent.has_value());
  EXPECT_EQ(even_exponent.error().code, Errc::invalid_data);
}

}  // namespace
}  // namespace cvm::report
