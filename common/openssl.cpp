#include "common/openssl.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

namespace cvm::ossl {

Error openssl_error(Errc code, std::string what) {
  Error error{.code = code, .message = std::move(what)};
  error.cause.source = Cause::Source::openssl;
  unsigned long packed = 0;
  char buffer[256];
  while ((packed = ERR_get_error()) != 0) {
    if (error.cause.code == 0) {
      error.cause.code = static_cast<std::int64_t>(packed);
    }
    ERR_error_string_n(packed, buffer, sizeof buffer);
    if (!error.cause.text.empty()) {
      error.cause.text += "; ";
    }
    error.cause.text += buffer;
  }
  return error;
}

Result<UniqueX509> parse_der_certificate(ByteView der) {
  const unsigned char* cursor = der.data();
  UniqueX509 certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (!certificate) {
    return fail(openssl_error(Errc::invalid_data, "invalid DER certificate"));
  }
  if (cursor != der.data() + der.size()) {
    return fail(Errc::invalid_data,
                "DER certificate followed by " +
                    std::to_string(der.data() + der.size() - cursor) + " extra bytes");
  }
  return certificate;
}

Result<std::vector<UniqueX509>> parse_certificates(ByteView data, std::string_view source_name) {
  std::vector<UniqueX509> out;
  std::string_view text = as_text(data);
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    auto certificate = parse_der_certificate(data);
    if (!certificate) {
      return fail(std::move(certificate).error().prefixed(
          std::string(source_name) + " is neither PEM nor a DER certificate"));
    }
    out.push_back(std::move(*certificate));
    return out;
  }
  UniqueBio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    return fail(openssl_error(Errc::internal, "BIO_new_mem_buf failed"));
  }
  for (;;) {
    X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr) {
      unsigned long last = ERR_peek_last_error();
      if (ERR_GET_REASON(last) == PEM_R_NO_START_LINE && !out.empty()) {
        ERR_clear_error();
        break;
      }
      return fail(openssl_error(Errc::invalid_data,
                                "invalid PEM certificate number " + std::to_string(out.size() + 1) +
                                    " in " + std::string(source_name)));
    }
    out.emplace_back(raw);
  }
  return out;
}

Bytes certificate_der(X509* certificate) {
  unsigned char* buffer = nullptr;
  int length = i2d_X509(certificate, &buffer);
  if (length <= 0) {
    return {};
  }
  Bytes out(buffer, buffer + length);
  OPENSSL_free(buffer);
  return out;
}

std::string certificate_pem(X509* certificate) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    return {};
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Bytes sha256(ByteView data) {
  Bytes out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes sha384(ByteView data) {
  Bytes out(SHA384_DIGEST_LENGTH);
  SHA384(data.data(), data.size(), out.data());
  return out;
}

Bytes sha512(ByteView data) {
  Bytes out(SHA512_DIGEST_LENGTH);
  SHA512(data.data(), data.size(), out.data());
  return out;
}

std::string certificate_fingerprint(X509* certificate) {
  return hex_encode(sha256(certificate_der(certificate)));
}

std::string subject_common_name(X509* certificate) {
  X509_NAME* name = X509_get_subject_name(certificate);
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
}

}  // namespace cvm::ossl
