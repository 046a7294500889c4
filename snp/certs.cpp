#include "snp/certs.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstring>

namespace cvm::snp {
namespace {

constexpr std::string_view kAmdOidPrefix = "1.3.6.1.4.1.3704.1.";

constexpr std::array<PinnedRoot, 3> kPinnedRoots{{
    {Product::milan, "ARK-Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
    {Product::genoa, "ARK-Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
    {Product::turin, "ARK-Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
}};

Error extension_error(const std::string& oid, std::string detail) {
  return Error{.code = Errc::invalid_data,
               .message = "invalid AMD certificate extension " + oid + ": " + std::move(detail),
               .field = oid};
}

Result<std::int64_t> decode_integer(const std::string& oid, ByteView value) {
  const unsigned char* cursor = value.data();
  ossl::UniqueAsn1Integer integer(d2i_ASN1_INTEGER(nullptr, &cursor, static_cast<long>(value.size())));
  if (!integer || cursor != value.data() + value.size()) {
    ERR_clear_error();
    return fail(extension_error(oid, "expected a DER INTEGER, got " + hex_encode(value)));
  }
  std::int64_t out = 0;
  if (ASN1_INTEGER_get_int64(&out, integer.get()) != 1) {
    ERR_clear_error();
    return fail(extension_error(oid, "INTEGER does not fit in 64 bits"));
  }
  return out;
}

Result<std::uint8_t> decode_spl(const std::string& oid, ByteView value) {
  std::int64_t number = CVM_TRY(decode_integer(oid, value));
  if (number < 0 || number > 255) {
    return fail(extension_error(oid, "security patch level " + std::to_string(number) +
                                         " is outside 0-255"));
  }
  return static_cast<std::uint8_t>(number);
}

Result<std::string> decode_ia5(const std::string& oid, ByteView value) {
  const unsigned char* cursor = value.data();
  ossl::UniqueAsn1String text(d2i_ASN1_IA5STRING(nullptr, &cursor, static_cast<long>(value.size())));
  if (!text || cursor != value.data() + value.size()) {
    ERR_clear_error();
    return fail(extension_error(oid, "expected a DER IA5String, got " + hex_encode(value)));
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text.get())),
                     static_cast<std::size_t>(ASN1_STRING_length(text.get())));
}

template <typename T>
Result<void> store_once(std::optional<T>& slot, Result<T> value, const std::string& oid) {
  if (!value) {
    return std::unexpected(std::move(value).error());
  }
  if (slot) {
    return fail(extension_error(oid, "extension appears more than once"));
  }
  slot = std::move(*value);
  return {};
}

bool valid_at(X509* certificate, Clock::time_point at, std::string& problem) {
  std::time_t seconds = Clock::to_time_t(at);
  int not_before = X509_cmp_time(X509_get0_notBefore(certificate), &seconds);
  int not_after = X509_cmp_time(X509_get0_notAfter(certificate), &seconds);
  if (not_before == 0 || not_after == 0) {
    problem = "has an unreadable validity period";
    return false;
  }
  if (not_before > 0) {
    problem = "is not valid before its notBefore time, later than " + format_rfc3339(at);
    return false;
  }
  if (not_after < 0) {
    problem = "expired before " + format_rfc3339(at);
    return false;
  }
  return true;
}

std::string describe(X509* certificate) {
  std::string name = ossl::subject_common_name(certificate);
  return "certificate '" + (name.empty() ? std::string("(no CN)") : name) + "'";
}

Result<void> check_signed_by(X509* subject, X509* issuer) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr) {
    return fail(ossl::openssl_error(Errc::invalid_data, describe(issuer) + " has no usable public key"));
  }
  if (X509_verify(subject, key) != 1) {
    return fail(ossl::openssl_error(Errc::verification_failed,
                                    "signature of " + describe(subject) + " does not verify with the key of " +
                                        describe(issuer)));
  }
  return {};
}

Result<void> check_valid_at(X509* certificate, Clock::time_point at) {
  std::string problem;
  if (!valid_at(certificate, at, problem)) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = describe(certificate) + " " + problem,
                      .hint = "pass --at to check the chain at another time"});
  }
  return {};
}

bool is_ec_p384(X509* certificate) {
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return false;
  }
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
    return false;
  }
  return std::strcmp(group, "secp384r1") == 0;
}

bool is_self_issued(X509* certificate) {
  return X509_NAME_cmp(X509_get_subject_name(certificate), X509_get_issuer_name(certificate)) == 0;
}

}  // namespace

Result<VcekExtensions> parse_vcek_extensions(X509* certificate) {
  VcekExtensions out;
  int count = X509_get_ext_count(certificate);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* extension = X509_get_ext(certificate, i);
    char oid_buffer[128] = {};
    int oid_length = OBJ_obj2txt(oid_buffer, sizeof oid_buffer, X509_EXTENSION_get_object(extension), 1);
    if (oid_length <= 0 || static_cast<std::size_t>(oid_length) >= sizeof oid_buffer) {
      continue;
    }
    std::string oid(oid_buffer);
    if (!oid.starts_with(kAmdOidPrefix)) {
      continue;
    }
    ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(extension);
    ByteView value(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data)));
    std::string_view suffix = std::string_view(oid).substr(kAmdOidPrefix.size());

    if (suffix == "1") {
      CVM_TRY(store_once(out.struct_version, decode_integer(oid, value), oid));
    } else if (suffix == "2") {
      CVM_TRY(store_once(out.product_name, decode_ia5(oid, value), oid));
    } else if (suffix == "3.1") {
      CVM_TRY(store_once(out.bootloader_spl, decode_spl(oid, value), oid));
    } else if (suffix == "3.2") {
      CVM_TRY(store_once(out.tee_spl, decode_spl(oid, value), oid));
    } else if (suffix == "3.3") {
      CVM_TRY(store_once(out.snp_spl, decode_spl(oid, value), oid));
    } else if (suffix == "3.8") {
      CVM_TRY(store_once(out.microcode_spl, decode_spl(oid, value), oid));
    } else if (suffix == "3.9") {
      CVM_TRY(store_once(out.fmc_spl, decode_spl(oid, value), oid));
    } else if (suffix == "4") {
      // The hwID extension contains the chip id bytes directly, not a nested DER value.
      if (value.size() != 64 && value.size() != 8) {
        return fail(extension_error(oid, "hwID is " + std::to_string(value.size()) +
                                             " bytes; expected 64 (Milan, Genoa) or 8 (Turin)"));
      }
      CVM_TRY(store_once(out.hwid, Result<Bytes>(Bytes(value.begin(), value.end())), oid));
    } else if (suffix == "5") {
      CVM_TRY(store_once(out.csp_id, decode_ia5(oid, value), oid));
    }
    // Other OIDs (.1.3.4-.1.3.7 are reserved SPLs) carry nothing the agent checks.
  }
  return out;
}

Result<VcekExtensions> parse_vcek_extensions(ByteView der) {
  auto certificate = CVM_TRY(ossl::parse_der_certificate(der));
  return parse_vcek_extensions(certificate.get());
}

std::span<const PinnedRoot> pinned_amd_roots() { return kPinnedRoots; }

TrustStore TrustStore::amd() { return TrustStore{}; }

Result<void> TrustStore::add_roots_from_file(const std::string& path) {
  Bytes data = CVM_TRY(read_file(path, 1 << 20));
  auto certificates = CVM_TRY(ossl::parse_certificates(data, path));
  for (auto& certificate : certificates) {
    extra_roots_.push_back(std::move(certificate));
  }
  return {};
}

std::optional<PinnedRoot> TrustStore::pinned(X509* certificate) const {
  if (!include_amd_) {
    return std::nullopt;
  }
  std::string fingerprint = ossl::certificate_fingerprint(certificate);
  for (const PinnedRoot& root : kPinnedRoots) {
    if (fingerprint == root.sha256) {
      return root;
    }
  }
  return std::nullopt;
}

bool TrustStore::trusts(X509* certificate) const {
  if (pinned(certificate)) {
    return true;
  }
  for (const auto& root : extra_roots_) {
    if (X509_cmp(root.get(), certificate) == 0) {
      return true;
    }
  }
  return false;
}

Result<Endorsement> sort_endorsement(std::vector<ossl::UniqueX509> certificates) {
  Endorsement out;
  for (auto& certificate : certificates) {
    if (is_ec_p384(certificate.get())) {
      if (out.leaf) {
        return fail(Error{.code = Errc::invalid_argument,
                          .message = "more than one EC P-384 certificate given (" +
                                     describe(out.leaf.get()) + " and " + describe(certificate.get()) + ")",
                          .hint = "pass one VCEK or VLEK and its ASK/ARK chain"});
      }
      out.leaf = std::move(certificate);
    } else {
      out.chain.push_back(std::move(certificate));
    }
  }
  if (!out.leaf) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "no VCEK or VLEK (an EC P-384 certificate) among the given certificates",
                      .hint = "pass the VCEK with --vcek"});
  }
  return out;
}

Result<ChainResult> verify_chain(const Endorsement& endorsement, const TrustStore& trust,
                                 Clock::time_point at) {
  X509* leaf = endorsement.leaf.get();
  ChainResult result;

  for (const auto& candidate : endorsement.chain) {
    if (!is_self_issued(candidate.get()) && X509_check_issued(candidate.get(), leaf) == X509_V_OK) {
      result.intermediate = candidate.get();
      break;
    }
  }
  if (result.intermediate == nullptr) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "no ASK or ASVK among the given certificates issued " + describe(leaf),
                      .hint = "pass the product's cert_chain (ASK then ARK) with --chain"});
  }

  // A root from the input counts only when the trust store trusts it; the
  // store's own roots are always candidates, so an input may omit the ARK.
  std::vector<X509*> candidates;
  for (const auto& certificate : endorsement.chain) {
    if (is_self_issued(certificate.get())) {
      candidates.push_back(certificate.get());
    }
  }
  for (const auto& certificate : trust.extra_roots()) {
    candidates.push_back(certificate.get());
  }
  X509* untrusted_issuer = nullptr;
  for (X509* candidate : candidates) {
    if (X509_check_issued(candidate, result.intermediate) != X509_V_OK) {
      continue;
    }
    if (!trust.trusts(candidate)) {
      untrusted_issuer = candidate;
      continue;
    }
    result.root = candidate;
    result.pinned = trust.pinned(candidate);
    break;
  }
  if (result.root == nullptr) {
    if (untrusted_issuer != nullptr) {
      return fail(Error{.code = Errc::verification_failed,
                        .message = describe(untrusted_issuer) + " with SHA-256 fingerprint " +
                                   ossl::certificate_fingerprint(untrusted_issuer) +
                                   " is neither a pinned AMD root nor a configured trust anchor",
                        .hint = "a chain never vouches for itself; add the root with --trust-anchor "
                                "only if you generated it"});
    }
    return fail(Error{.code = Errc::verification_failed,
                      .message = "no ARK issued " + describe(result.intermediate),
                      .hint = "pass the product's cert_chain (ASK then ARK) with --chain"});
  }

  CVM_TRY(check_signed_by(result.root, result.root));
  CVM_TRY(check_signed_by(result.intermediate, result.root));
  CVM_TRY(check_signed_by(leaf, result.intermediate));
  CVM_TRY(check_valid_at(result.root, at));
  CVM_TRY(check_valid_at(result.intermediate, at));
  CVM_TRY(check_valid_at(leaf, at));
  return result;
}

bool is_vlek(X509* leaf, const VcekExtensions& extensions) {
  if (extensions.csp_id) {
    return true;
  }
  return ossl::subject_common_name(leaf).find("VLEK") != std::string::npos;
}

}  // namespace cvm::snp
