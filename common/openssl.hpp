// Owning wrappers for OpenSSL handles and helpers that keep OpenSSL's error queue.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::ossl {

template <auto FreeFunction>
struct Deleter {
  template <typename T>
  void operator()(T* pointer) const {
    FreeFunction(pointer);
  }
};

using UniqueBio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using UniqueBignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using UniqueEcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using UniquePkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using UniquePkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using UniqueMdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using UniqueCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using UniqueX509 = std::unique_ptr<X509, Deleter<X509_free>>;
using UniqueX509Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using UniqueX509Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using UniqueAsn1Object = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using UniqueAsn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using UniqueAsn1String = std::unique_ptr<ASN1_STRING, Deleter<ASN1_STRING_free>>;
using UniqueAsn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;

// Builds an error from `what` and drains OpenSSL's thread-local error queue
// into its cause. Callers use it right after the failing call.
[[nodiscard]] Error openssl_error(Errc code, std::string what);

// Parses every certificate in PEM text, or a single DER certificate.
[[nodiscard]] Result<std::vector<UniqueX509>> parse_certificates(ByteView data,
                                                                 std::string_view source_name);
[[nodiscard]] Result<UniqueX509> parse_der_certificate(ByteView der);
[[nodiscard]] Bytes certificate_der(X509* certificate);
[[nodiscard]] std::string certificate_pem(X509* certificate);
[[nodiscard]] Bytes sha256(ByteView data);
[[nodiscard]] Bytes sha384(ByteView data);
[[nodiscard]] Bytes sha512(ByteView data);
// SHA-256 over a certificate's DER encoding, as lowercase hex.
[[nodiscard]] std::string certificate_fingerprint(X509* certificate);
[[nodiscard]] std::string subject_common_name(X509* certificate);

}  // namespace cvm::ossl
