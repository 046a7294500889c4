#include "vtpm/pcr.hpp"

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "common/openssl.hpp"

namespace cvm::vtpm {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const EVP_MD* evp_digest(TPMI_ALG_HASH algorithm) {
  switch (algorithm) {
    case TPM2_ALG_SHA1: return EVP_sha1();
    case TPM2_ALG_SHA256: return EVP_sha256();
    case TPM2_ALG_SHA384: return EVP_sha384();
    case TPM2_ALG_SHA512: return EVP_sha512();
    default: return nullptr;
  }
}

Result<std::uint32_t> parse_index(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return fail(Errc::invalid_argument, "invalid PCR index '" + std::string(text) + "'");
  }
  if (value >= kPcrCount) {
    return fail(Errc::invalid_argument, "PCR index " + std::to_string(value) + " is out of range; the TPM has PCRs 0 to " +
                                            std::to_string(kPcrCount - 1));
  }
  return value;
}

bool selected(const TPMS_PCR_SELECTION& selection, std::uint32_t index) {
  std::uint32_t byte = index / 8;
  return byte < selection.sizeofSelect && (selection.pcrSelect[byte] & (1u << (index % 8))) != 0;
}

Error unmarshal_error(TSS2_RC rc, std::string what) {
  Error error{.code = Errc::invalid_data, .message = std::move(what)};
  const char* decoded = Tss2_RC_Decode(rc);
  error.cause = Cause{.source = Cause::Source::tpm, .code = rc, .text = decoded != nullptr ? decoded : ""};
  return error;
}

}  // namespace

Result<TPMI_ALG_HASH> parse_hash_algorithm(std::string_view name) {
  std::string key = lower(name);
  if (key == "sha1") return TPMI_ALG_HASH{TPM2_ALG_SHA1};
  if (key == "sha256") return TPMI_ALG_HASH{TPM2_ALG_SHA256};
  if (key == "sha384") return TPMI_ALG_HASH{TPM2_ALG_SHA384};
  if (key == "sha512") return TPMI_ALG_HASH{TPM2_ALG_SHA512};
  return fail(Error{.code = Errc::invalid_argument,
                    .message = "unknown hash algorithm '" + std::string(name) + "'",
                    .hint = "use sha1, sha256, sha384 or sha512"});
}

std::string hash_algorithm_name(TPMI_ALG_HASH algorithm) {
  switch (algorithm) {
    case TPM2_ALG_SHA1: return "sha1";
    case TPM2_ALG_SHA256: return "sha256";
    case TPM2_ALG_SHA384: return "sha384";
    case TPM2_ALG_SHA512: return "sha512";
    default: return "alg-" + handle_hex(algorithm);
  }
}

std::size_t digest_size(TPMI_ALG_HASH algorithm) {
  const EVP_MD* md = evp_digest(algorithm);
  return md != nullptr ? static_cast<std::size_t>(EVP_MD_get_size(md)) : 0;
}

Result<Bytes> hash_with(TPMI_ALG_HASH algorithm, ByteView data) {
  const EVP_MD* md = evp_digest(algorithm);
  if (md == nullptr) {
    return fail(Errc::unsupported, "hash algorithm " + hash_algorithm_name(algorithm) + " is not supported");
  }
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "EVP_Digest failed"));
  }
  return out;
}

Result<std::vector<std::uint32_t>> parse_pcr_indices(std::string_view text) {
  std::vector<std::uint32_t> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (auto dash = item.find('-'); dash != std::string_view::npos) {
      std::uint32_t first = CVM_TRY(parse_index(item.substr(0, dash)));
      std::uint32_t last = CVM_TRY(parse_index(item.substr(dash + 1)));
      if (first > last) {
        return fail(Errc::invalid_argument, "invalid PCR range '" + std::string(item) + "'");
      }
      for (std::uint32_t index = first; index <= last; ++index) {
        out.push_back(index);
      }
    } else {
      out.push_back(CVM_TRY(parse_index(item)));
    }
    if (comma != std::string_view::npos && text.empty()) {
      return fail(Errc::invalid_argument, "PCR list ends with a comma");
    }
  }
  if (out.empty()) {
    return fail(Errc::invalid_argument, "the PCR list is empty");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Bytes PcrValues::concatenated() const {
  Bytes out;
  for (const auto& value : values) {
    out.insert(out.end(), value.digest.begin(), value.digest.end());
  }
  return out;
}

Result<void> validate_selection(const PcrSelection& selection) {
  if (digest_size(selection.bank) == 0) {
    return fail(Errc::invalid_argument, "PCR bank " + hash_algorithm_name(selection.bank) + " is not supported");
  }
  if (selection.indices.empty()) {
    return fail(Errc::invalid_argument, "no PCRs selected");
  }
  for (std::uint32_t index : selection.indices) {
    if (index >= kPcrCount) {
      return fail(Errc::invalid_argument, "PCR index " + std::to_string(index) + " is out of range");
    }
  }
  return {};
}

TPML_PCR_SELECTION to_tpml(const PcrSelection& selection) {
  TPML_PCR_SELECTION list{};
  list.count = 1;
  list.pcrSelections[0].hash = selection.bank;
  list.pcrSelections[0].sizeofSelect = kPcrCount / 8;
  for (std::uint32_t index : selection.indices) {
    list.pcrSelections[0].pcrSelect[index / 8] |= static_cast<std::uint8_t>(1u << (index % 8));
  }
  return list;
}

Result<PcrValues> read_pcrs(const Tpm& tpm, const PcrSelection& selection) {
  CVM_TRY(validate_selection(selection));
  std::vector<std::uint32_t> wanted = selection.indices;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());

  // TPM2_PCR_Read returns at most 8 digests per call, so large selections take
  // several calls. A change of the update counter between them means the set
  // is not one consistent snapshot, and reading starts over.
  constexpr int kMaxSnapshots = 5;
  for (int snapshot = 0; snapshot < kMaxSnapshots; ++snapshot) {
    PcrValues out{.bank = selection.bank, .values = {}};
    std::vector<std::uint32_t> remaining = wanted;
    std::optional<std::uint32_t> first_counter;
    bool consistent = true;
    while (!remaining.empty()) {
      TPML_PCR_SELECTION request = to_tpml(PcrSelection{.bank = selection.bank, .indices = remaining});
      std::uint32_t counter = 0;
      TPML_PCR_SELECTION* raw_selection = nullptr;
      TPML_DIGEST* raw_values = nullptr;
      CVM_TRY(tpm.call("PCR_Read", hash_algorithm_name(selection.bank) + " bank", [&] {
        return Esys_PCR_Read(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &request, &counter, &raw_selection,
                             &raw_values);
      }));
      EsysPtr<TPML_PCR_SELECTION> read_selection(raw_selection);
      EsysPtr<TPML_DIGEST> values(raw_values);
      if (first_counter && *first_counter != counter) {
        consistent = false;
        break;
      }
      first_counter = counter;

      std::vector<std::uint32_t> returned;
      for (std::uint32_t i = 0; i < read_selection->count && i < TPM2_NUM_PCR_BANKS; ++i) {
        if (read_selection->pcrSelections[i].hash != selection.bank) {
          continue;
        }
        for (std::uint32_t index : remaining) {
          if (selected(read_selection->pcrSelections[i], index)) {
            returned.push_back(index);
          }
        }
      }
      if (returned.empty()) {
        return fail(Error{.code = Errc::unsupported,
                          .message = "the TPM returned no " + hash_algorithm_name(selection.bank) + " value for PCR " +
                                     std::to_string(remaining.front()),
                          .hint = "the " + hash_algorithm_name(selection.bank) +
                                  " bank is not allocated on this TPM; choose another bank"});
      }
      if (returned.size() != values->count) {
        return fail(Errc::invalid_data, "TPM2_PCR_Read returned " + std::to_string(values->count) + " digests for " +
                                            std::to_string(returned.size()) + " selected PCRs");
      }
      for (std::size_t i = 0; i < returned.size(); ++i) {
        const TPM2B_DIGEST& digest = values->digests[i];
        if (digest.size != digest_size(selection.bank)) {
          return fail(Errc::invalid_data, "PCR " + std::to_string(returned[i]) + " digest has " +
                                              std::to_string(digest.size) + " bytes");
        }
        out.values.push_back(PcrValue{.index = returned[i], .digest = Bytes(digest.buffer, digest.buffer + digest.size)});
        std::erase(remaining, returned[i]);
      }
    }
    if (consistent) {
      std::sort(out.values.begin(), out.values.end(),
                [](const PcrValue& a, const PcrValue& b) { return a.index < b.index; });
      return out;
    }
  }
  return fail(Errc::unavailable, "PCRs kept changing while they were read (" + std::to_string(kMaxSnapshots) +
                                     " attempts)");
}

Result<AttestInfo> parse_attest(ByteView tpms_attest) {
  TPMS_ATTEST attest{};
  std::size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMS_ATTEST_Unmarshal(tpms_attest.data(), tpms_attest.size(), &offset, &attest);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(unmarshal_error(rc, "invalid TPMS_ATTEST (" + std::to_string(tpms_attest.size()) + " bytes)"));
  }

  if (offset != tpms_attest.size()) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = "TPMS_ATTEST has " + std::to_string(tpms_attest.size() - offset) +
                                           " trailing bytes"})
                    .at("TPMS_ATTEST", offset));
  }
  if (attest.magic != TPM2_GENERATED_VALUE) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = "TPMS_ATTEST magic is " + handle_hex(attest.magic) +
                                           ", not TPM_GENERATED_VALUE 0xff544347"})
                    .at("magic", 0));
  }

  AttestInfo info;
  info.type = attest.type;
  info.qualified_signer.assign(attest.qualifiedSigner.name, attest.qualifiedSigner.name + attest.qualifiedSigner.size);
  info.extra_data.assign(attest.extraData.buffer, attest.extraData.buffer + attest.extraData.size);
  info.clock = attest.clockInfo.clock;
  info.reset_count = attest.clockInfo.resetCount;
  info.restart_count = attest.clockInfo.restartCount;
  info.safe = attest.clockInfo.safe == TPM2_YES;
  info.firmware_version = attest.firmwareVersion;

  if (attest.type == TPM2_ST_ATTEST_QUOTE) {
    const TPMS_QUOTE_INFO& quote_info = attest.attested.quote;
    for (std::uint32_t i = 0; i < quote_info.pcrSelect.count && i < TPM2_NUM_PCR_BANKS; ++i) {
      const TPMS_PCR_SELECTION& bank = quote_info.pcrSelect.pcrSelections[i];
      PcrSelection selection{.bank = bank.hash, .indices = {}};
      for (std::uint32_t index = 0; index < bank.sizeofSelect * 8u && index < TPM2_PCR_SELECT_MAX * 8u; ++index) {
        if (selected(bank, index)) {
          selection.indices.push_back(index);
        }
      }
      info.quoted_pcrs.push_back(std::move(selection));
    }
    info.pcr_digest.assign(quote_info.pcrDigest.buffer, quote_info.pcrDigest.buffer + quote_info.pcrDigest.size);
  } else if (attest.type == TPM2_ST_ATTEST_CERTIFY) {
    const TPMS_CERTIFY_INFO& certify = attest.attested.certify;
    info.certified_name.assign(certify.name.name, certify.name.name + certify.name.size);
    info.certified_qualified_name.assign(certify.qualifiedName.name,
                                         certify.qualifiedName.name + certify.qualifiedName.size);
  }
  return info;
}

Result<Signature> convert_signature(const TPMT_SIGNATURE& signature) {
  if (signature.sigAlg != TPM2_ALG_RSASSA && signature.sigAlg != TPM2_ALG_RSAPSS) {
    return fail(Errc::unsupported, "signature algorithm " + handle_hex(signature.sigAlg) +
                                       " is not RSASSA or RSAPSS; the AK must be an RSA key");
  }
  Signature out;
  out.scheme = signature.sigAlg;
  out.hash = signature.signature.rsassa.hash;
  out.value.assign(signature.signature.rsassa.sig.buffer,
                   signature.signature.rsassa.sig.buffer + signature.signature.rsassa.sig.size);
  std::uint8_t buffer[sizeof(TPMT_SIGNATURE)];
  std::size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Marshal(&signature, buffer, sizeof buffer, &offset);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(unmarshal_error(rc, "cannot marshal TPMT_SIGNATURE"));
  }
  out.tpmt.assign(buffer, buffer + offset);
  return out;
}

namespace {

// Checks a fresh quote against its request. Returns false when only the PCR
// digest differs, which means a PCR changed between reading and quoting.
Result<bool> check_quote(const AttestInfo& info, const QuoteOptions& options, const PcrValues& values,
                         TPMI_ALG_HASH digest_algorithm) {
  if (info.type != TPM2_ST_ATTEST_QUOTE) {
    return fail(Errc::invalid_data, "TPM2_Quote returned a TPMS_ATTEST of type " + handle_hex(info.type));
  }
  if (info.extra_data != options.nonce) {
    return fail(Errc::verification_failed, "the quote's extraData differs from the nonce that was sent");
  }
  std::vector<std::uint32_t> requested = options.pcrs.indices;
  std::sort(requested.begin(), requested.end());
  requested.erase(std::unique(requested.begin(), requested.end()), requested.end());
  if (info.quoted_pcrs.size() != 1 || info.quoted_pcrs[0].bank != options.pcrs.bank ||
      info.quoted_pcrs[0].indices != requested) {
    return fail(Errc::verification_failed, "the quote covers other PCRs than were requested");
  }
  Bytes expected = CVM_TRY(hash_with(digest_algorithm, values.concatenated()));
  return expected == info.pcr_digest;
}

}  // namespace

Result<Quote> quote(const Tpm& tpm, const QuoteOptions& options) {
  if (options.nonce.size() > kMaxNonceSize) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "the nonce is " + std::to_string(options.nonce.size()) + " bytes; a quote carries at most " +
                                 std::to_string(kMaxNonceSize),
                      .hint = "pass a shorter nonce, e.g. a SHA-256 digest of the data to bind"});
  }
  CVM_TRY(validate_selection(options.pcrs));

  auto ak = tpm.handle_from_tpm(options.ak);
  if (!ak) {
    Error error = std::move(ak).error();
    if (error.code == Errc::not_found) {
      error.message = "no attestation key at persistent handle " + handle_hex(options.ak) + " (" + error.message + ")";
      error.hint = "Azure vTPMs hold the AK at 0x81000003; this TPM is not provisioned like one";
    }
    return fail(std::move(error));
  }
  TPM2B_DATA qualifying{};
  qualifying.size = static_cast<std::uint16_t>(options.nonce.size());
  std::copy(options.nonce.begin(), options.nonce.end(), qualifying.buffer);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  TPML_PCR_SELECTION selection = to_tpml(options.pcrs);

  int attempts = std::max(options.max_attempts, 1);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    PcrValues values = CVM_TRY(read_pcrs(tpm, options.pcrs));
    if (options.after_pcr_read) {
      options.after_pcr_read();
    }

    TPM2B_ATTEST* raw_attest = nullptr;
    TPMT_SIGNATURE* raw_signature = nullptr;
    CVM_TRY(tpm.call("Quote", "AK " + handle_hex(options.ak), [&] {
      return Esys_Quote(tpm.esys(), ak->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &scheme,
                        &selection, &raw_attest, &raw_signature);
    }));
    EsysPtr<TPM2B_ATTEST> attest(raw_attest);
    EsysPtr<TPMT_SIGNATURE> tpm_signature(raw_signature);

    Quote out;
    out.attest.assign(attest->attestationData, attest->attestationData + attest->size);
    out.signature = CVM_TRY(convert_signature(*tpm_signature));
    AttestInfo info = CVM_TRY(parse_attest(out.attest));
    bool matches = CVM_TRY(check_quote(info, options, values, out.signature.hash));
    if (matches) {
      out.pcrs = std::move(values);
      out.attempts = attempt;
      return out;
    }
  }
  return fail(Error{.code = Errc::unavailable,
                    .message = "PCRs changed between reading and quoting in each of " + std::to_string(attempts) +
                               " attempts",
                    .hint = "something is extending the quoted PCRs continuously; try again later"});
}

}  // namespace cvm::vtpm
