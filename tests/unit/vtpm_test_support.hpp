// Shared setup of the vtpm tests: a fresh swtpm per test, helpers that change
// TPM state the way a test needs, and OpenSSL checks done independently of the
// code under test.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "tests/support/swtpm.hpp"
#include "vtpm/keys.hpp"
#include "vtpm/nv.hpp"
#include "vtpm/pcr.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::testing {

class SwtpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Swtpm::start();
    ASSERT_TRUE(started) << started.error().to_string();
    swtpm_ = std::move(*started);
  }

  vtpm::Tpm open_tpm() {
    auto tpm = vtpm::Tpm::open(swtpm_->tcti());
    EXPECT_TRUE(tpm) << tpm.error().to_string();
    return std::move(*tpm);
  }

  std::unique_ptr<Swtpm> swtpm_;
};

// A test with an Azure-like AK persisted at 0x81000003.
class AkTest : public SwtpmTest {
 protected:
  void SetUp() override {
    SwtpmTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    vtpm::Tpm tpm = open_tpm();
    auto provisioned = vtpm::provision_ak(tpm);
    ASSERT_TRUE(provisioned) << provisioned.error().to_string();
  }
};

// Extends `index` in the SHA-256 bank with a digest of `byte` repeated.
inline void extend_pcr(const vtpm::Tpm& tpm, std::uint32_t index, std::uint8_t byte = 0x5a) {
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::fill(std::begin(values.digests[0].digest.sha256), std::end(values.digests[0].digest.sha256), byte);
  TSS2_RC rc = Esys_PCR_Extend(tpm.esys(), ESYS_TR_PCR0 + index, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
  ASSERT_EQ(rc, TSS2_RC_SUCCESS) << "PCR_Extend " << index;
}

// Counts the handles of one type the TPM has loaded (transient objects,
// loaded sessions).
inline std::uint32_t loaded_handles(const vtpm::Tpm& tpm, TPM2_HANDLE first) {
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  TSS2_RC rc = Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
                                  TPM2_MAX_CAP_HANDLES, &more, &raw);
  EXPECT_EQ(rc, TSS2_RC_SUCCESS);
  vtpm::EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
  return data ? data->data.handles.count : 0;
}

// Verifies an RSA signature over `message` with OpenSSL alone.
inline bool openssl_verify(EVP_PKEY* key, const EVP_MD* digest, int padding, ByteView message, ByteView signature) {
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  if (EVP_DigestVerifyInit(context.get(), &key_context, digest, nullptr, key) != 1) {
    return false;
  }
  if (EVP_PKEY_CTX_set_rsa_padding(key_context, padding) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

inline Bytes openssl_encrypt(EVP_PKEY* key, vtpm::DecryptScheme scheme, ByteView plaintext) {
  ossl::UniquePkeyCtx context(EVP_PKEY_CTX_new(key, nullptr));
  EXPECT_EQ(EVP_PKEY_encrypt_init(context.get()), 1);
  if (scheme == vtpm::DecryptScheme::rsaes) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING), 1);
  } else {
    const EVP_MD* md = scheme == vtpm::DecryptScheme::oaep_sha1     ? EVP_sha1()
                       : scheme == vtpm::DecryptScheme::oaep_sha256 ? EVP_sha256()
                                                                    : EVP_sha384();
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_OAEP_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(context.get(), md), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(context.get(), md), 1);
  }
  std::size_t size = 0;
  EXPECT_EQ(EVP_PKEY_encrypt(context.get(), nullptr, &size, plaintext.data(), plaintext.size()), 1);
  Bytes out(size);
  EXPECT_EQ(EVP_PKEY_encrypt(context.get(), out.data(), &size, plaintext.data(), plaintext.size()), 1);
  out.resize(size);
  return out;
}

inline Bytes pattern_bytes(std::size_t size, std::uint8_t seed) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  }
  return out;
}

}  // namespace cvm::testing
