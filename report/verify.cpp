#include "report/verify.hpp"

#include <algorithm>
#include <map>

#include "report/claims.hpp"
#include "report/eventlog.hpp"
#include "report/hcl.hpp"
#include "report/quote.hpp"
#include "report/tpm_public.hpp"

namespace cvm::report {
namespace {

// TPMA_OBJECT bits (TPM 2.0 Part 2, table "Definition of TPMA_OBJECT Bits").
constexpr std::uint32_t kFixedTpm = 1u << 1;
constexpr std::uint32_t kFixedParent = 1u << 4;
constexpr std::uint32_t kSensitiveDataOrigin = 1u << 5;
constexpr std::uint32_t kUserWithAuth = 1u << 6;
constexpr std::uint32_t kRestricted = 1u << 16;
constexpr std::uint32_t kDecrypt = 1u << 17;
constexpr std::uint32_t kSign = 1u << 18;
constexpr std::uint16_t kAttestQuote = 0x8018;
constexpr std::uint16_t kAttestCertify = 0x8017;
constexpr std::uint16_t kAlgSha256 = 0x000b;

Check pass(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::pass, .detail = std::move(detail)};
}
Check failure(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::fail, .detail = std::move(detail)};
}
Check skip(std::string name, std::string detail) {
  return Check{.name = std::move(name), .status = CheckStatus::skipped, .detail = std::move(detail)};
}

// State shared by the checks of one verification.
struct Context {
  const Evidence& evidence;
  const EvidenceVerifyOptions& options;
  std::optional<snp::Report> report;
  std::optional<RuntimeClaims> claims;
  ossl::UniquePkey claims_ak;         // HCLAkPub
  std::optional<TpmPublic> ak;        // from AikPub
  std::optional<Attest> quote;        // parsed, signature not yet trusted
  bool quote_trusted = false;
  // The quoted PCRs and their values, set only when the quote's signature
  // verified and the values match its pcrDigest.
  std::vector<std::uint32_t> attested_pcr_indices;
  std::vector<Bytes> attested_pcr_values;
  EvidenceVerification out;
};

EVP_PKEY* quote_key(const Context& context) {
  return context.ak ? context.ak->key.get() : context.claims_ak.get();
}

// Collects the certificates offered for the VCEK chain: the evidence's
// VcekCertChain, its lone VCEK and the caller's extra certificates. Each
// certificate is kept once, because sort_endorsement rejects two leaves and
// a VCEK often comes both in the evidence and in a chain file.
std::vector<ossl::UniqueX509> offered_certificates(Context& context) {
  std::vector<ossl::UniqueX509> certificates;
  auto add_all = [&](ByteView data, const std::string& source) {
    auto parsed = ossl::parse_certificates(data, source);
    if (!parsed) {
      context.out.notes.push_back(source + " does not parse: " + parsed.error().to_string());
      return;
    }
    for (auto& certificate : *parsed) {
      bool duplicate = false;
      for (const auto& existing : certificates) {
        duplicate = duplicate || X509_cmp(existing.get(), certificate.get()) == 0;
      }
      if (!duplicate) {
        certificates.push_back(std::move(certificate));
      }
    }
  };
  const Evidence& evidence = context.evidence;
  if (!evidence.vcek_chain_pem.empty()) {
    add_all(as_bytes(evidence.vcek_chain_pem), "VcekCertChain");
  }
  if (evidence.vcek_der) {
    add_all(*evidence.vcek_der, "the evidence's VCEK");
  }
  for (std::size_t i = 0; i < context.options.extra_certificates.size(); ++i) {
    add_all(context.options.extra_certificates[i], "extra certificates #" + std::to_string(i + 1));
  }
  return certificates;
}

// The chain check alone, for a report that does not parse: the chain does
// not depend on the report, so its outcome is still worth showing.
Check chain_check(const snp::Endorsement& endorsement, const snp::TrustStore& trust, Clock::time_point at) {
  auto chain = snp::verify_chain(endorsement, trust, at);
  if (!chain) {
    return failure("certificate_chain", chain.error().to_string());
  }
  return pass("certificate_chain", "'" + ossl::subject_common_name(chain->root) + "' -> '" +
                                       ossl::subject_common_name(chain->intermediate) + "' -> '" +
                                       ossl::subject_common_name(endorsement.leaf.get()) + "'");
}

void check_hardware(Context& context, const snp::TrustStore& trust) {
  auto endorsement = snp::sort_endorsement(offered_certificates(context));
  auto report = snp::parse_report(context.evidence.snp_report);
  if (!report) {
    std::string reason = report.error().to_string();
    context.out.checks.push_back(endorsement ? chain_check(*endorsement, trust, context.options.at)
                                             : failure("certificate_chain", endorsement.error().to_string()));
    context.out.checks.push_back(failure("report_signature", "the SNP report does not parse: " + reason));
    context.out.checks.push_back(skip("vcek_matches_report", "the SNP report does not parse"));
    return;
  }
  context.report = std::move(*report);

  if (!endorsement) {
    std::string reason = endorsement.error().to_string();
    context.out.checks.push_back(failure("certificate_chain", reason));
    context.out.checks.push_back(failure("report_signature", "no VCEK to check it with: " + reason));
    context.out.checks.push_back(failure("vcek_matches_report", "no VCEK"));
    return;
  }
  snp::Verification hardware = snp::verify_report(
      *context.report, *endorsement, trust,
      snp::VerifyOptions{.at = context.options.at, .configured_product = context.options.configured_product});
  context.out.product = hardware.product;
  for (auto& note : hardware.notes) context.out.notes.push_back(std::move(note));

  std::string matches_detail;
  bool matches_failed = false;
  for (const Check& check : hardware.checks) {
    if (check.name == "certificate_chain" || check.name == "report_signature") {
      context.out.checks.push_back(check);
      continue;
    }
    // signing_key, product, tcb_match, chip_id_match and vcek_extensions
    // together decide whether this VCEK belongs to this report.
    if (check.status == CheckStatus::fail) {
      matches_failed = true;
    }
    if (check.status != CheckStatus::pass || check.name != "product") {
      matches_detail += (matches_detail.empty() ? "" : "; ") + check.name + ": " + check.detail;
    }
  }
  context.out.checks.push_back(matches_failed ? failure("vcek_matches_report", matches_detail)
                                              : pass("vcek_matches_report", matches_detail));
}

void check_claims(Context& context) {
  if (!context.report) {
    // report_signature has failed already; there is no REPORT_DATA to compare with.
    context.out.checks.push_back(skip("claims_binding", "the SNP report does not parse"));
  } else {
    auto bound = verify_claims_binding(context.evidence.runtime_claims, context.report->report_data);
    context.out.checks.push_back(bound ? pass("claims_binding", "SHA-256(runtime claims) = REPORT_DATA[0..32], upper half zero")
                                       : failure("claims_binding", bound.error().to_string()));
  }
  auto claims = parse_runtime_claims(context.evidence.runtime_claims);
  if (!claims) {
    context.out.notes.push_back("runtime claims do not parse: " + claims.error().to_string());
    return;
  }
  context.claims = std::move(*claims);
  if (const Jwk* key = context.claims->find_key("HCLAkPub")) {
    auto public_key = jwk_public_key(*key);
    if (public_key) {
      context.claims_ak = std::move(*public_key);
    } else {
      context.out.notes.push_back("HCLAkPub is not a usable RSA key: " + public_key.error().to_string());
    }
  }
}

void check_ak(Context& context) {
  const Evidence& evidence = context.evidence;
  if (!evidence.quote) {
    context.out.checks.push_back(skip("ak_matches_claims", "this evidence has no TPM quote"));
    return;
  }
  // AikPub is parsed before the claims are looked at, so the quote can
  // still be checked with it when the claims carry no usable key.
  std::optional<Error> ak_error;
  if (evidence.ak_public) {
    auto ak = parse_tpm2b_public(*evidence.ak_public);
    if (ak) {
      context.ak = std::move(*ak);
    } else {
      ak_error = std::move(ak).error();
    }
  }
  if (!context.claims_ak) {
    context.out.checks.push_back(failure("ak_matches_claims", "the runtime claims carry no usable HCLAkPub"));
    return;
  }
  if (!evidence.ak_public) {
    context.out.checks.push_back(pass("ak_matches_claims", "no separate AK in this format; the quote is checked against HCLAkPub"));
    return;
  }
  if (ak_error) {
    context.out.checks.push_back(failure("ak_matches_claims", "AikPub does not parse: " + ak_error->to_string()));
    return;
  }
  if (EVP_PKEY_eq(context.ak->key.get(), context.claims_ak.get()) != 1) {
    context.out.checks.push_back(failure("ak_matches_claims",
                                         "the AK that signed the quote is not HCLAkPub from the hardware report; "
                                         "the AK may have been replaced"));
    return;
  }
  std::uint32_t required = kRestricted | kSign | kFixedTpm | kFixedParent | kSensitiveDataOrigin;
  if ((context.ak->object_attributes & required) != required || (context.ak->object_attributes & kDecrypt) != 0) {
    context.out.checks.push_back(failure("ak_matches_claims", "the AK is not a restricted, TPM-bound signing key"));
    return;
  }
  context.out.checks.push_back(pass("ak_matches_claims", "AikPub equals HCLAkPub"));
}

void check_quote(Context& context) {
  const Evidence& evidence = context.evidence;
  if (!evidence.quote || !evidence.quote_signature) {
    context.out.checks.push_back(skip("quote_signature", "this evidence has no TPM quote"));
    return;
  }
  auto parsed = parse_attest(*evidence.quote);
  if (!parsed || parsed->type != kAttestQuote || !parsed->quote) {
    context.out.checks.push_back(failure("quote_signature", parsed ? "the attestation is not a quote"
                                                                   : "the quote does not parse: " + parsed.error().to_string()));
    return;
  }
  context.quote = std::move(*parsed);
  EVP_PKEY* key = quote_key(context);
  if (key == nullptr) {
    context.out.checks.push_back(failure("quote_signature", "no AK to check the quote with"));
    return;
  }
  auto verified = verify_attest_signature(*evidence.quote, *evidence.quote_signature, key);
  if (!verified) {
    context.out.checks.push_back(failure("quote_signature", verified.error().to_string()));
    return;
  }
  context.quote_trusted = true;
  context.out.checks.push_back(pass("quote_signature", "RSASSA-PKCS1-v1_5 SHA-256 by the AK"));
}

bool starts_with(ByteView data, ByteView prefix) {
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

void check_nonce(Context& context) {
  const auto& expected = context.options.expected_nonce;
  const Evidence& evidence = context.evidence;
  if (evidence.format == EvidenceFormat::sev_snp_vm) {
    if (!expected) {
      context.out.checks.push_back(skip("nonce", "no expected nonce given"));
      return;
    }
    // Without a quote, freshness rests on the user data the paravisor put into the claims.
    bool in_user_data = context.claims && context.claims->user_data && starts_with(*context.claims->user_data, *expected);
    context.out.checks.push_back(in_user_data ? pass("nonce", "the claims' user-data begins with the nonce")
                                              : failure("nonce", "the claims' user-data does not carry the nonce"));
    return;
  }
  if (!context.quote) {
    // An expected nonce that nothing could carry must not pass silently; a
    // quote that does not parse fails quote_signature already.
    if (expected && !evidence.quote) {
      context.out.checks.push_back(failure("nonce", "the evidence has no quote to carry the expected nonce"));
    } else {
      context.out.checks.push_back(skip("nonce", "no parsed quote"));
    }
    return;
  }
  const Bytes& extra = context.quote->extra_data;
  if (!expected) {
    context.out.checks.push_back(skip("nonce", "no expected nonce given; the quote carries " +
                                                   (extra.empty() ? std::string("none") : hex_encode(extra))));
    return;
  }
  if (extra != *expected) {
    // Microsoft's client quotes with empty extraData and sends its nonce in
    // ClientPayload, which nothing signs, so such evidence cannot prove freshness.
    std::string carried = extra.empty() ? "no nonce (empty extraData)" : hex_encode(extra);
    context.out.checks.push_back(failure("nonce", "the quote carries " + carried + ", expected " + hex_encode(*expected)));
    return;
  }
  if (evidence.format == EvidenceFormat::coco_az_snp_vtpm &&
      !(context.claims && context.claims->user_data && starts_with(*context.claims->user_data, *expected))) {
    context.out.checks.push_back(failure("nonce", "the quote carries the nonce but the claims' user-data does not begin with it"));
    return;
  }
  context.out.checks.push_back(pass("nonce", "the quote's extraData equals the expected nonce"));
}

// The PCR indices a quote covers, in selection order. Only the SHA-256 bank
// is supported, because the evidence lists SHA-256 values only.
Result<std::vector<std::uint32_t>> quoted_indices(const QuoteInfo& quote) {
  std::vector<std::uint32_t> indices;
  for (const auto& selection : quote.selections) {
    if (selection.hash_algorithm != kAlgSha256) {
      return fail(Errc::unsupported, "the quote selects the " + algorithm_name(selection.hash_algorithm) +
                                         " bank; only SHA-256 is supported");
    }
    indices.insert(indices.end(), selection.pcrs.begin(), selection.pcrs.end());
  }
  return indices;
}

// The evidence's PCR values for `indices`, in that order.
Result<std::vector<Bytes>> listed_values(const Evidence& evidence, const std::vector<std::uint32_t>& indices) {
  std::map<std::uint32_t, const Bytes*> by_index;
  for (const auto& pcr : evidence.pcrs) by_index[pcr.index] = &pcr.digest;
  std::vector<Bytes> values;
  for (std::uint32_t index : indices) {
    auto found = by_index.find(index);
    if (found == by_index.end()) {
      return fail(Errc::invalid_data, "the quote covers PCR " + std::to_string(index) + " but the evidence has no value for it");
    }
    values.push_back(*found->second);
  }
  return values;
}

// "0-7,14" for {0, 1, ..., 7, 14}.
std::string index_list(const std::vector<std::uint32_t>& indices) {
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t last = i;
    while (last + 1 < indices.size() && indices[last + 1] == indices[last] + 1) ++last;
    out += (out.empty() ? "" : ",") + std::to_string(indices[i]);
    if (last > i) out += "-" + std::to_string(indices[last]);
    i = last + 1;
  }
  return out;
}

// Checks the listed PCR values against the quote's pcrDigest. Returns the
// values when they match, so the event log check can name differing PCRs.
std::optional<std::vector<Bytes>> check_pcr_digest(Context& context, const std::vector<std::uint32_t>& indices) {
  auto values = listed_values(context.evidence, indices);
  if (!values) {
    context.out.checks.push_back(failure("pcr_digest", values.error().to_string()));
    return std::nullopt;
  }
  std::vector<std::uint32_t> missing;
  for (std::uint32_t required : context.options.required_pcrs) {
    if (std::find(indices.begin(), indices.end(), required) == indices.end()) missing.push_back(required);
  }
  auto digest = verify_pcr_digest(*context.quote->quote, *values);
  if (!digest) {
    context.out.checks.push_back(failure("pcr_digest", digest.error().to_string()));
    return std::nullopt;
  }
  if (!missing.empty()) {
    context.out.checks.push_back(failure("pcr_digest", "the quote does not cover required PCRs " + index_list(missing)));
    return std::move(*values);
  }
  context.out.checks.push_back(pass("pcr_digest", "pcrDigest covers the " + std::to_string(indices.size()) +
                                                      " PCR values given (PCRs " + index_list(indices) + ")"));
  return std::move(*values);
}

// Replays the event log and compares the result with the quote's signed
// pcrDigest rather than with the listed PCR values, so a wrong listed value
// fails pcr_digest alone and a wrong log fails this check alone.
void check_event_log(Context& context, const std::vector<std::uint32_t>& indices,
                     const std::optional<std::vector<Bytes>>& listed) {
  if (context.evidence.event_log.empty()) {
    context.out.checks.push_back(skip("event_log_replay", "this evidence has no event log"));
    return;
  }
  auto log = parse_event_log(context.evidence.event_log);
  if (!log) {
    context.out.checks.push_back(failure("event_log_replay", "the event log does not parse: " + log.error().to_string()));
    return;
  }
  auto replayed = replay_event_log(*log, kAlgSha256);
  if (!replayed) {
    context.out.checks.push_back(failure("event_log_replay", replayed.error().to_string()));
    return;
  }
  std::vector<Bytes> values;
  for (std::uint32_t index : indices) {
    auto found = replayed->values.find(index);
    // A PCR the log never extends keeps its reset value.
    values.push_back(found != replayed->values.end() ? found->second : initial_pcr_value(index, 32));
  }
  if (verify_pcr_digest(*context.quote->quote, values)) {
    context.out.checks.push_back(pass("event_log_replay", "replaying " + std::to_string(log->events.size()) +
                                                              " events gives the quoted pcrDigest"));
    return;
  }
  std::string detail = "replaying the event log does not give the quoted pcrDigest";
  if (listed) {
    std::vector<std::uint32_t> differing;
    for (std::size_t i = 0; i < indices.size(); ++i) {
      if (values[i] != (*listed)[i]) differing.push_back(indices[i]);
    }
    if (!differing.empty()) detail += "; it differs from the quoted values in PCRs " + index_list(differing);
  }
  context.out.checks.push_back(failure("event_log_replay", detail));
}

void check_pcrs(Context& context) {
  if (!context.quote) {
    // Required PCRs that no quote covers must not pass silently, unless the
    // format has no quote at all (SevSnpVm). A quote that does not parse
    // fails quote_signature already.
    bool format_has_quote = context.evidence.format != EvidenceFormat::sev_snp_vm;
    if (!context.options.required_pcrs.empty() && !context.evidence.quote && format_has_quote) {
      context.out.checks.push_back(failure("pcr_digest", "the evidence has no quote to cover the required PCRs " +
                                                             index_list(context.options.required_pcrs)));
    } else {
      context.out.checks.push_back(skip("pcr_digest", "no parsed quote"));
    }
    context.out.checks.push_back(skip("event_log_replay", "no parsed quote"));
    return;
  }
  auto indices = quoted_indices(*context.quote->quote);
  if (!indices) {
    context.out.checks.push_back(failure("pcr_digest", indices.error().to_string()));
    context.out.checks.push_back(skip("event_log_replay", indices.error().to_string()));
    return;
  }
  auto listed = check_pcr_digest(context, *indices);
  if (listed && context.quote_trusted) {
    context.attested_pcr_indices = *indices;
    context.attested_pcr_values = *listed;
  }
  check_event_log(context, *indices, listed);
}

// The policy digest of a trial session that ran TPM2_PolicyPCR once over
// `indices` of the SHA-256 bank with these values (TPM 2.0 Part 3,
// TPM2_PolicyPCR): SHA-256(zero digest || TPM_CC_PolicyPCR ||
// TPML_PCR_SELECTION || SHA-256(values)). The selection uses a 3-byte
// bitmap, as tpm2-tss and Microsoft's client marshal it for 24 PCRs.
Bytes policy_pcr_digest(const std::vector<std::uint32_t>& indices, const std::vector<Bytes>& values) {
  constexpr std::uint32_t kCommandPolicyPcr = 0x0000017f;
  Bytes concatenated;
  for (const Bytes& value : values) concatenated.insert(concatenated.end(), value.begin(), value.end());
  Bytes values_digest = ossl::sha256(concatenated);

  Bytes input(32, 0);
  for (int shift = 24; shift >= 0; shift -= 8) input.push_back(static_cast<std::uint8_t>(kCommandPolicyPcr >> shift));
  input.insert(input.end(), {0x00, 0x00, 0x00, 0x01});  // one selection
  input.push_back(static_cast<std::uint8_t>(kAlgSha256 >> 8));
  input.push_back(static_cast<std::uint8_t>(kAlgSha256 & 0xff));
  input.push_back(3);
  std::uint8_t select[3] = {0, 0, 0};
  for (std::uint32_t index : indices) {
    if (index < 24) select[index / 8] = static_cast<std::uint8_t>(select[index / 8] | (1u << (index % 8)));
  }
  input.insert(input.end(), select, select + 3);
  input.insert(input.end(), values_digest.begin(), values_digest.end());
  return ossl::sha256(input);
}

// Finds the PCRs whose attested values give the ephemeral key's authPolicy
// through PolicyPCR, or nullopt. Microsoft's client binds the key to PCRs
// 0-7, so that subset of the quote is tried first, then every quoted PCR.
std::optional<std::vector<std::uint32_t>> policy_pcrs(const Context& context, const Bytes& auth_policy) {
  std::vector<std::vector<std::uint32_t>> candidates;
  std::vector<std::uint32_t> firmware;
  for (std::uint32_t index : context.attested_pcr_indices) {
    if (index < 8) firmware.push_back(index);
  }
  if (!firmware.empty()) candidates.push_back(firmware);
  if (firmware.size() != context.attested_pcr_indices.size()) candidates.push_back(context.attested_pcr_indices);

  for (const auto& candidate : candidates) {
    std::vector<Bytes> values;
    for (std::uint32_t index : candidate) {
      auto at = std::find(context.attested_pcr_indices.begin(), context.attested_pcr_indices.end(), index);
      values.push_back(context.attested_pcr_values[static_cast<std::size_t>(at - context.attested_pcr_indices.begin())]);
    }
    if (policy_pcr_digest(candidate, values) == auth_policy) {
      return candidate;
    }
  }
  return std::nullopt;
}

void check_ephemeral_key(Context& context) {
  const Evidence& evidence = context.evidence;
  if (!evidence.ephemeral_public) {
    context.out.checks.push_back(skip("ephemeral_key", "this evidence has no ephemeral key"));
    return;
  }
  if (!evidence.ephemeral_certify_info || !evidence.ephemeral_certify_signature) {
    context.out.checks.push_back(failure("ephemeral_key", "the ephemeral key comes without its certification"));
    return;
  }
  auto key = parse_tpm2b_public(*evidence.ephemeral_public);
  if (!key) {
    context.out.checks.push_back(failure("ephemeral_key", "EncKeyPub does not parse: " + key.error().to_string()));
    return;
  }
  auto certify = parse_attest(*evidence.ephemeral_certify_info);
  if (!certify || certify->type != kAttestCertify || !certify->certify) {
    context.out.checks.push_back(failure("ephemeral_key", "EncKeyCertifyInfo is not a TPM2_Certify attestation"));
    return;
  }
  EVP_PKEY* ak = quote_key(context);
  if (ak == nullptr) {
    context.out.checks.push_back(failure("ephemeral_key", "no AK to check the certification with"));
    return;
  }
  auto signature = verify_attest_signature(*evidence.ephemeral_certify_info, *evidence.ephemeral_certify_signature, ak);
  if (!signature) {
    context.out.checks.push_back(failure("ephemeral_key", "the certification is not signed by the AK: " + signature.error().to_string()));
    return;
  }
  auto name = key->name();
  if (!name || *name != certify->certify->name) {
    context.out.checks.push_back(failure("ephemeral_key", "the certification names another object than EncKeyPub"));
    return;
  }
  std::uint32_t required = kDecrypt | kFixedTpm | kFixedParent | kSensitiveDataOrigin;
  std::uint32_t forbidden = kUserWithAuth | kSign | kRestricted;
  if ((key->object_attributes & required) != required || (key->object_attributes & forbidden) != 0 ||
      key->auth_policy.empty()) {
    context.out.checks.push_back(failure("ephemeral_key", "EncKeyPub is not a TPM-bound decryption key usable only "
                                                          "through its PCR policy"));
    return;
  }
  std::string detail = "certified by the AK; decrypt-only " + std::to_string(key->key_bits) + "-bit RSA";
  if (context.attested_pcr_indices.empty()) {
    const Check* quote = context.out.find("quote_signature");
    const Check* pcrs = context.out.find("pcr_digest");
    bool failed_already = context.evidence.quote && ((quote && quote->status == CheckStatus::fail) ||
                                                     (pcrs && pcrs->status == CheckStatus::fail));
    if (failed_already) {
      // The quote or its PCR values failed their own check, which fails the verification already.
      context.out.checks.push_back(pass("ephemeral_key", detail + "; its PCR policy was not compared because no "
                                                                  "attested PCR values are available"));
    } else {
      context.out.checks.push_back(failure("ephemeral_key", "the evidence has no quoted PCR values to compare the "
                                                            "key's PCR policy with"));
    }
    return;
  }
  auto bound_pcrs = policy_pcrs(context, key->auth_policy);
  if (!bound_pcrs) {
    context.out.checks.push_back(failure("ephemeral_key", "EncKeyPub's authPolicy " + hex_encode(key->auth_policy) +
                                                              " is not TPM2_PolicyPCR over the quoted values of PCRs "
                                                              "0-7 or of all quoted PCRs, so the key is not bound to "
                                                              "the attested boot state"));
    return;
  }
  context.out.checks.push_back(pass("ephemeral_key", detail + ", usable only through PolicyPCR over the quoted PCRs " +
                                                         index_list(*bound_pcrs)));
}

void check_policy(Context& context) {
  if (!context.report) {
    // report_signature has failed already.
    context.out.checks.push_back(skip("report_policy", "the SNP report does not parse"));
    return;
  }
  const snp::Report& report = *context.report;
  const EvidencePolicy& policy = context.options.policy;
  std::vector<std::string> problems;
  if (!policy.allow_debug && report.debug_allowed()) problems.push_back("the guest policy allows debugging");
  if (policy.required_vmpl && report.vmpl != *policy.required_vmpl) {
    problems.push_back("VMPL is " + std::to_string(report.vmpl) + ", expected " + std::to_string(*policy.required_vmpl));
  }
  if (!policy.allow_migration_agent && report.migrate_ma_allowed()) {
    problems.push_back("the guest policy allows a migration agent");
  }
  if (policy.minimum_tcb && !context.out.product) {
    problems.push_back("the CPU product is unknown, so REPORTED_TCB cannot be compared with the configured minimum");
  } else if (policy.minimum_tcb) {
    snp::Tcb tcb = snp::decode_tcb(report.reported_tcb, *context.out.product);
    const snp::Tcb& minimum = *policy.minimum_tcb;
    if (tcb.bootloader < minimum.bootloader || tcb.tee < minimum.tee || tcb.snp < minimum.snp ||
        tcb.microcode < minimum.microcode || (minimum.fmc && tcb.fmc.value_or(0) < *minimum.fmc)) {
      problems.push_back("REPORTED_TCB " + snp::tcb_hex(report.reported_tcb) + " is below the configured minimum");
    }
  }
  if (problems.empty()) {
    context.out.checks.push_back(pass("report_policy", "debug off, VMPL " + std::to_string(report.vmpl) + ", no migration agent"));
    return;
  }
  std::string detail;
  for (const auto& problem : problems) detail += (detail.empty() ? "" : "; ") + problem;
  context.out.checks.push_back(failure("report_policy", detail));
}

}  // namespace

bool EvidenceVerification::passed() const {
  bool any = false;
  for (const auto& check : checks) {
    if (check.status == CheckStatus::fail) return false;
    any = any || check.status == CheckStatus::pass;
  }
  return any;
}

const Check* EvidenceVerification::find(std::string_view name) const {
  for (const auto& check : checks) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

EvidenceVerification verify_evidence(const Evidence& evidence, const snp::TrustStore& trust,
                                     const EvidenceVerifyOptions& options) {
  Context context{.evidence = evidence, .options = options};
  check_hardware(context, trust);
  check_claims(context);
  check_ak(context);
  check_quote(context);
  check_nonce(context);
  check_pcrs(context);
  check_ephemeral_key(context);
  check_policy(context);
  return std::move(context.out);
}

}  // namespace cvm::report
