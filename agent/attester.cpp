#include "agent/attester.hpp"

#include <openssl/evp.h>

#include "client/certificates.hpp"
#include "client/imds.hpp"
#include "client/jwt.hpp"
#include "client/maa.hpp"
#include "client/region.hpp"
#include "client/token_verifier.hpp"
#include "report/claims.hpp"
#include "report/evidence.hpp"
#include "report/hcl.hpp"
#include "report/verify.hpp"
#include "snp/verify.hpp"
#include "vtpm/event_log.hpp"
#include "vtpm/keys.hpp"
#include "vtpm/nv.hpp"
#include "vtpm/pcr.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::agent {
namespace {

using Microseconds = std::chrono::microseconds;

class StageTimer {
 public:
  explicit StageTimer(Microseconds& total) : total_(total), started_(std::chrono::steady_clock::now()) {}
  ~StageTimer() { total_ += std::chrono::duration_cast<Microseconds>(std::chrono::steady_clock::now() - started_); }

 private:
  Microseconds& total_;
  std::chrono::steady_clock::time_point started_;
};

vtpm::PcrSelection pcr_selection(const TpmConfig& tpm) {
  vtpm::PcrSelection selection;
  selection.indices.assign(tpm.pcrs.begin(), tpm.pcrs.end());
  return selection;
}

Result<void> check_ak_matches_claims(const report::HclReport& hcl, EVP_PKEY* ak) {
  auto claims = CVM_TRY(report::parse_runtime_claims(hcl.claims));
  const report::Jwk* jwk = claims.find_key("HCLAkPub");
  if (jwk == nullptr) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "the HCL report's runtime claims carry no HCLAkPub",
                      .hint = "the paravisor did not bind the vTPM's AK to the hardware report"});
  }
  auto claimed = CVM_TRY(report::jwk_public_key(*jwk));
  if (EVP_PKEY_eq(claimed.get(), ak) != 1) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "the AK at 0x81000003 is not the HCLAkPub of the hardware report",
                      .hint = "the AK may have been replaced; do not trust this vTPM's quotes"});
  }
  return {};
}

std::string failed_checks(const report::EvidenceVerification& verification) {
  std::string out;
  for (const auto& check : verification.checks) {
    if (check.status == snp::CheckStatus::fail) {
      out += (out.empty() ? "" : "; ") + check.name + ": " + check.detail;
    }
  }
  return out;
}

}  // namespace

struct Attester::State {
  snp::TrustStore trust = snp::TrustStore::amd();
  std::optional<Error> trust_error;
  std::optional<std::string> endpoint;
  std::unique_ptr<client::TokenVerifier> verifier;
  std::optional<std::string> certificates;  // the last VCEK chain, reused while chip and TCB hold
  std::uint64_t certificates_tcb = 0;
  std::array<std::uint8_t, 64> certificates_chip{};
};

Attester::Attester(Config config, AttesterEvents events)
    : config_(std::move(config)), events_(std::move(events)), state_(std::make_unique<State>()) {
  for (const auto& path : config_.certificates.trust_anchors) {
    auto added = state_->trust.add_roots_from_file(path);
    if (!added && !state_->trust_error) {
      state_->trust_error = std::move(added).error().prefixed("certificates.trust_anchors");
    }
  }
}

Attester::~Attester() = default;

Result<std::string> Attester::endpoint() {
  if (state_->endpoint) {
    return *state_->endpoint;
  }
  if (!config_.attestation.endpoint.empty()) {
    state_->endpoint = config_.attestation.endpoint;
    return *state_->endpoint;
  }
  client::ImdsOptions imds{.base_url = config_.imds_url};
  std::string region = CVM_TRY(client::fetch_region(imds));
  std::string resolved = CVM_TRY(client::shared_endpoint_for_region(region));
  if (events_.info) {
    events_.info("Using the shared attestation endpoint of region " + region + ": " + resolved);
  }
  state_->endpoint = resolved;
  return resolved;
}

namespace {

client::HttpOptions http_options(const Config& config) {
  client::HttpOptions http;
  http.ca_file = config.attestation.ca_file;
  http.total_timeout = std::chrono::seconds(config.attestation.timeout_seconds);
  return http;
}

// Reads the HCL report; for SevSnpVm with a nonce, writes the nonce as user
// data first and waits for a report that carries it.
Result<Bytes> read_report(const Config& config, vtpm::Tpm& tpm, const std::optional<Bytes>& user_data) {
  if (!user_data) {
    return vtpm::read_hcl_report(tpm);
  }
  CVM_TRY(vtpm::write_user_data(tpm, *user_data));
  Bytes expected = *user_data;
  auto refreshed = CVM_TRY(vtpm::refresh_hcl_report(
      config.tpm.tcti,
      [expected](ByteView hcl) -> Result<bool> {
        auto parsed = report::parse_hcl_envelope(hcl);
        if (!parsed) return false;
        auto claims = report::parse_runtime_claims(parsed->claims);
        return claims && report::user_data_matches(*claims, expected);
      },
      vtpm::RefreshOptions{}));
  return std::move(refreshed.hcl_report);
}

}  // namespace

Result<Attester::Collected> Attester::collect(const std::optional<Bytes>& nonce, bool azure_guest, StageTimes& times) {
  if (state_->trust_error) {
    return fail(*state_->trust_error);
  }
  Collected out;
  out.evidence.format = azure_guest ? report::EvidenceFormat::azure_guest : report::EvidenceFormat::sev_snp_vm;
  out.ephemeral_options.pcrs = pcr_selection(config_.tpm);

  // TPM batch 1: report, AK, quote, event log and ephemeral key; the
  // connection closes before any network call.
  {
    StageTimer timer(times.tpm);
    vtpm::Tpm tpm = CVM_TRY(vtpm::Tpm::open(config_.tpm.tcti));
    Bytes hcl_bytes = CVM_TRY(read_report(config_, tpm, azure_guest ? std::nullopt : nonce));
    report::HclReport hcl = CVM_TRY(report::parse_hcl_report(hcl_bytes));
    CVM_TRY(report::verify_claims_binding(hcl));
    CVM_TRY(report::fill_from_hcl_report(out.evidence, hcl_bytes));
    out.snp = hcl.snp;
    if (azure_guest) {
      CVM_TRY(collect_tpm_parts(tpm, hcl, nonce, out));
    } else if (nonce) {
      out.evidence.nonce_field = base64_encode(*nonce);
    }
  }

  // The VCEK chain: reused while the TCB is unchanged, else cache, THIM, KDS.
  {
    StageTimer timer(times.certificates);
    out.evidence.vcek_chain_pem = CVM_TRY(certificates_for(out.snp));
  }

  // Self-check with the verifier's own code, so a broken platform is named
  // here instead of arriving as an HTTP 400.
  {
    StageTimer timer(times.self_check);
    report::EvidenceVerifyOptions options;
    options.expected_nonce = azure_guest ? std::optional<Bytes>(nonce.value_or(Bytes{})) : nonce;
    if (azure_guest) {
      options.required_pcrs.assign(config_.tpm.pcrs.begin(), config_.tpm.pcrs.end());
    }
    report::EvidenceVerification verification = report::verify_evidence(out.evidence, state_->trust, options);
    if (!verification.passed()) {
      return fail(Error{.code = Errc::verification_failed,
                        .message = "the evidence fails its self-check: " + failed_checks(verification),
                        .hint = "run 'cvm-attest evidence' and 'cvm-attest verify' for the full table"});
    }
  }
  return out;
}

Result<void> Attester::collect_tpm_parts(vtpm::Tpm& tpm, const report::HclReport& hcl,
                                         const std::optional<Bytes>& nonce, Collected& out) {
  vtpm::PublicKey ak = CVM_TRY(vtpm::read_ak_public(tpm));
  CVM_TRY(check_ak_matches_claims(hcl, ak.key.get()));
  report::Evidence& evidence = out.evidence;
  evidence.ak_public = ak.tpm2b_public;
  evidence.ak_certificate = CVM_TRY(vtpm::read_ak_certificate(tpm));
  vtpm::Quote quote =
      CVM_TRY(vtpm::quote(tpm, vtpm::QuoteOptions{.pcrs = pcr_selection(config_.tpm), .nonce = nonce.value_or(Bytes{})}));
  evidence.quote = quote.attest;
  evidence.quote_signature = quote.signature.value;
  for (const auto& value : quote.pcrs.values) {
    evidence.pcrs.push_back(report::PcrEntry{.index = value.index, .digest = value.digest});
  }
  auto log = vtpm::read_event_log(config_.tpm.event_log);
  if (log && *log) {
    evidence.event_log = std::move(**log);
  } else if (!log && events_.warning) {
    events_.warning("Sending no event log: " + log.error().to_string());
  }
  vtpm::EphemeralKey key = CVM_TRY(vtpm::create_ephemeral_key(tpm, out.ephemeral_options));
  out.ephemeral_options.policy_digest = key.policy_digest;
  evidence.ephemeral_public = key.public_key.tpm2b_public;
  evidence.ephemeral_certify_info = key.certify_info;
  evidence.ephemeral_certify_signature = key.certify_signature.value;
  out.ephemeral_key = std::move(key.public_key.key);
  report::fill_os_release(evidence);
  if (nonce) {
    evidence.client_payload.emplace_back("nonce", base64_encode(*nonce));
  }
  return {};
}

Result<std::string> Attester::certificates_for(const snp::Report& report) {
  if (state_->certificates && state_->certificates_tcb == report.reported_tcb &&
      state_->certificates_chip == report.chip_id) {
    return *state_->certificates;
  }
  if (!config_.certificates.chain_file.empty()) {
    Bytes pem = CVM_TRY(read_file(config_.certificates.chain_file, 1 << 20));
    return std::string(as_text(pem));
  }
  auto product = snp::resolve_product(report, std::nullopt, std::nullopt);
  if (!product) {
    return fail(std::move(product).error().prefixed("cannot choose the VCEK to fetch"));
  }
  client::CertificateSourceOptions sources;
  sources.cache_directory = config_.certificates.cache_dir;
  sources.use_thim = config_.certificates.use_thim;
  sources.use_kds = config_.certificates.use_kds;
  sources.imds.base_url = config_.imds_url;
  sources.kds.base_url = config_.kds_url;
  sources.kds.http.ca_file = config_.attestation.ca_file;
  sources.on_problem = [this](client::CertificateOrigin origin, const Error& error) {
    if (events_.warning) {
      events_.warning("VCEK source " + std::string(client::certificate_origin_name(origin)) + ": " + error.to_string());
    }
  };
  client::Certificates found = CVM_TRY(client::obtain_certificates(report, *product, state_->trust, Clock::now(), sources));
  state_->certificates = std::move(found.pem);
  state_->certificates_tcb = report.reported_tcb;
  state_->certificates_chip = report.chip_id;
  return *state_->certificates;
}

Result<std::string> Attester::evidence(const std::optional<Bytes>& nonce, report::EvidenceFormat format) {
  std::lock_guard lock(mutex_);
  StageTimes times;
  bool azure_guest = format == report::EvidenceFormat::azure_guest;
  Collected collected = CVM_TRY(collect(nonce, azure_guest, times));
  return azure_guest ? report::encode_azure_guest(collected.evidence) : report::encode_sev_snp_vm(collected.evidence);
}

Result<service::Token> Attester::attest(const std::optional<Bytes>& nonce) {
  std::lock_guard lock(mutex_);
  StageTimes times;
  const bool azure_guest = config_.attestation.protocol == client::Protocol::azure_guest;
  Collected collected = CVM_TRY(collect(nonce, azure_guest, times));
  report::Evidence& evidence = collected.evidence;
  vtpm::EphemeralKeyOptions& ephemeral_options = collected.ephemeral_options;
  ossl::UniquePkey& ephemeral_key = collected.ephemeral_key;

  std::string endpoint_url = CVM_TRY(endpoint());
  std::string token_text;
  {
    StageTimer timer(times.service);
    client::AttestOptions options{.endpoint = endpoint_url, .protocol = config_.attestation.protocol,
                                  .http = http_options(config_)};
    options.retry.total_budget = std::chrono::seconds(config_.attestation.timeout_seconds * 2);
    std::string body = azure_guest ? report::encode_azure_guest(evidence) : report::encode_sev_snp_vm(evidence);
    token_text = CVM_TRY(client::post_evidence(options, std::move(body)));
  }

  // Stopped before the stages callback below, so the callback receives this stage's time.
  std::optional<StageTimer> verify_timer;
  verify_timer.emplace(times.decrypt_and_verify);
  std::string jwt = token_text;
  if (azure_guest) {
    client::EncryptedToken encrypted = CVM_TRY(client::parse_encrypted_token(token_text));
    // TPM batch 2: the ephemeral key unwraps the response key under its PCR policy.
    client::KeyUnwrapper unwrap = [&](ByteView wrapped) -> Result<Bytes> {
      vtpm::Tpm tpm = CVM_TRY(vtpm::Tpm::open(config_.tpm.tcti));
      return vtpm::ephemeral_decrypt(tpm, ephemeral_options, vtpm::DecryptScheme::rsaes, wrapped);
    };
    jwt = CVM_TRY(client::decrypt_token(encrypted, unwrap));
  }
  if (!state_->verifier) {
    state_->verifier = std::make_unique<client::TokenVerifier>(client::TokenVerifierOptions{
        .issuer = endpoint_url,
        .clock_skew = std::chrono::seconds(config_.attestation.clock_skew_seconds),
        .http = http_options(config_)});
  }
  client::Jwt token = CVM_TRY(state_->verifier->verify(jwt));

  if (nonce) {
    std::string expected = base64_encode(*nonce);
    const Json::Value& payload_nonce = token.payload["x-ms-runtime"]["client-payload"]["nonce"];
    bool carried = (token.payload["nonce"].isString() && token.payload["nonce"].asString() == expected) ||
                   (payload_nonce.isString() && payload_nonce.asString() == base64_encode(as_bytes(expected)));
    if (!carried) {
      return fail(Error{.code = Errc::verification_failed, .message = "the token does not carry the requested nonce"});
    }
  }
  if (azure_guest) {
    // The token must name our ephemeral key, or a key release would wrap to someone else's key.
    const Json::Value& keys = token.payload["x-ms-runtime"]["keys"];
    bool ours = false;
    for (const auto& key : keys) {
      if (key["kid"].asString() != "TpmEphemeralEncryptionKey") continue;
      report::Jwk jwk{.kid = "TpmEphemeralEncryptionKey"};
      auto n = base64_decode(key["n"].asString());
      auto e = base64_decode(key["e"].asString());
      if (!n || !e) continue;
      jwk.kty = "RSA";
      jwk.n = *n;
      jwk.e = *e;
      auto claimed = report::jwk_public_key(jwk);
      ours = claimed && EVP_PKEY_eq(claimed->get(), ephemeral_key.get()) == 1;
    }
    if (!ours) {
      return fail(Error{.code = Errc::verification_failed,
                        .message = "the token's TpmEphemeralEncryptionKey is not this TPM's ephemeral key"});
    }
  }
  auto issued = client::numeric_date(token.payload, "iat").value_or(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count());
  auto expires = *client::numeric_date(token.payload, "exp");
  verify_timer.reset();
  if (events_.stages) {
    events_.stages(times);
  }
  return service::Token{.jwt = std::move(jwt),
                        .issued_at = Clock::from_time_t(static_cast<std::time_t>(issued)),
                        .expires_at = Clock::from_time_t(static_cast<std::time_t>(expires))};
}

}  // namespace cvm::agent
