#include "common/rsa.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <memory>

namespace cvm::ossl {
namespace {

using UniqueParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using UniqueParams = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

ByteView strip_leading_zeros(ByteView value) {
  std::size_t skip = 0;
  while (skip < value.size() && value[skip] == 0) {
    ++skip;
  }
  return value.subspan(skip);
}

std::size_t bit_length(ByteView value) {
  if (value.empty()) {
    return 0;
  }
  std::size_t bits = (value.size() - 1) * 8;
  for (std::uint8_t top = value[0]; top != 0; top >>= 1) {
    ++bits;
  }
  return bits;
}

}  // namespace

Result<UniquePkey> rsa_public_key(ByteView modulus, ByteView exponent) {
  modulus = strip_leading_zeros(modulus);
  exponent = strip_leading_zeros(exponent);
  std::size_t bits = bit_length(modulus);
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return fail(Errc::invalid_data, "invalid RSA modulus of " + std::to_string(bits) +
                                        " bits (accepted: " + std::to_string(kMinRsaBits) + " to " +
                                        std::to_string(kMaxRsaBits) + ")");
  }
  if ((modulus.back() & 1u) == 0) {
    return fail(Errc::invalid_data, "invalid RSA modulus: it is even");
  }
  if (exponent.empty() || exponent.size() > 8 || (exponent.back() & 1u) == 0 ||
      (exponent.size() == 1 && exponent[0] < 3)) {
    return fail(Errc::invalid_data,
                "invalid RSA public exponent 0x" + hex_encode(exponent) + " (must be odd, at least 3, at most 64 bits)");
  }

  UniqueBignum n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  UniqueBignum e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  UniqueParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return fail(openssl_error(Errc::internal, "cannot build RSA key parameters"));
  }
  UniqueParams params(OSSL_PARAM_BLD_to_param(builder.get()));
  UniquePkeyCtx context(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1) {
    return fail(openssl_error(Errc::internal, "cannot set up RSA key import"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return fail(openssl_error(Errc::invalid_data, "cannot import RSA public key"));
  }
  return UniquePkey(raw);
}

Result<void> verify_rsassa_sha256(EVP_PKEY* key, ByteView message, ByteView signature) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return fail(Errc::invalid_argument, "RSASSA-PKCS1-v1_5 verification needs an RSA key");
  }
  auto key_size = static_cast<std::size_t>(EVP_PKEY_get_size(key));
  if (signature.size() != key_size) {
    return fail(Errc::verification_failed,
                "signature of " + std::to_string(signature.size()) + " bytes does not match the " +
                    std::to_string(key_size) + "-byte RSA key");
  }
  UniqueMdCtx context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;  // owned by `context`
  if (!context || EVP_DigestVerifyInit(context.get(), &key_context, EVP_sha256(), nullptr, key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) != 1) {
    return fail(openssl_error(Errc::internal, "cannot set up RSASSA-PKCS1-v1_5 SHA-256 verification"));
  }
  int verdict = EVP_DigestVerify(context.get(), signature.data(), signature.size(), message.data(),
                                 message.size());
  if (verdict != 1) {
    Error error = openssl_error(Errc::verification_failed,
                                      "RSASSA-PKCS1-v1_5 SHA-256 signature does not verify");
    return fail(std::move(error));
  }
  return {};
}

}  // namespace cvm::ossl
