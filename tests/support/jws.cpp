#include "tests/support/jws.hpp"

#include <json/writer.h>
#include <openssl/core_names.h>

namespace cvm::testing {

std::string compact_json(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

Result<std::string> sign_rs256(const Json::Value& payload, EVP_PKEY* key, const std::string& kid,
                               const std::string& jku) {
  Json::Value header(Json::objectValue);
  header["alg"] = "RS256";
  header["typ"] = "JWT";
  header["kid"] = kid;
  if (!jku.empty()) {
    header["jku"] = jku;
  }
  std::string input = base64url_encode(as_bytes(compact_json(header))) + "." +
                      base64url_encode(as_bytes(compact_json(payload)));
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, as_bytes(input).data(), input.size()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot start RS256 signing"));
  }
  Bytes signature(length);
  if (EVP_DigestSign(context.get(), signature.data(), &length, as_bytes(input).data(), input.size()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "RS256 signing failed"));
  }
  signature.resize(length);
  return input + "." + base64url_encode(signature);
}

Result<ossl::UniqueX509> self_signed_certificate(EVP_PKEY* key, const std::string& common_name) {
  ossl::UniqueX509 certificate(X509_new());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  bool ok = certificate && X509_set_version(certificate.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 7) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1 &&
            X509_set_issuer_name(certificate.get(), name) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 365L * 24 * 3600) != nullptr &&
            X509_set_pubkey(certificate.get(), key) == 1 && X509_sign(certificate.get(), key, EVP_sha256()) > 0;
  if (!ok) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build the signing certificate"));
  }
  return certificate;
}

Json::Value jwks_entry(const std::string& kid, X509* certificate) {
  Json::Value entry(Json::objectValue);
  entry["kid"] = kid;
  entry["kty"] = "RSA";
  entry["use"] = "sig";
  Json::Value chain(Json::arrayValue);
  chain.append(base64_encode(ossl::certificate_der(certificate)));
  entry["x5c"] = chain;
  return entry;
}



Json::Value rsa_jwk(EVP_PKEY* key) {
  Json::Value jwk(Json::objectValue);
  jwk["kty"] = "RSA";
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1) {
    Bytes modulus(static_cast<std::size_t>(BN_num_bytes(n)));
    Bytes exponent(static_cast<std::size_t>(BN_num_bytes(e)));
    BN_bn2bin(n, modulus.data());
    BN_bn2bin(e, exponent.data());
    jwk["n"] = base64url_encode(modulus);
    jwk["e"] = base64url_encode(exponent);
  }
  BN_free(n);
  BN_free(e);
  return jwk;
}

}  // namespace cvm::testing
