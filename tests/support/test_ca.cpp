#include "tests/support/test_ca.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/support/snp_forge.hpp"

namespace cvm::testing {
namespace {

Result<void> add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  ossl::UniqueX509Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return fail(ossl::openssl_error(Errc::internal, std::string("cannot add extension ") + value));
  }
  return {};
}

Result<ossl::UniqueX509> make_certificate(const char* common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                          long serial) {
  ossl::UniqueX509 certificate(X509_new());
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  bool ok = certificate && X509_set_version(certificate.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial) == 1 &&
            X509_set_subject_name(certificate.get(), name) == 1 &&
            X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : name) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 365L * 24 * 3600) != nullptr &&
            X509_set_pubkey(certificate.get(), key) == 1;
  X509_NAME_free(name);
  if (!ok) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build test certificate"));
  }
  X509* signer = issuer ? issuer : certificate.get();
  if (issuer == nullptr) {
    CVM_TRY(add_extension(certificate.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    CVM_TRY(add_extension(certificate.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    CVM_TRY(add_extension(certificate.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    CVM_TRY(add_extension(certificate.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost"));
    CVM_TRY(add_extension(certificate.get(), signer, NID_ext_key_usage, "serverAuth"));
  }
  CVM_TRY(add_extension(certificate.get(), signer, NID_subject_key_identifier, "hash"));
  if (X509_sign(certificate.get(), issuer_key, EVP_sha256()) <= 0) {
    return fail(ossl::openssl_error(Errc::internal, "cannot sign test certificate"));
  }
  return certificate;
}

}  // namespace

std::string private_key_pem(EVP_PKEY* key) {
  ossl::UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<TlsMaterial> make_loopback_tls() {
  ossl::UniquePkey ca_key(EVP_EC_gen("P-256"));
  ossl::UniquePkey server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) {
    return fail(ossl::openssl_error(Errc::internal, "cannot generate test TLS keys"));
  }
  auto ca = CVM_TRY(make_certificate("cvm-attest test CA", ca_key.get(), nullptr, ca_key.get(), 1));
  auto server = CVM_TRY(make_certificate("localhost", server_key.get(), ca.get(), ca_key.get(), 2));
  return TlsMaterial{.ca_pem = ossl::certificate_pem(ca.get()),
                     .server_cert_pem = ossl::certificate_pem(server.get()),
                     .server_key_pem = private_key_pem(server_key.get())};
}

}  // namespace cvm::testing
