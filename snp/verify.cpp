#include "snp/verify.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <algorithm>

namespace cvm::snp {
namespace {

Check passed_check(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::pass, .detail = std::move(detail)};
}
Check failed_check(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::fail, .detail = std::move(detail)};
}
Check skipped_check(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::skipped, .detail = std::move(detail)};
}

std::string spl_pair(const char* name, std::optional<std::uint8_t> certificate, std::uint8_t report) {
  std::string out = std::string(name) + " certificate=";
  out += certificate ? std::to_string(*certificate) : std::string("absent");
  out += " report=" + std::to_string(report);
  return out;
}

Check check_tcb(const Report& report, const VcekExtensions& extensions, Product product) {
  Tcb reported = decode_tcb(report.reported_tcb, product);
  std::vector<std::string> mismatches;
  auto compare = [&](const char* name, std::optional<std::uint8_t> certificate, std::uint8_t value) {
    if (certificate != value) {
      mismatches.push_back(spl_pair(name, certificate, value));
    }
  };
  compare("blSPL", extensions.bootloader_spl, reported.bootloader);
  compare("teeSPL", extensions.tee_spl, reported.tee);
  compare("snpSPL", extensions.snp_spl, reported.snp);
  compare("ucodeSPL", extensions.microcode_spl, reported.microcode);
  if (reported.fmc) {
    compare("fmcSPL", extensions.fmc_spl, *reported.fmc);
  }
  if (!mismatches.empty()) {
    std::string detail = "certificate SPLs differ from REPORTED_TCB " + tcb_hex(report.reported_tcb) + ":";
    for (const auto& mismatch : mismatches) {
      detail += " " + mismatch + ";";
    }
    detail.pop_back();
    return failed_check("tcb_match", detail + "; fetch the VCEK for this TCB");
  }
  return passed_check("tcb_match", "certificate SPLs equal REPORTED_TCB " + tcb_hex(report.reported_tcb));
}

Check check_chip_id(const Report& report, const VcekExtensions& extensions, bool vlek, Product product) {
  if (vlek) {
    return skipped_check("chip_id_match", "a VLEK is not bound to one chip");
  }
  if (report.mask_chip_key()) {
    return skipped_check("chip_id_match", "KEY_INFO MASK_CHIP_KEY is set, so CHIP_ID is zero");
  }
  if (!extensions.hwid) {
    return failed_check("chip_id_match", "the VCEK has no hwID extension");
  }
  std::size_t significant = product == Product::turin ? 8 : 64;
  if (extensions.hwid->size() != significant) {
    return failed_check("chip_id_match", "the VCEK's hwID is " + std::to_string(extensions.hwid->size()) +
                                             " bytes, but a " + std::string(product_name(product)) +
                                             " hwID is " + std::to_string(significant));
  }
  ByteView chip(report.chip_id);
  if (!std::equal(extensions.hwid->begin(), extensions.hwid->end(), chip.begin())) {
    return failed_check("chip_id_match", "the VCEK belongs to another chip: hwID " +
                                             hex_encode(*extensions.hwid) + ", CHIP_ID " +
                                             hex_encode(chip.first(significant)));
  }
  return passed_check("chip_id_match", "the VCEK's hwID equals CHIP_ID");
}

void add_notes(const Report& report, Verification& out) {
  for (const auto& finding : report.findings) {
    out.notes.push_back(finding.field + ": " + finding.detail);
  }
  if (report.has_unknown_fields) {
    out.notes.push_back("report version " + std::to_string(report.version) +
                        " is newer than this agent knows (5); it was parsed with the version 5 "
                        "layout and may carry fields that are not shown");
  }
  if (report.current_tcb != report.reported_tcb) {
    out.notes.push_back("CURRENT_TCB " + tcb_hex(report.current_tcb) + " differs from REPORTED_TCB " +
                        tcb_hex(report.reported_tcb) + "; the VCEK must match REPORTED_TCB");
  }
}

}  // namespace

std::string_view check_status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::fail: return "fail";
    case CheckStatus::skipped: return "skipped";
  }
  return "fail";
}

bool Verification::passed() const {
  bool any_pass = false;
  for (const auto& check : checks) {
    if (check.status == CheckStatus::fail) {
      return false;
    }
    any_pass = any_pass || check.status == CheckStatus::pass;
  }
  return any_pass;
}

Result<Product> resolve_product(const Report& report, const std::optional<std::string>& vcek_product_name,
                                std::optional<Product> configured) {
  std::optional<Product> from_vcek;
  if (vcek_product_name) {
    from_vcek = CVM_TRY(parse_product_name(*vcek_product_name));
  }
  bool has_cpuid = report.cpuid_fam_id && !(*report.cpuid_fam_id == 0 && *report.cpuid_mod_id == 0);
  if (has_cpuid) {
    std::optional<Product> from_cpuid = CVM_TRY(product_from_cpuid(*report.cpuid_fam_id, *report.cpuid_mod_id));
    if (from_cpuid) {
      if (from_vcek && *from_vcek != *from_cpuid) {
        return fail(Error{.code = Errc::verification_failed,
                          .message = "the report's CPUID names " + std::string(product_name(*from_cpuid)) +
                                     " but the VCEK is for " + std::string(product_name(*from_vcek)),
                          .hint = "fetch the VCEK for this machine's product"});
      }
      return *from_cpuid;
    }
  }
  if (from_vcek) {
    return *from_vcek;
  }
  if (configured) {
    return *configured;
  }
  return fail(Error{.code = Errc::invalid_argument,
                    .message = "cannot tell the CPU product: the report has no CPUID fields and the "
                               "certificate no product name",
                    .hint = "pass --product milan|genoa|turin"});
}

Result<void> verify_report_signature(const Report& report, X509* leaf) {
  if (report.signature_algo != kSignatureAlgoEcdsaP384Sha384) {
    return fail(std::move(Error{.code = Errc::unsupported,
                                .message = "signature algorithm " + std::to_string(report.signature_algo) +
                                           " is not supported (1 = ECDSA P-384 with SHA-384)"})
                    .at("signature_algo", 0x34));
  }
  // R and S are little-endian; BN_lebin2bn reads them as such.
  ossl::UniqueBignum r(BN_lebin2bn(report.signature_r.data(), kP384ComponentSize, nullptr));
  ossl::UniqueBignum s(BN_lebin2bn(report.signature_s.data(), kP384ComponentSize, nullptr));
  ossl::UniqueEcdsaSig signature(ECDSA_SIG_new());
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build the ECDSA signature value"));
  }
  r.release();
  s.release();
  unsigned char* der = nullptr;
  int der_length = i2d_ECDSA_SIG(signature.get(), &der);
  if (der_length <= 0) {
    return fail(ossl::openssl_error(Errc::internal, "cannot encode the ECDSA signature"));
  }
  Bytes der_signature(der, der + der_length);
  OPENSSL_free(der);

  EVP_PKEY* key = X509_get0_pubkey(leaf);
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  if (key == nullptr || !context ||
      EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha384(), nullptr, key) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot set up ECDSA verification"));
  }
  ByteView signed_bytes = report.signed_bytes();
  int verdict = EVP_DigestVerify(context.get(), der_signature.data(), der_signature.size(),
                                 signed_bytes.data(), signed_bytes.size());
  if (verdict != 1) {
    return fail(ossl::openssl_error(Errc::verification_failed,
                                    "the report signature does not verify with the key of certificate '" +
                                        ossl::subject_common_name(leaf) + "'"));
  }
  return {};
}

Verification verify_report(const Report& report, const Endorsement& endorsement, const TrustStore& trust,
                           const VerifyOptions& options) {
  Verification out;
  X509* leaf = endorsement.leaf.get();

  auto extensions = parse_vcek_extensions(leaf);
  if (!extensions) {
    out.checks.push_back(failed_check("vcek_extensions", extensions.error().to_string()));
    extensions = VcekExtensions{};
  }

  auto chain = verify_chain(endorsement, trust, options.at);
  if (chain) {
    std::string root = chain->pinned ? std::string("pinned AMD root ") + chain->pinned->common_name
                                     : "configured trust anchor '" + ossl::subject_common_name(chain->root) + "'";
    out.checks.push_back(passed_check("certificate_chain", root + " -> '" +
                                                               ossl::subject_common_name(chain->intermediate) +
                                                               "' -> '" + ossl::subject_common_name(leaf) + "'"));
  } else {
    out.checks.push_back(failed_check("certificate_chain", chain.error().to_string()));
  }

  bool vlek = is_vlek(leaf, *extensions);
  switch (report.signing_key()) {
    case SigningKey::vcek:
      out.checks.push_back(vlek ? failed_check("signing_key", "KEY_INFO names the VCEK but a VLEK was given")
                                : passed_check("signing_key", "KEY_INFO names the VCEK"));
      break;
    case SigningKey::vlek:
      out.checks.push_back(!vlek ? failed_check("signing_key", "KEY_INFO names the VLEK but a VCEK was given")
                                 : passed_check("signing_key", "KEY_INFO names the VLEK"));
      break;
    case SigningKey::none:
      out.checks.push_back(failed_check("signing_key", "KEY_INFO says the report is not signed"));
      break;
    case SigningKey::reserved:
      out.checks.push_back(failed_check("signing_key", "KEY_INFO names a reserved signing key"));
      break;
  }

  auto product = resolve_product(report, extensions->product_name, options.configured_product);
  if (product) {
    out.product = *product;
    if (chain && chain->pinned && chain->pinned->product != *product) {
      out.checks.push_back(failed_check("product", "the chain ends in " + std::string(chain->pinned->common_name) +
                                                       " but the report is from a " +
                                                       std::string(product_name(*product))));
    } else {
      out.checks.push_back(passed_check("product", std::string(product_name(*product))));
    }
    out.checks.push_back(check_tcb(report, *extensions, *product));
    out.checks.push_back(check_chip_id(report, *extensions, vlek, *product));
  } else {
    out.checks.push_back(failed_check("product", product.error().to_string()));
    out.checks.push_back(skipped_check("tcb_match", "the TCB layout depends on the product"));
    out.checks.push_back(skipped_check("chip_id_match", "the hwID length depends on the product"));
  }

  auto signature = verify_report_signature(report, leaf);
  out.checks.push_back(signature ? passed_check("report_signature", "ECDSA P-384 SHA-384 over bytes 0x000-0x29f")
                                 : failed_check("report_signature", signature.error().to_string()));
  add_notes(report, out);
  return out;
}

}  // namespace cvm::snp
