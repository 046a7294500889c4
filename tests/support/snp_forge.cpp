#include "tests/support/snp_forge.hpp"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <atomic>

#include "snp/report.hpp"

namespace cvm::testing {
namespace {

std::atomic<long> next_serial{1000};

Result<ossl::UniqueX509Name> make_name(const std::string& common_name) {
  ossl::UniqueX509Name name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("cvm-attest test"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build a certificate name"));
  }
  return name;
}

// Adds an extension whose extnValue is the given DER (or raw) bytes.
Result<void> add_raw_extension(X509* certificate, const char* oid, ByteView value) {
  ossl::UniqueAsn1Object object(OBJ_txt2obj(oid, 1));
  ossl::UniqueAsn1String octets(ASN1_OCTET_STRING_new());
  if (!object || !octets ||
      ASN1_OCTET_STRING_set(octets.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build extension " + std::string(oid)));
  }
  ossl::UniqueX509Extension extension(X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, octets.get()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot add extension " + std::string(oid)));
  }
  return {};
}

Result<void> add_integer_extension(X509* certificate, const char* oid, long value) {
  ossl::UniqueAsn1Integer integer(ASN1_INTEGER_new());
  if (!integer || ASN1_INTEGER_set(integer.get(), value) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build INTEGER"));
  }
  unsigned char* der = nullptr;
  int length = i2d_ASN1_INTEGER(integer.get(), &der);
  Bytes bytes(der, der + length);
  OPENSSL_free(der);
  return add_raw_extension(certificate, oid, bytes);
}

Result<void> add_ia5_extension(X509* certificate, const char* oid, const std::string& text) {
  ossl::UniqueAsn1String string(ASN1_IA5STRING_new());
  if (!string || ASN1_STRING_set(string.get(), text.data(), static_cast<int>(text.size())) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build IA5String"));
  }
  unsigned char* der = nullptr;
  int length = i2d_ASN1_IA5STRING(string.get(), &der);
  Bytes bytes(der, der + length);
  OPENSSL_free(der);
  return add_raw_extension(certificate, oid, bytes);
}

Result<void> sign_pss(X509* certificate, EVP_PKEY* key) {
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* key_context = nullptr;
  if (!context || EVP_DigestSignInit(context.get(), &key_context, EVP_sha384(), nullptr, key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, 48) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, EVP_sha384()) != 1 ||
      X509_sign_ctx(certificate, context.get()) <= 0) {
    return fail(ossl::openssl_error(Errc::internal, "cannot sign certificate with RSA-PSS"));
  }
  return {};
}

Result<ossl::UniqueX509> new_certificate(const std::string& subject, X509* issuer, EVP_PKEY* public_key,
                                         const ChainOptions& options) {
  ossl::UniqueX509 certificate(X509_new());
  auto name = CVM_TRY(make_name(subject));
  if (!certificate || X509_set_version(certificate.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), next_serial++) != 1 ||
      X509_set_subject_name(certificate.get(), name.get()) != 1 ||
      X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : name.get()) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), options.not_before_offset_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()),
                      options.not_before_offset_seconds + options.lifetime_seconds) == nullptr ||
      X509_set_pubkey(certificate.get(), public_key) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build certificate " + subject));
  }
  return certificate;
}

std::string default_product_name(snp::Product product) {
  return product == snp::Product::turin ? "Turin" : std::string(snp::product_name(product)) + "-B0";
}

}  // namespace

Result<ossl::UniquePkey> generate_rsa_key(int bits) {
  ossl::UniquePkey key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) {
    return fail(ossl::openssl_error(Errc::internal, "RSA key generation failed"));
  }
  return key;
}

Result<ossl::UniquePkey> generate_p384_key() {
  ossl::UniquePkey key(EVP_EC_gen("P-384"));
  if (!key) {
    return fail(ossl::openssl_error(Errc::internal, "EC P-384 key generation failed"));
  }
  return key;
}

Result<ossl::UniqueX509> issue_leaf(const Chain& chain, const ChainOptions& options) {
  std::string subject = options.vlek ? "SEV-VLEK" : "SEV-VCEK";
  auto leaf = CVM_TRY(new_certificate(subject, chain.ask.get(), chain.leaf_key.get(), options));
  X509* certificate = leaf.get();
  CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.1", options.product == snp::Product::turin ? 1 : 0));
  if (!options.omit_product_name) {
    std::string name = options.product_name.empty() ? default_product_name(options.product) : options.product_name;
    CVM_TRY(add_ia5_extension(certificate, "1.3.6.1.4.1.3704.1.2", name));
  }
  CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.3.1", options.tcb.bootloader));
  CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.3.2", options.tcb.tee));
  CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.3.3", options.tcb.snp));
  CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.3.8", options.tcb.microcode));
  if (options.product == snp::Product::turin) {
    CVM_TRY(add_integer_extension(certificate, "1.3.6.1.4.1.3704.1.3.9", options.tcb.fmc.value_or(0)));
  }
  if (options.vlek) {
    CVM_TRY(add_ia5_extension(certificate, "1.3.6.1.4.1.3704.1.5", "cvm-attest-test-csp"));
  } else {
    std::size_t hwid_size = options.product == snp::Product::turin ? 8 : 64;
    CVM_TRY(add_raw_extension(certificate, "1.3.6.1.4.1.3704.1.4", ByteView(options.chip_id).first(hwid_size)));
  }
  CVM_TRY(sign_pss(certificate, chain.ask_key.get()));
  return leaf;
}

Result<Chain> make_chain(const ChainOptions& options) {
  Chain chain;
  std::string product(snp::product_name(options.product));
  chain.ark_key = CVM_TRY(generate_rsa_key(options.rsa_bits));
  chain.ask_key = CVM_TRY(generate_rsa_key(options.rsa_bits));
  chain.leaf_key = CVM_TRY(generate_p384_key());

  ChainOptions long_lived = options;
  // Roots valid from 20 years ago, so tests can check expired leaves at an earlier time.
  long_lived.not_before_offset_seconds = -20L * 365 * 24 * 3600;
  long_lived.lifetime_seconds = 45L * 365 * 24 * 3600;
  chain.ark = CVM_TRY(new_certificate("ARK-" + product, nullptr, chain.ark_key.get(), long_lived));
  CVM_TRY(sign_pss(chain.ark.get(), chain.ark_key.get()));
  std::string ask_name = options.vlek ? "SEV-VLEK-" + product : "SEV-" + product;
  chain.ask = CVM_TRY(new_certificate(ask_name, chain.ark.get(), chain.ask_key.get(), long_lived));
  CVM_TRY(sign_pss(chain.ask.get(), chain.ark_key.get()));
  chain.leaf = CVM_TRY(issue_leaf(chain, options));
  return chain;
}

std::uint64_t encode_tcb(const snp::Tcb& tcb, snp::Product product) {
  auto at = [](std::uint8_t value, int index) { return static_cast<std::uint64_t>(value) << (8 * index); };
  if (product == snp::Product::turin) {
    return at(tcb.fmc.value_or(0), 0) | at(tcb.bootloader, 1) | at(tcb.tee, 2) | at(tcb.snp, 3) |
           at(tcb.microcode, 7);
  }
  return at(tcb.bootloader, 0) | at(tcb.tee, 1) | at(tcb.snp, 6) | at(tcb.microcode, 7);
}

Bytes encode_report(const ReportFields& fields) {
  Bytes out(snp::kReportSize, 0);
  auto put = [&](std::size_t offset, std::uint64_t value, int size) {
    for (int i = 0; i < size; ++i) {
      out[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xff);
    }
  };
  auto put_bytes = [&](std::size_t offset, ByteView bytes) { std::copy(bytes.begin(), bytes.end(), out.begin() + static_cast<long>(offset)); };
  put(0x000, fields.version, 4);
  put(0x008, fields.policy, 8);
  out[0x010] = 0x01;  // family id, as on Azure
  out[0x020] = 0x02;  // image id, as on Azure
  put(0x030, fields.vmpl, 4);
  put(0x034, fields.signature_algo, 4);
  put(0x038, fields.current_tcb, 8);
  put(0x040, fields.platform_info, 8);
  put(0x048, fields.key_info, 4);
  put_bytes(0x050, fields.report_data);
  put_bytes(0x090, fields.measurement);
  put_bytes(0x140, fields.report_id);
  std::fill(out.begin() + 0x160, out.begin() + 0x180, 0xff);  // REPORT_ID_MA without a migration agent
  put(0x180, fields.reported_tcb, 8);
  if (fields.version >= 3) {
    out[0x188] = fields.cpuid_fam_id;
    out[0x189] = fields.cpuid_mod_id;
    out[0x18a] = fields.cpuid_step;
  }
  put_bytes(0x1a0, fields.chip_id);
  put(0x1e0, fields.committed_tcb, 8);
  for (std::size_t base : {std::size_t{0x1e8}, std::size_t{0x1ec}}) {  // current, then committed version
    out[base] = fields.firmware_build;
    out[base + 1] = fields.firmware_minor;
    out[base + 2] = fields.firmware_major;
  }
  put(0x1f0, fields.launch_tcb, 8);
  if (fields.version >= 5) {
    put(0x1f8, fields.launch_mit_vector, 8);
    put(0x200, fields.current_mit_vector, 8);
  }
  return out;
}

Result<void> sign_report(Bytes& report, EVP_PKEY* key) {
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha384(), nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, report.data(), snp::kSignedSize) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot start ECDSA signing"));
  }
  Bytes der(length);
  if (EVP_DigestSign(context.get(), der.data(), &length, report.data(), snp::kSignedSize) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "ECDSA signing failed"));
  }
  const unsigned char* cursor = der.data();
  ossl::UniqueEcdsaSig signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)));
  if (!signature) {
    return fail(ossl::openssl_error(Errc::internal, "cannot decode the ECDSA signature"));
  }
  const BIGNUM* r = ECDSA_SIG_get0_r(signature.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(signature.get());
  std::fill(report.begin() + snp::kSignatureOffset, report.end(), 0);
  if (BN_bn2lebinpad(r, report.data() + snp::kSignatureOffset, snp::kP384ComponentSize) < 0 ||
      BN_bn2lebinpad(s, report.data() + snp::kSignatureOffset + snp::kSignatureComponentSize,
                     snp::kP384ComponentSize) < 0) {
    return fail(ossl::openssl_error(Errc::internal, "cannot store R and S"));
  }
  return {};
}

std::string chain_pem(const Chain& chain) {
  return ossl::certificate_pem(chain.ask.get()) + ossl::certificate_pem(chain.ark.get());
}

}  // namespace cvm::testing
