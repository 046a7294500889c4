// TPM quote parsing and verification on the real vTPM quotes, and
// TPMS_ATTEST and TPM2B_PUBLIC parsing checked against the tpm2-tss
// marshaller as an independent encoder.
#include <gtest/gtest.h>
#include <json/reader.h>
#include <json/writer.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include <cstring>
#include <memory>
#include <string>

#include "common/openssl.hpp"
#include "report/claims.hpp"
#include "report/eventlog.hpp"
#include "report/hcl.hpp"
#include "report/quote.hpp"
#include "report/quote_formats.hpp"
#include "report/tpm_public.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::report {
namespace {

using cvm::testing::read_fixture;

const Bytes kChallenge = {'c', 'h', 'a', 'l', 'l', 'e', 'n', 'g', 'e'};

ossl::UniquePkey read_pem_public_key(const Bytes& pem) {
  ossl::UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return ossl::UniquePkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

ossl::UniquePkey hcl_ak_key(const std::string& path) {
  auto report = parse_hcl_report(read_fixture(path));
  EXPECT_TRUE(report.has_value()) << report.error().to_string();
  if (!report) {
    return nullptr;
  }
  auto claims = parse_runtime_claims(report->claims);
  EXPECT_TRUE(claims.has_value()) << claims.error().to_string();
  const Jwk* ak = claims ? claims->find_key(kAkKeyId) : nullptr;
  EXPECT_NE(ak, nullptr);
  if (ak == nullptr) {
    return nullptr;
  }
  auto key = jwk_public_key(*ak);
  EXPECT_TRUE(key.has_value()) << key.error().to_string();
  return key ? std::move(*key) : nullptr;
}

Bytes modulus_of(EVP_PKEY* key) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  ossl::UniqueBignum owned(n);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(n)));
  BN_bn2bin(n, out.data());
  return out;
}

void expect_error(const Result<Attest>& result, Errc code) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code) << result.error().to_string();
}

class AzCvmVtpmQuote : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cvm::testing::fixtures_dir()) {
      GTEST_SKIP() << "CVM_ATTEST_FIXTURES is not set to the fixtures directory";
    }
    auto bundle = parse_az_cvm_vtpm_quote(read_fixture("azure-cvm-tooling/quote.bin"));
    ASSERT_TRUE(bundle.has_value()) << bundle.error().to_string();
    bundle_ = std::move(*bundle);
    key_ = read_pem_public_key(read_fixture("azure-cvm-tooling/akpub.pem"));
    ASSERT_NE(key_, nullptr);
  }

  QuoteBundle bundle_;
  ossl::UniquePkey key_;
};

TEST_F(AzCvmVtpmQuote, Parses) {
  EXPECT_EQ(bundle_.signature.size(), 256u);
  EXPECT_EQ(bundle_.message.size(), 122u);
  ASSERT_EQ(bundle_.pcrs.size(), 24u);

  auto attest = parse_attest(bundle_.message);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  EXPECT_EQ(attest->type, kTpmStAttestQuote);
  EXPECT_EQ(attest->extra_data, kChallenge);
  EXPECT_EQ(attest->qualified_signer.size(), 34u);  // SHA-256 Name: algorithm and digest
  ASSERT_TRUE(attest->quote.has_value());
  ASSERT_EQ(attest->quote->selections.size(), 1u);
  const PcrSelection& selection = attest->quote->selections[0];
  EXPECT_EQ(selection.hash_algorithm, kAlgSha256);
  EXPECT_EQ(selection.select, (Bytes{0xff, 0xff, 0xff}));
  ASSERT_EQ(selection.pcrs.size(), 24u);
  EXPECT_EQ(selection.pcrs.front(), 0u);
  EXPECT_EQ(selection.pcrs.back(), 23u);
  EXPECT_EQ(attest->quote->pcr_digest.size(), 32u);
  EXPECT_EQ(attest->raw, bundle_.message);
}

TEST_F(AzCvmVtpmQuote, Verifies) {
  auto attest = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(kChallenge), bundle_.pcrs);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  // Without a nonce only the signature and the PCRs are checked.
  EXPECT_TRUE(verify_quote(bundle_.message, bundle_.signature, key_.get(), std::nullopt, bundle_.pcrs).has_value());
}

TEST_F(AzCvmVtpmQuote, FlippedMessageByteFails) {
  for (std::size_t i = 0; i < bundle_.message.size(); i += 7) {
    Bytes message = bundle_.message;
    message[i] ^= 0x01;
    auto signature = verify_attest_signature(message, bundle_.signature, key_.get());
    ASSERT_FALSE(signature.has_value()) << "byte " << i;
    EXPECT_EQ(signature.error().code, Errc::verification_failed);
  }
}

TEST_F(AzCvmVtpmQuote, FlippedSignatureByteFails) {
  for (std::size_t i : {std::size_t{0}, std::size_t{100}, std::size_t{255}}) {
    Bytes signature = bundle_.signature;
    signature[i] ^= 0x80;
    auto result = verify_quote(bundle_.message, signature, key_.get(), ByteView(kChallenge), bundle_.pcrs);
    ASSERT_FALSE(result.has_value()) << "byte " << i;
    EXPECT_EQ(result.error().code, Errc::verification_failed);
  }
  Bytes truncated(bundle_.signature.begin(), bundle_.signature.end() - 1);
  auto result = verify_attest_signature(bundle_.message, truncated, key_.get());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::verification_failed);
}

TEST_F(AzCvmVtpmQuote, WrongNonceFails) {
  Bytes nonce = kChallenge;
  nonce.back() = 'E';
  auto result = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(nonce), bundle_.pcrs);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::verification_failed);
  auto shorter = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(kChallenge).first(8),
                              bundle_.pcrs);
  ASSERT_FALSE(shorter.has_value());
  EXPECT_EQ(shorter.error().code, Errc::verification_failed);
}

TEST_F(AzCvmVtpmQuote, PcrValuesMustMatchDigest) {
  std::vector<Bytes> pcrs = bundle_.pcrs;
  pcrs[7][0] ^= 1;
  auto changed = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(kChallenge), pcrs);
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, Errc::verification_failed);

  pcrs = bundle_.pcrs;
  pcrs.pop_back();
  auto missing = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(kChallenge), pcrs);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);

  pcrs = bundle_.pcrs;
  pcrs[3].push_back(0);
  auto wrong_size = verify_quote(bundle_.message, bundle_.signature, key_.get(), ByteView(kChallenge), pcrs);
  ASSERT_FALSE(wrong_size.has_value());
  EXPECT_EQ(wrong_size.error().code, Errc::invalid_argument);
}

TEST_F(AzCvmVtpmQuote, OtherAkFails) {
  ossl::UniquePkey other = hcl_ak_key("trustee/az-snp-vtpm-hcl-report.bin");
  ASSERT_NE(other, nullptr);
  auto result = verify_quote(bundle_.message, bundle_.signature, other.get(), ByteView(kChallenge), bundle_.pcrs);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::verification_failed);
}

TEST_F(AzCvmVtpmQuote, EveryPrefixOfAttestIsRejected) {
  for (std::size_t length = 0; length < bundle_.message.size(); ++length) {
    auto attest = parse_attest(ByteView(bundle_.message).first(length));
    ASSERT_FALSE(attest.has_value()) << length;
    EXPECT_EQ(attest.error().code, Errc::invalid_data);
    EXPECT_TRUE(attest.error().offset.has_value());
  }
  Bytes longer = bundle_.message;
  longer.push_back(0);
  auto trailing = parse_attest(longer);
  ASSERT_FALSE(trailing.has_value());
  EXPECT_EQ(trailing.error().field, std::optional<std::string>("trailing"));
  EXPECT_EQ(trailing.error().offset, std::optional<std::size_t>(bundle_.message.size()));
}

TEST_F(AzCvmVtpmQuote, BundleFileErrors) {
  Bytes file = read_fixture("azure-cvm-tooling/quote.bin");
  for (std::size_t length : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{300}, file.size() - 1}) {
    auto bundle = parse_az_cvm_vtpm_quote(ByteView(file).first(length));
    ASSERT_FALSE(bundle.has_value()) << length;
    EXPECT_EQ(bundle.error().code, Errc::invalid_data);
  }
  Bytes longer = file;
  longer.push_back(0);
  EXPECT_FALSE(parse_az_cvm_vtpm_quote(longer).has_value());
  Bytes huge = file;
  huge[7] = 0x10;  // signature length 2^60
  auto oversized = parse_az_cvm_vtpm_quote(huge);
  ASSERT_FALSE(oversized.has_value());
  EXPECT_EQ(oversized.error().field, std::optional<std::string>("signature.length"));
}

TEST(TrusteeQuote, VerifiesWithReportAk) {
  CVM_REQUIRE_FIXTURES();
  auto bundle = parse_coco_tpm_quote_json(read_fixture("trustee/az-snp-vtpm-tpm-quote-v1.json"));
  ASSERT_TRUE(bundle.has_value()) << bundle.error().to_string();
  ASSERT_EQ(bundle->pcrs.size(), 24u);
  ossl::UniquePkey ak = hcl_ak_key("trustee/az-snp-vtpm-hcl-report.bin");
  ASSERT_NE(ak, nullptr);
  auto attest = verify_quote(bundle->message, bundle->signature, ak.get(), ByteView(kChallenge), bundle->pcrs);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();

  Bytes message = bundle->message;
  message[20] ^= 0x40;
  auto flipped = verify_quote(message, bundle->signature, ak.get(), ByteView(kChallenge), bundle->pcrs);
  ASSERT_FALSE(flipped.has_value());
  EXPECT_EQ(flipped.error().code, Errc::verification_failed);
}

TEST(TrusteeQuote, EvidenceNonceIsUserData) {
  CVM_REQUIRE_FIXTURES();
  Bytes evidence = read_fixture("trustee/az-snp-vtpm-evidence-v2.json");
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  const char* begin = reinterpret_cast<const char*>(evidence.data());
  ASSERT_TRUE(reader->parse(begin, begin + evidence.size(), &root, nullptr));
  std::string quote_json = Json::writeString(Json::StreamWriterBuilder(), root["tpm_quote"]);

  auto bundle = parse_coco_tpm_quote_json(as_bytes(quote_json));
  ASSERT_TRUE(bundle.has_value()) << bundle.error().to_string();
  auto report = parse_hcl_report(read_fixture("trustee/az-snp-vtpm-evidence-v2.hcl_report.bin"));
  ASSERT_TRUE(report.has_value());
  auto claims = parse_runtime_claims(report->claims);
  ASSERT_TRUE(claims.has_value());
  auto ak = jwk_public_key(*claims->find_key(kAkKeyId));
  ASSERT_TRUE(ak.has_value());

  auto attest = verify_quote(bundle->message, bundle->signature, ak->get(), std::nullopt, bundle->pcrs);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  EXPECT_EQ(hex_encode(attest->extra_data),
            "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef");
  EXPECT_TRUE(user_data_matches(*claims, attest->extra_data));
}

TEST(TrusteeQuote, JsonErrors) {
  struct Case {
    const char* text;
    const char* field;
  };
  const Case cases[] = {
      {R"({"message":"00","pcrs":[]})", "signature"},
      {R"({"signature":"0","message":"00","pcrs":[]})", "signature"},
      {R"({"signature":"00","message":12,"pcrs":[]})", "message"},
      {R"({"signature":"00","message":"00","pcrs":{}})", "pcrs"},
      {R"({"signature":"00","message":"00","pcrs":["00"]})", "pcrs"},
      {R"({"signature":"00","message":"00","pcrs":[1]})", "pcrs"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto bundle = parse_coco_tpm_quote_json(as_bytes(c.text));
    ASSERT_FALSE(bundle.has_value());
    EXPECT_EQ(bundle.error().code, Errc::invalid_data);
    EXPECT_EQ(bundle.error().field, std::optional<std::string>(c.field));
  }
  auto not_json = parse_coco_tpm_quote_json(as_bytes("{"));
  ASSERT_FALSE(not_json.has_value());
  EXPECT_EQ(not_json.error().code, Errc::invalid_data);
}

// Marshals a TPMS_ATTEST with tpm2-tss.
Bytes marshal_attest(const TPMS_ATTEST& attest) {
  Bytes out(sizeof(TPMS_ATTEST));
  size_t offset = 0;
  EXPECT_EQ(Tss2_MU_TPMS_ATTEST_Marshal(&attest, out.data(), out.size(), &offset), TSS2_RC_SUCCESS);
  out.resize(offset);
  return out;
}

TPMS_ATTEST attest_template(TPM2_ST type) {
  TPMS_ATTEST attest{};
  attest.magic = TPM2_GENERATED_VALUE;
  attest.type = type;
  attest.qualifiedSigner.size = 34;
  attest.qualifiedSigner.name[0] = 0x00;
  attest.qualifiedSigner.name[1] = 0x0b;
  std::memset(attest.qualifiedSigner.name + 2, 0x11, 32);
  attest.extraData.size = 5;
  std::memcpy(attest.extraData.buffer, "nonce", 5);
  attest.clockInfo.clock = 0x0102030405060708ull;
  attest.clockInfo.resetCount = 9;
  attest.clockInfo.restartCount = 10;
  attest.clockInfo.safe = TPM2_YES;
  attest.firmwareVersion = 0x2020031200120003ull;
  return attest;
}

TEST(AttestParse, CertifyMatchesTss) {
  TPMS_ATTEST certify = attest_template(TPM2_ST_ATTEST_CERTIFY);
  certify.attested.certify.name.size = 34;
  std::memset(certify.attested.certify.name.name, 0x22, 34);
  certify.attested.certify.qualifiedName.size = 34;
  std::memset(certify.attested.certify.qualifiedName.name, 0x33, 34);
  Bytes bytes = marshal_attest(certify);

  auto attest = parse_attest(bytes);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  EXPECT_EQ(attest->type, kTpmStAttestCertify);
  EXPECT_EQ(attest->extra_data, (Bytes{'n', 'o', 'n', 'c', 'e'}));
  EXPECT_EQ(attest->qualified_signer.size(), 34u);
  EXPECT_EQ(attest->clock_info.clock, 0x0102030405060708ull);
  EXPECT_EQ(attest->clock_info.reset_count, 9u);
  EXPECT_EQ(attest->clock_info.restart_count, 10u);
  EXPECT_TRUE(attest->clock_info.safe);
  EXPECT_EQ(attest->firmware_version, 0x2020031200120003ull);
  EXPECT_FALSE(attest->quote.has_value());
  ASSERT_TRUE(attest->certify.has_value());
  EXPECT_EQ(attest->certify->name, Bytes(34, 0x22));
  EXPECT_EQ(attest->certify->qualified_name, Bytes(34, 0x33));

  auto as_quote = verify_quote(bytes, Bytes(256, 0), nullptr, std::nullopt, {});
  ASSERT_FALSE(as_quote.has_value());
  EXPECT_EQ(as_quote.error().code, Errc::invalid_data);
}

TEST(AttestParse, QuoteSelectionsMatchTss) {
  TPMS_ATTEST quote = attest_template(TPM2_ST_ATTEST_QUOTE);
  quote.attested.quote.pcrSelect.count = 2;
  quote.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
  quote.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
  quote.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x81;  // PCRs 0 and 7
  quote.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2] = 0x80;  // PCR 23
  quote.attested.quote.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA1;
  quote.attested.quote.pcrSelect.pcrSelections[1].sizeofSelect = 3;
  quote.attested.quote.pcrSelect.pcrSelections[1].pcrSelect[1] = 0x02;  // PCR 9

  std::vector<Bytes> pcrs = {Bytes(32, 1), Bytes(32, 2), Bytes(32, 3), Bytes(20, 4)};
  auto digest = compute_pcr_digest(pcrs, kAlgSha256);
  ASSERT_TRUE(digest.has_value());
  quote.attested.quote.pcrDigest.size = 32;
  std::memcpy(quote.attested.quote.pcrDigest.buffer, digest->data(), 32);

  auto attest = parse_attest(marshal_attest(quote));
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  ASSERT_TRUE(attest->quote.has_value());
  ASSERT_EQ(attest->quote->selections.size(), 2u);
  EXPECT_EQ(attest->quote->selections[0].hash_algorithm, kAlgSha256);
  EXPECT_EQ(attest->quote->selections[0].pcrs, (std::vector<std::uint32_t>{0, 7, 23}));
  EXPECT_EQ(attest->quote->selections[1].hash_algorithm, kAlgSha1);
  EXPECT_EQ(attest->quote->selections[1].pcrs, (std::vector<std::uint32_t>{9}));
  EXPECT_TRUE(verify_pcr_digest(*attest->quote, pcrs).has_value());

  // A SHA-1 PCR given with SHA-256 size is a caller error.
  pcrs[3] = Bytes(32, 4);
  auto wrong = verify_pcr_digest(*attest->quote, pcrs);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, Errc::invalid_argument);
}

TEST(AttestParse, HeaderErrors) {
  Bytes bytes = marshal_attest(attest_template(TPM2_ST_ATTEST_CERTIFY));
  Bytes bad_magic = bytes;
  bad_magic[0] = 0x00;
  auto magic = parse_attest(bad_magic);
  expect_error(magic, Errc::invalid_data);
  EXPECT_EQ(magic.error().field, std::optional<std::string>("magic"));

  Bytes creation = bytes;
  creation[5] = 0x1a;  // TPM_ST_ATTEST_CREATION
  auto type = parse_attest(creation);
  expect_error(type, Errc::unsupported);
  EXPECT_EQ(type.error().offset, std::optional<std::size_t>(4));

  Bytes long_name = bytes;
  long_name[6] = 0x01;  // qualifiedSigner size 256 + 34
  auto name = parse_attest(long_name);
  expect_error(name, Errc::invalid_data);
  EXPECT_EQ(name.error().field, std::optional<std::string>("qualified_signer.size"));
  EXPECT_EQ(name.error().offset, std::optional<std::size_t>(6));

  Bytes unsafe = bytes;
  unsafe[6 + 36 + 7 + 16] = 2;  // clockInfo.safe after the signer name, nonce and counters
  auto safe = parse_attest(unsafe);
  expect_error(safe, Errc::invalid_data);
  EXPECT_EQ(safe.error().field, std::optional<std::string>("clock_info.safe"));
}

// Marshals an RSA TPM2B_PUBLIC with tpm2-tss.
Bytes marshal_public(const TPM2B_PUBLIC& public_key) {
  Bytes out(sizeof(TPM2B_PUBLIC));
  size_t offset = 0;
  EXPECT_EQ(Tss2_MU_TPM2B_PUBLIC_Marshal(&public_key, out.data(), out.size(), &offset), TSS2_RC_SUCCESS);
  out.resize(offset);
  return out;
}

TPM2B_PUBLIC rsa_public_template(const Bytes& modulus) {
  TPM2B_PUBLIC out{};
  TPMT_PUBLIC& area = out.publicArea;
  area.type = TPM2_ALG_RSA;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                          TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                          TPMA_OBJECT_SIGN_ENCRYPT;
  area.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  area.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  area.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(modulus.size() * 8);
  area.parameters.rsaDetail.exponent = 0;
  area.unique.rsa.size = static_cast<UINT16>(modulus.size());
  std::memcpy(area.unique.rsa.buffer, modulus.data(), modulus.size());
  return out;
}

TEST(TpmPublicParse, AkTemplateMatchesTss) {
  auto generated = testing::generate_rsa_key(2048);
  ASSERT_TRUE(generated.has_value());
  Bytes modulus = modulus_of(generated->get());
  TPM2B_PUBLIC tss = rsa_public_template(modulus);
  tss.publicArea.authPolicy.size = 32;
  std::memset(tss.publicArea.authPolicy.buffer, 0xab, 32);
  Bytes bytes = marshal_public(tss);

  auto parsed = parse_tpm2b_public(bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->type, kAlgRsa);
  EXPECT_EQ(parsed->name_algorithm, kAlgSha256);
  EXPECT_EQ(parsed->object_attributes, 0x00050472u);
  EXPECT_EQ(object_attribute_names(parsed->object_attributes),
            (std::vector<std::string>{"fixedTPM", "fixedParent", "sensitiveDataOrigin", "userWithAuth", "noDA",
                                      "restricted", "sign"}));
  EXPECT_EQ(parsed->auth_policy, Bytes(32, 0xab));
  EXPECT_EQ(parsed->scheme, kAlgRsassa);
  EXPECT_EQ(parsed->scheme_hash, std::optional<std::uint16_t>(kAlgSha256));
  EXPECT_EQ(parsed->key_bits, 2048u);
  EXPECT_EQ(parsed->modulus, modulus);
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), generated->get()), 1);

  // The Name hashes the TPMT_PUBLIC as tpm2-tss marshals it.
  Bytes area(sizeof(TPMT_PUBLIC));
  size_t size = 0;
  ASSERT_EQ(Tss2_MU_TPMT_PUBLIC_Marshal(&tss.publicArea, area.data(), area.size(), &size), TSS2_RC_SUCCESS);
  area.resize(size);
  EXPECT_EQ(parsed->marshalled, area);
  Bytes expected_name = {0x00, 0x0b};
  Bytes digest = ossl::sha256(area);
  expected_name.insert(expected_name.end(), digest.begin(), digest.end());
  auto name = parsed->name();
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(*name, expected_name);
}

TEST(TpmPublicParse, StorageAndDecryptSchemes) {
  auto generated = testing::generate_rsa_key(2048);
  ASSERT_TRUE(generated.has_value());
  Bytes modulus = modulus_of(generated->get());

  TPM2B_PUBLIC storage = rsa_public_template(modulus);
  storage.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  storage.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
  storage.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
  storage.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  storage.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  storage.publicArea.parameters.rsaDetail.exponent = 65537;
  auto parsed = parse_tpm2b_public(marshal_public(storage));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->symmetric_algorithm, 0x0006);
  EXPECT_EQ(parsed->scheme, kAlgNull);
  EXPECT_FALSE(parsed->scheme_hash.has_value());
  EXPECT_EQ(parsed->exponent, 65537u);
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), generated->get()), 1);

  TPM2B_PUBLIC rsaes = rsa_public_template(modulus);
  rsaes.publicArea.objectAttributes = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USERWITHAUTH;
  rsaes.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAES;
  auto decrypt = parse_tpm2b_public(marshal_public(rsaes));
  ASSERT_TRUE(decrypt.has_value()) << decrypt.error().to_string();
  EXPECT_EQ(decrypt->scheme, kAlgRsaes);

  TPM2B_PUBLIC oaep = rsa_public_template(modulus);
  oaep.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_OAEP;
  oaep.publicArea.parameters.rsaDetail.scheme.details.oaep.hashAlg = TPM2_ALG_SHA384;
  auto oaep_parsed = parse_tpm2b_public(marshal_public(oaep));
  ASSERT_TRUE(oaep_parsed.has_value()) << oaep_parsed.error().to_string();
  EXPECT_EQ(oaep_parsed->scheme_hash, std::optional<std::uint16_t>(kAlgSha384));
}

TEST(TpmPublicParse, Errors) {
  auto generated = testing::generate_rsa_key(2048);
  ASSERT_TRUE(generated.has_value());
  Bytes bytes = marshal_public(rsa_public_template(modulus_of(generated->get())));

  for (std::size_t length = 0; length < bytes.size(); ++length) {
    auto parsed = parse_tpm2b_public(ByteView(bytes).first(length));
    ASSERT_FALSE(parsed.has_value()) << length;
    EXPECT_EQ(parsed.error().code, Errc::invalid_data);
  }

  Bytes trailing = bytes;
  trailing.push_back(0);
  auto extra = parse_tpm2b_public(trailing);
  ASSERT_FALSE(extra.has_value());
  EXPECT_EQ(extra.error().field, std::optional<std::string>("trailing"));

  // The outer size claims one byte more than the structure uses.
  Bytes padded = bytes;
  padded.push_back(0);
  padded[1] = static_cast<std::uint8_t>(padded[1] + 1);
  auto inner = parse_tpm2b_public(padded);
  ASSERT_FALSE(inner.has_value());
  EXPECT_EQ(inner.error().code, Errc::invalid_data);
  EXPECT_EQ(inner.error().field, std::optional<std::string>("size"));

  Bytes ecc = bytes;
  ecc[3] = 0x23;  // TPM_ALG_ECC
  auto not_rsa = parse_tpm2b_public(ecc);
  ASSERT_FALSE(not_rsa.has_value());
  EXPECT_EQ(not_rsa.error().code, Errc::unsupported);
  EXPECT_EQ(not_rsa.error().offset, std::optional<std::size_t>(2));

  Bytes bits = bytes;
  std::size_t key_bits_offset = 2 + 2 + 2 + 4 + 2 + 2 + 4;  // after type, nameAlg, attributes, policy, symmetric, scheme
  bits[key_bits_offset] = 0x04;                               // keyBits 1024 with a 2048-bit modulus
  auto mismatch = parse_tpm2b_public(bits);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().field, std::optional<std::string>("parameters.key_bits"));
  EXPECT_EQ(mismatch.error().offset, std::optional<std::size_t>(key_bits_offset));
}

}  // namespace
}  // namespace cvm::report
