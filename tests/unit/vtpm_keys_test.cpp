// vtpm AK, PCRs, quotes and the ephemeral key against a real swtpm, checked
// with OpenSSL and tpm2-tools independently of the code under test.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/vtpm_test_support.hpp"

namespace cvm::testing {
namespace {

using vtpm::Tpm;

void write_file(const std::string& path, ByteView data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string public_key_pem(EVP_PKEY* key) {
  ossl::UniqueBio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

int rsa_bits(EVP_PKEY* key) { return EVP_PKEY_get_bits(key); }

// ---- PCRs ---------------------------------------------------------------------

TEST(VtpmPcrList, ParsesListsAndRanges) {
  auto parsed = vtpm::parse_pcr_indices("7,0-2,14,1");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, (std::vector<std::uint32_t>{0, 1, 2, 7, 14}));
}

TEST(VtpmPcrList, RejectsInvalidLists) {
  for (const char* text : {"", "24", "a", "3-1", "1,", "-1", "0,,1"}) {
    auto parsed = vtpm::parse_pcr_indices(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
  }
}

TEST(VtpmPcrList, HashAlgorithmNames) {
  auto sha256 = vtpm::parse_hash_algorithm("SHA256");
  ASSERT_TRUE(sha256);
  EXPECT_EQ(*sha256, TPM2_ALG_SHA256);
  EXPECT_EQ(vtpm::hash_algorithm_name(TPM2_ALG_SHA384), "sha384");
  EXPECT_FALSE(vtpm::parse_hash_algorithm("md5"));
}

class VtpmPcr : public SwtpmTest {};

TEST_F(VtpmPcr, ReadsAllPcrsAcrossCalls) {
  Tpm tpm = open_tpm();
  extend_pcr(tpm, 16);
  vtpm::PcrSelection all{.bank = TPM2_ALG_SHA256, .indices = {}};
  for (std::uint32_t i = 0; i < vtpm::kPcrCount; ++i) {
    all.indices.push_back(i);
  }
  auto values = vtpm::read_pcrs(tpm, all);
  ASSERT_TRUE(values) << values.error().to_string();
  ASSERT_EQ(values->values.size(), vtpm::kPcrCount);
  for (std::uint32_t i = 0; i < vtpm::kPcrCount; ++i) {
    EXPECT_EQ(values->values[i].index, i);
    EXPECT_EQ(values->values[i].digest.size(), 32u);
  }
  EXPECT_EQ(values->values[0].digest, Bytes(32, 0));
  EXPECT_NE(values->values[16].digest, Bytes(32, 0));
}

TEST_F(VtpmPcr, ReadsSha1Bank) {
  Tpm tpm = open_tpm();
  auto values = vtpm::read_pcrs(tpm, vtpm::PcrSelection{.bank = TPM2_ALG_SHA1, .indices = {0, 23}});
  ASSERT_TRUE(values) << values.error().to_string();
  ASSERT_EQ(values->values.size(), 2u);
  EXPECT_EQ(values->values[1].index, 23u);
  EXPECT_EQ(values->values[1].digest.size(), 20u);
}

TEST_F(VtpmPcr, RejectsEmptySelection) {
  Tpm tpm = open_tpm();
  auto values = vtpm::read_pcrs(tpm, vtpm::PcrSelection{.bank = TPM2_ALG_SHA256, .indices = {}});
  ASSERT_FALSE(values);
  EXPECT_EQ(values.error().code, Errc::invalid_argument);
}

// ---- AK -----------------------------------------------------------------------

class VtpmAk : public AkTest {};

TEST_F(VtpmAk, ReadsAkPublic) {
  Tpm tpm = open_tpm();
  auto ak = vtpm::read_ak_public(tpm);
  ASSERT_TRUE(ak) << ak.error().to_string();
  EXPECT_EQ(rsa_bits(ak->key.get()), 2048);
  EXPECT_EQ(ak->attributes & vtpm::kRequiredAkAttributes, vtpm::kRequiredAkAttributes);
  EXPECT_NE(ak->attributes & TPMA_OBJECT_USERWITHAUTH, 0u);

  // The marshalled TPM2B_PUBLIC parses back to the same key.
  auto parsed = vtpm::parse_tpm2b_public(ak->tpm2b_public);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), ak->key.get()), 1);
  EXPECT_EQ((ak->tpm2b_public[0] << 8 | ak->tpm2b_public[1]) + 2, static_cast<int>(ak->tpm2b_public.size()));
}

TEST_F(VtpmAk, RejectsNonAttestationKey) {
  constexpr const char* kHandle = "0x81000010";
  auto created = swtpm_->run_tool({"tpm2_createprimary", "-Q", "-C", "o", "-G", "rsa2048:rsassa-sha256:null", "-a",
                                   "sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth", "-c",
                                   swtpm_->state_dir() + "/plain.ctx"});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->exit_status, 0) << created->output;
  auto persisted =
      swtpm_->run_tool({"tpm2_evictcontrol", "-Q", "-C", "o", "-c", swtpm_->state_dir() + "/plain.ctx", kHandle});
  ASSERT_TRUE(persisted);
  ASSERT_EQ(persisted->exit_status, 0) << persisted->output;

  Tpm tpm = open_tpm();
  auto ak = vtpm::read_ak_public(tpm, 0x81000010);
  ASSERT_FALSE(ak);
  EXPECT_EQ(ak.error().code, Errc::verification_failed);
}

TEST_F(VtpmPcr, MissingAkIsNotFound) {
  Tpm tpm = open_tpm();
  auto ak = vtpm::read_ak_public(tpm);
  ASSERT_FALSE(ak);
  EXPECT_EQ(ak.error().code, Errc::not_found);
}

TEST_F(VtpmAk, ProvisionTwiceFails) {
  Tpm tpm = open_tpm();
  auto again = vtpm::provision_ak(tpm);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::invalid_argument);
}

TEST_F(VtpmAk, AkCertificateAbsentOrUnwritten) {
  Tpm tpm = open_tpm();
  auto absent = vtpm::read_ak_certificate(tpm);
  ASSERT_TRUE(absent) << absent.error().to_string();
  EXPECT_FALSE(absent->has_value());

  ASSERT_TRUE(vtpm::nv_define(tpm, vtpm::kAkCertificateIndex, 100, TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE));
  auto unwritten = vtpm::read_ak_certificate(tpm);
  ASSERT_TRUE(unwritten) << unwritten.error().to_string();
  EXPECT_FALSE(unwritten->has_value());

  Bytes certificate = pattern_bytes(100, 0x30);
  ASSERT_TRUE(vtpm::nv_write(tpm, vtpm::kAkCertificateIndex, certificate));
  auto present = vtpm::read_ak_certificate(tpm);
  ASSERT_TRUE(present) << present.error().to_string();
  ASSERT_TRUE(present->has_value());
  EXPECT_EQ(**present, certificate);
}

// ---- Quote --------------------------------------------------------------------

class VtpmQuote : public AkTest {
 protected:
  // Checks a quote with tpm2_checkquote; the TPM connection must be closed
  // because swtpm serves one client at a time.
  void check_with_tpm2_tools(const vtpm::Quote& quote, const vtpm::PublicKey& ak, ByteView nonce) {
    const std::string dir = swtpm_->state_dir();
    std::string pem = public_key_pem(ak.key.get());
    write_file(dir + "/ak.pem", as_bytes(pem));
    write_file(dir + "/quote.msg", quote.attest);
    write_file(dir + "/quote.sig", quote.signature.tpmt);
    write_file(dir + "/quote.pcrs", tpm2_tools_pcr_file(quote.pcrs));
    std::vector<std::string> argv = {"tpm2_checkquote", "-u", dir + "/ak.pem", "-m", dir + "/quote.msg",
                                     "-s", dir + "/quote.sig", "-f", dir + "/quote.pcrs", "-g", "sha256"};
    if (!nonce.empty()) {
      argv.insert(argv.end(), {"-q", hex_encode(nonce)});
    }
    auto checked = run_process(argv);
    ASSERT_TRUE(checked);
    EXPECT_EQ(checked->exit_status, 0) << checked->output;

    // The same files with another nonce must not pass.
    Bytes other_nonce(nonce.begin(), nonce.end());
    other_nonce.push_back(0xa5);
    std::vector<std::string> wrong = {argv.begin(), argv.begin() + 11};
    wrong.insert(wrong.end(), {"-q", hex_encode(other_nonce)});
    auto rejected = run_process(wrong);
    ASSERT_TRUE(rejected);
    EXPECT_NE(rejected->exit_status, 0) << rejected->output;
  }

  // The PCR file that `tpm2_quote -o` writes and `tpm2_checkquote -f` reads:
  // the TPML_PCR_SELECTION structure in host layout, a uint32 count of
  // TPML_DIGEST structures, then those structures, each with at most 8
  // digests. tpm2-tools 5.4 also accepts bare concatenated values with -l, but
  // fails on them with "Failed to hash PCR values" once 8 PCRs are selected.
  static Bytes tpm2_tools_pcr_file(const vtpm::PcrValues& values) {
    vtpm::PcrSelection selection{.bank = values.bank, .indices = {}};
    std::vector<TPML_DIGEST> digests;
    for (std::size_t i = 0; i < values.values.size(); ++i) {
      selection.indices.push_back(values.values[i].index);
      if (i % 8 == 0) {
        digests.push_back(TPML_DIGEST{});
      }
      TPML_DIGEST& list = digests.back();
      TPM2B_DIGEST& digest = list.digests[list.count++];
      digest.size = static_cast<std::uint16_t>(values.values[i].digest.size());
      std::copy(values.values[i].digest.begin(), values.values[i].digest.end(), digest.buffer);
    }
    TPML_PCR_SELECTION tpml = vtpm::to_tpml(selection);
    Bytes out;
    auto append = [&out](const void* data, std::size_t size) {
      const auto* bytes = static_cast<const std::uint8_t*>(data);
      out.insert(out.end(), bytes, bytes + size);
    };
    append(&tpml, sizeof tpml);
    auto count = static_cast<std::uint32_t>(digests.size());
    append(&count, sizeof count);
    for (const TPML_DIGEST& list : digests) {
      append(&list, sizeof list);
    }
    return out;
  }
};

TEST_F(VtpmQuote, NoncesUpTo50BytesVerify) {
  for (std::size_t size : {0u, 1u, 32u, 50u}) {
    SCOPED_TRACE("nonce size " + std::to_string(size));
    Bytes nonce = pattern_bytes(size, static_cast<std::uint8_t>(size));
    std::optional<vtpm::Quote> quote;
    std::optional<vtpm::PublicKey> ak;
    {
      Tpm tpm = open_tpm();
      auto created = vtpm::quote(tpm, vtpm::QuoteOptions{.nonce = nonce});
      ASSERT_TRUE(created) << created.error().to_string();
      quote = std::move(*created);
      auto read = vtpm::read_ak_public(tpm);
      ASSERT_TRUE(read) << read.error().to_string();
      ak = std::move(*read);
    }
    EXPECT_EQ(quote->attempts, 1);
    EXPECT_EQ(quote->signature.scheme, TPM2_ALG_RSASSA);
    EXPECT_EQ(quote->signature.hash, TPM2_ALG_SHA256);
    EXPECT_EQ(quote->signature.value.size(), 256u);
    ASSERT_EQ(quote->pcrs.values.size(), 8u);

    auto info = vtpm::parse_attest(quote->attest);
    ASSERT_TRUE(info) << info.error().to_string();
    EXPECT_EQ(info->type, TPM2_ST_ATTEST_QUOTE);
    EXPECT_EQ(info->extra_data, nonce);
    EXPECT_EQ(info->pcr_digest, ossl::sha256(quote->pcrs.concatenated()));

    EXPECT_TRUE(openssl_verify(ak->key.get(), EVP_sha256(), RSA_PKCS1_PADDING, quote->attest,
                               quote->signature.value));
    check_with_tpm2_tools(*quote, *ak, nonce);
  }
}

TEST_F(VtpmQuote, TamperedQuoteFailsOpenSslCheck) {
  Tpm tpm = open_tpm();
  auto quote = vtpm::quote(tpm, vtpm::QuoteOptions{.nonce = Bytes{1, 2, 3}});
  ASSERT_TRUE(quote) << quote.error().to_string();
  auto ak = vtpm::read_ak_public(tpm);
  ASSERT_TRUE(ak);
  Bytes tampered = quote->attest;
  tampered.back() ^= 1;
  EXPECT_FALSE(openssl_verify(ak->key.get(), EVP_sha256(), RSA_PKCS1_PADDING, tampered, quote->signature.value));
}

TEST_F(VtpmQuote, LongNoncesRejected) {
  Tpm tpm = open_tpm();
  for (std::size_t size : {51u, 64u}) {
    auto quote = vtpm::quote(tpm, vtpm::QuoteOptions{.nonce = Bytes(size, 1)});
    ASSERT_FALSE(quote) << size;
    EXPECT_EQ(quote.error().code, Errc::invalid_argument) << size;
  }
}

TEST_F(VtpmQuote, ConfiguredBankAndPcrs) {
  Tpm tpm = open_tpm();
  vtpm::QuoteOptions options;
  options.pcrs = vtpm::PcrSelection{.bank = TPM2_ALG_SHA1, .indices = {0, 10, 23}};
  auto quote = vtpm::quote(tpm, options);
  ASSERT_TRUE(quote) << quote.error().to_string();
  ASSERT_EQ(quote->pcrs.values.size(), 3u);
  EXPECT_EQ(quote->pcrs.bank, TPM2_ALG_SHA1);
  auto info = vtpm::parse_attest(quote->attest);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->quoted_pcrs.size(), 1u);
  EXPECT_EQ(info->quoted_pcrs[0].bank, TPM2_ALG_SHA1);
  EXPECT_EQ(info->quoted_pcrs[0].indices, (std::vector<std::uint32_t>{0, 10, 23}));
  // The digest uses the signing scheme's hash, whatever the bank.
  EXPECT_EQ(info->pcr_digest, ossl::sha256(quote->pcrs.concatenated()));
}

TEST_F(VtpmQuote, PcrChangeBeforeQuoteIsRetried) {
  Tpm tpm = open_tpm();
  int hook_calls = 0;
  vtpm::QuoteOptions options;
  options.nonce = Bytes{9, 9};
  options.after_pcr_read = [&] {
    if (++hook_calls == 1) {
      extend_pcr(tpm, 7);
    }
  };
  auto quote = vtpm::quote(tpm, options);
  ASSERT_TRUE(quote) << quote.error().to_string();
  EXPECT_EQ(quote->attempts, 2);
  EXPECT_EQ(hook_calls, 2);
  EXPECT_NE(quote->pcrs.values[7].digest, Bytes(32, 0));
  auto info = vtpm::parse_attest(quote->attest);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->pcr_digest, ossl::sha256(quote->pcrs.concatenated()));
}

TEST_F(VtpmQuote, ContinuousPcrChangeFails) {
  Tpm tpm = open_tpm();
  vtpm::QuoteOptions options;
  options.max_attempts = 3;
  int hook_calls = 0;
  options.after_pcr_read = [&] {
    ++hook_calls;
    extend_pcr(tpm, 0);
  };
  auto quote = vtpm::quote(tpm, options);
  ASSERT_FALSE(quote);
  EXPECT_EQ(quote.error().code, Errc::unavailable);
  EXPECT_EQ(hook_calls, 3);
}

TEST_F(VtpmQuote, QuoteLeavesNothingLoaded) {
  Tpm tpm = open_tpm();
  ASSERT_TRUE(vtpm::quote(tpm, vtpm::QuoteOptions{}));
  EXPECT_EQ(loaded_handles(tpm, TPM2_TRANSIENT_FIRST), 0u);
  EXPECT_EQ(loaded_handles(tpm, TPM2_LOADED_SESSION_FIRST), 0u);
}

// ---- Ephemeral key ------------------------------------------------------------

class VtpmEphemeral : public AkTest {};

Bytes object_name(ByteView tpm2b_public) {
  TPM2B_PUBLIC public_key{};
  std::size_t offset = 0;
  EXPECT_EQ(Tss2_MU_TPM2B_PUBLIC_Unmarshal(tpm2b_public.data(), tpm2b_public.size(), &offset, &public_key),
            TSS2_RC_SUCCESS);
  // A name is nameAlg (big-endian) followed by the hash of the TPMT_PUBLIC.
  ByteView area = tpm2b_public.subspan(2);
  Bytes name = {0x00, 0x0b};
  Bytes digest = ossl::sha256(area);
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

TEST_F(VtpmEphemeral, TemplateAndCertification) {
  Tpm tpm = open_tpm();
  auto key = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(key) << key.error().to_string();

  auto parsed = vtpm::parse_tpm2b_public(key->public_key.tpm2b_public);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(rsa_bits(key->public_key.key.get()), 2048);
  constexpr TPMA_OBJECT kExpected = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA;
  EXPECT_EQ(key->public_key.attributes, kExpected);
  EXPECT_EQ(key->policy_digest.size(), 32u);

  auto info = vtpm::parse_attest(key->certify_info);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->type, TPM2_ST_ATTEST_CERTIFY);
  EXPECT_EQ(info->certified_name, object_name(key->public_key.tpm2b_public));

  auto ak = vtpm::read_ak_public(tpm);
  ASSERT_TRUE(ak);
  EXPECT_TRUE(openssl_verify(ak->key.get(), EVP_sha256(), RSA_PKCS1_PADDING, key->certify_info,
                             key->certify_signature.value));

  EXPECT_EQ(loaded_handles(tpm, TPM2_TRANSIENT_FIRST), 0u);
  EXPECT_EQ(loaded_handles(tpm, TPM2_LOADED_SESSION_FIRST), 0u);
}

// The policy a client that passes SHA-256 of the PCR values explicitly to
// TPM2_PolicyPCR would compute: SHA-256(zero digest || TPM_CC_PolicyPCR ||
// TPML_PCR_SELECTION || SHA-256(PCR 0..7 values)), all big-endian.
TEST_F(VtpmEphemeral, PolicyDigestMatchesFormula) {
  Tpm tpm = open_tpm();
  extend_pcr(tpm, 4);
  auto values = vtpm::read_pcrs(tpm, vtpm::PcrSelection{});
  ASSERT_TRUE(values);
  auto key = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(key) << key.error().to_string();

  Bytes input(32, 0);
  const Bytes command_code = {0x00, 0x00, 0x01, 0x7f};
  const Bytes selection = {0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0xff, 0x00, 0x00};
  Bytes pcr_digest = ossl::sha256(values->concatenated());
  input.insert(input.end(), command_code.begin(), command_code.end());
  input.insert(input.end(), selection.begin(), selection.end());
  input.insert(input.end(), pcr_digest.begin(), pcr_digest.end());
  EXPECT_EQ(key->policy_digest, ossl::sha256(input));
}

TEST_F(VtpmEphemeral, SameTemplateSameKey) {
  Tpm tpm = open_tpm();
  auto first = vtpm::create_ephemeral_key(tpm);
  auto second = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->public_key.tpm2b_public, second->public_key.tpm2b_public);

  extend_pcr(tpm, 3);
  auto after_change = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(after_change);
  EXPECT_NE(after_change->policy_digest, first->policy_digest);
}

TEST_F(VtpmEphemeral, DecryptsEachScheme) {
  Tpm tpm = open_tpm();
  auto key = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(key) << key.error().to_string();
  const vtpm::DecryptScheme schemes[] = {vtpm::DecryptScheme::rsaes, vtpm::DecryptScheme::oaep_sha1,
                                         vtpm::DecryptScheme::oaep_sha256, vtpm::DecryptScheme::oaep_sha384};
  for (vtpm::DecryptScheme scheme : schemes) {
    SCOPED_TRACE(std::string(vtpm::decrypt_scheme_name(scheme)));
    Bytes secret = pattern_bytes(32, 0x42);
    Bytes ciphertext = openssl_encrypt(key->public_key.key.get(), scheme, secret);
    vtpm::EphemeralKeyOptions options;
    options.policy_digest = key->policy_digest;
    auto plain = vtpm::ephemeral_decrypt(tpm, options, scheme, ciphertext);
    ASSERT_TRUE(plain) << plain.error().to_string();
    EXPECT_EQ(*plain, secret);

    auto from_current = vtpm::ephemeral_decrypt(tpm, vtpm::EphemeralKeyOptions{}, scheme, ciphertext);
    ASSERT_TRUE(from_current) << from_current.error().to_string();
    EXPECT_EQ(*from_current, secret);
  }
  EXPECT_EQ(loaded_handles(tpm, TPM2_TRANSIENT_FIRST), 0u);
  EXPECT_EQ(loaded_handles(tpm, TPM2_LOADED_SESSION_FIRST), 0u);
}

TEST_F(VtpmEphemeral, PcrChangeFailsPolicy) {
  Tpm tpm = open_tpm();
  auto key = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(key) << key.error().to_string();
  Bytes ciphertext = openssl_encrypt(key->public_key.key.get(), vtpm::DecryptScheme::oaep_sha256, Bytes(32, 7));
  extend_pcr(tpm, 5);

  vtpm::EphemeralKeyOptions options;
  options.policy_digest = key->policy_digest;
  auto plain = vtpm::ephemeral_decrypt(tpm, options, vtpm::DecryptScheme::oaep_sha256, ciphertext);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code, Errc::verification_failed);
  auto tpm_rc = vtpm::tpm_response_code(static_cast<TSS2_RC>(plain.error().cause.code));
  ASSERT_TRUE(tpm_rc);
  EXPECT_EQ(vtpm::tpm_error_number(*tpm_rc), TPM2_RC_POLICY_FAIL);
  EXPECT_NE(plain.error().message.find("PCR values changed"), std::string::npos);

  // Without the creation-time policy the key derived now differs and the
  // padding check fails instead.
  auto derived = vtpm::ephemeral_decrypt(tpm, vtpm::EphemeralKeyOptions{}, vtpm::DecryptScheme::oaep_sha256,
                                         ciphertext);
  ASSERT_FALSE(derived);
  EXPECT_EQ(derived.error().code, Errc::verification_failed);

  // The error paths flushed the key and the session.
  EXPECT_EQ(loaded_handles(tpm, TPM2_TRANSIENT_FIRST), 0u);
  EXPECT_EQ(loaded_handles(tpm, TPM2_LOADED_SESSION_FIRST), 0u);
}

TEST_F(VtpmEphemeral, PcrOutsidePolicyDoesNotMatter) {
  Tpm tpm = open_tpm();
  auto key = vtpm::create_ephemeral_key(tpm);
  ASSERT_TRUE(key) << key.error().to_string();
  Bytes ciphertext = openssl_encrypt(key->public_key.key.get(), vtpm::DecryptScheme::rsaes, Bytes(16, 3));
  extend_pcr(tpm, 12);
  vtpm::EphemeralKeyOptions options;
  options.policy_digest = key->policy_digest;
  auto plain = vtpm::ephemeral_decrypt(tpm, options, vtpm::DecryptScheme::rsaes, ciphertext);
  ASSERT_TRUE(plain) << plain.error().to_string();
  EXPECT_EQ(*plain, Bytes(16, 3));
}

TEST_F(VtpmEphemeral, RejectsOversizedCiphertext) {
  Tpm tpm = open_tpm();
  auto plain = vtpm::ephemeral_decrypt(tpm, vtpm::EphemeralKeyOptions{}, vtpm::DecryptScheme::rsaes, Bytes(600, 1));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code, Errc::invalid_argument);
}

// ---- Parsers on malformed input -----------------------------------------------

TEST(VtpmParse, AttestRejectsTruncatedAndTrailing) {
  EXPECT_EQ(vtpm::parse_attest(Bytes{0xff, 0x54}).error().code, Errc::invalid_data);
  EXPECT_EQ(vtpm::parse_attest(Bytes(40, 0)).error().code, Errc::invalid_data);
}

TEST(VtpmParse, PublicRejectsGarbage) {
  EXPECT_EQ(vtpm::parse_tpm2b_public(Bytes{0x00, 0x04, 1, 2, 3, 4}).error().code, Errc::invalid_data);
  EXPECT_EQ(vtpm::parse_tpm2b_public(Bytes{}).error().code, Errc::invalid_data);
}

}  // namespace
}  // namespace cvm::testing
