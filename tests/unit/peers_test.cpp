// The test peers as the agent's client library sees them, for a forged Genoa
// platform. The attestation peer checks evidence with the report library,
// tokens verify against the peer's JWKS, and the client's retries and
// parsers handle the faults the peers inject.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "client/imds.hpp"
#include "client/kds.hpp"
#include "client/maa.hpp"
#include "client/token_verifier.hpp"
#include "report/evidence.hpp"
#include "snp/report.hpp"
#include "tests/peers/evidence_verifiers.hpp"
#include "tests/peers/peer_set.hpp"
#include "tests/support/jws.hpp"
#include "tests/support/snp_forge.hpp"
#include "tests/support/test_ca.hpp"

namespace cvm::peers {
namespace {

// Offset of MEASUREMENT in the SNP report, inside the signed area.
constexpr std::size_t kMeasurementOffset = 0x90;

std::string write_temporary(const std::string& name, const std::string& contents) {
  std::string path = ::testing::TempDir() + "cvm-attest-peers-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// One forged Genoa chip: its chain, TLS material for the HTTPS peers, and
// the runtime claims and signed report of one boot.
struct Platform {
  testing::ChainOptions options;
  testing::Chain chain;
  testing::TlsMaterial tls;
  std::string ca_file;
  std::string ark_file;
  std::string claims;
  Bytes report;
  PlatformIdentity identity;
};

const Platform& platform() {
  static const Platform forged = [] {
    Platform p;
    p.options.product = snp::Product::genoa;
    for (std::size_t i = 0; i < 64; ++i) {
      p.options.chip_id[i] = static_cast<std::uint8_t>(0x40 + i);
    }
    p.options.tcb = snp::Tcb{.bootloader = 10, .tee = 1, .snp = 22, .microcode = 84};
    p.chain = std::move(*testing::make_chain(p.options));
    p.tls = std::move(*testing::make_loopback_tls());
    p.ca_file = write_temporary("ca.pem", p.tls.ca_pem);
    p.ark_file = write_temporary("ark.pem", ossl::certificate_pem(p.chain.ark.get()));

    // Compact claims as the paravisor writes them. The AK is a throwaway key,
    // because SevSnpVm evidence carries no quote for it to sign.
    ossl::UniquePkey ak = std::move(*testing::generate_rsa_key(2048));
    Json::Value key = testing::rsa_jwk(ak.get());
    key["kid"] = "HCLAkPub";
    key["key_ops"].append("sign");
    Json::Value claims(Json::objectValue);
    claims["keys"].append(key);
    claims["vm-configuration"]["secure-boot"] = true;
    claims["vm-configuration"]["tpm-enabled"] = true;
    claims["user-data"] = std::string(128, '0');
    p.claims = testing::compact_json(claims);

    testing::ReportFields fields;
    fields.cpuid_mod_id = 0x11;
    fields.reported_tcb = testing::encode_tcb(p.options.tcb, snp::Product::genoa);
    fields.current_tcb = fields.reported_tcb;
    fields.committed_tcb = fields.reported_tcb;
    fields.launch_tcb = fields.reported_tcb;
    fields.chip_id = p.options.chip_id;
    Bytes digest = ossl::sha256(as_bytes(p.claims));
    std::copy(digest.begin(), digest.end(), fields.report_data.begin());
    for (std::size_t i = 0; i < fields.measurement.size(); ++i) {
      fields.measurement[i] = static_cast<std::uint8_t>(i);
    }
    fields.report_id[0] = 0xab;
    p.report = testing::encode_report(fields);
    EXPECT_TRUE(testing::sign_report(p.report, p.chain.leaf_key.get()).has_value());

    p.identity.product = snp::Product::genoa;
    p.identity.chip_id_hex = hex_encode(p.options.chip_id);
    p.identity.reported_tcb = snp::decode_tcb(fields.reported_tcb, snp::Product::genoa);
    p.identity.vcek_pem = ossl::certificate_pem(p.chain.leaf.get());
    p.identity.chain_pem = testing::chain_pem(p.chain);
    return p;
  }();
  return forged;
}

std::string sev_snp_vm_body(const Bytes& report, const std::optional<std::string>& nonce = std::nullopt) {
  report::Evidence evidence{.format = report::EvidenceFormat::sev_snp_vm};
  evidence.snp_report = report;
  evidence.runtime_claims = Bytes(platform().claims.begin(), platform().claims.end());
  evidence.vcek_chain_pem = platform().identity.vcek_pem + platform().identity.chain_pem;
  evidence.nonce_field = nonce;
  return report::encode_sev_snp_vm(evidence);
}

snp::TrustStore trusting_store() {
  snp::TrustStore store = snp::TrustStore::amd();
  auto added = store.add_roots_from_file(platform().ark_file);
  EXPECT_TRUE(added.has_value()) << added.error().to_string();
  return store;
}

EvidenceVerifiers trusting_verifiers() {
  auto verifiers = EvidenceVerifiers::from_trust_anchor_files({platform().ark_file});
  EXPECT_TRUE(verifiers.has_value()) << verifiers.error().to_string();
  return std::move(*verifiers);
}

client::HttpOptions https_options() {
  client::HttpOptions options;
  options.ca_file = platform().ca_file;
  options.connect_timeout = std::chrono::milliseconds(5000);
  options.total_timeout = std::chrono::milliseconds(20000);
  return options;
}

// The peers of the forged platform, and client options aimed at them.
struct Peers {
  std::unique_ptr<PeerSet> set;
  std::vector<std::chrono::milliseconds> sleeps;  // delays the retry loop requested

  Peers() {
    auto started = PeerSet::start(PeerSetOptions{.identity = platform().identity, .tls = platform().tls},
                                  trusting_verifiers());
    EXPECT_TRUE(started.has_value()) << started.error().to_string();
    set = std::move(*started);
  }

  client::AttestOptions attest(int max_attempts = 1) {
    client::AttestOptions options;
    options.endpoint = set->attestation_url();
    options.protocol = client::Protocol::sev_snp_vm;
    options.http = https_options();
    options.retry = client::RetryPolicy{.max_attempts = max_attempts, .base_delay = std::chrono::milliseconds(1)};
    // Records the delays instead of sleeping, so a Retry-After costs no time.
    options.retry_context.sleep = [this](std::chrono::milliseconds delay) { sleeps.push_back(delay); };
    return options;
  }

  client::TokenVerifier verifier() {
    return client::TokenVerifier(client::TokenVerifierOptions{.issuer = set->attestation_url(), .http = https_options()});
  }
};

TEST(EvidenceVerifiers, ForgedSevSnpVmPasses) {
  auto verified = verify_request_body(sev_snp_vm_body(platform().report, "n-1"), report::EvidenceFormat::sev_snp_vm,
                                      trusting_store());
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  const Json::Value& claims = verified->isolation_claims;
  EXPECT_EQ(claims["x-ms-sevsnpvm-bootloader-svn"].asUInt(), 10u);
  EXPECT_EQ(claims["x-ms-sevsnpvm-tee-svn"].asUInt(), 1u);
  EXPECT_EQ(claims["x-ms-sevsnpvm-snpfw-svn"].asUInt(), 22u);
  EXPECT_EQ(claims["x-ms-sevsnpvm-microcode-svn"].asUInt(), 84u);
  EXPECT_EQ(claims["x-ms-sevsnpvm-vmpl"].asUInt(), 0u);
  EXPECT_EQ(claims["x-ms-sevsnpvm-guestsvn"].asUInt(), 0u);
  EXPECT_FALSE(claims["x-ms-sevsnpvm-is-debuggable"].asBool());
  EXPECT_FALSE(claims["x-ms-sevsnpvm-migration-allowed"].asBool());
  EXPECT_TRUE(claims["x-ms-sevsnpvm-smt-allowed"].asBool());
  EXPECT_EQ(claims["x-ms-sevsnpvm-reportdata"].asString(),
            hex_encode(ossl::sha256(as_bytes(platform().claims))) + std::string(64, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-launchmeasurement"].asString().substr(0, 8), "00010203");
  EXPECT_EQ(claims["x-ms-sevsnpvm-reportid"].asString().substr(0, 4), "ab00");
  // snp_forge sets family id 01 and image id 02, as Azure's reports carry.
  EXPECT_EQ(claims["x-ms-sevsnpvm-familyId"].asString(), "01" + std::string(30, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-imageId"].asString(), "02" + std::string(30, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-hostdata"].asString(), std::string(64, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-idkeydigest"].asString(), std::string(96, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-authorkeydigest"].asString(), std::string(96, '0'));
  EXPECT_EQ(claims.size(), 17u);
  EXPECT_EQ(verified->runtime_claims["keys"][0]["kid"].asString(), "HCLAkPub");
  EXPECT_EQ(verified->nonce, "n-1");
  EXPECT_FALSE(verified->ephemeral_key);
}

TEST(EvidenceVerifiers, TamperedReportNamesCheck) {
  Bytes tampered = platform().report;
  tampered[kMeasurementOffset] ^= 0x01;
  auto verified = verify_request_body(sev_snp_vm_body(tampered), report::EvidenceFormat::sev_snp_vm, trusting_store());
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, Errc::verification_failed);
  EXPECT_EQ(verified.error().field, "report_signature");
}

TEST(EvidenceVerifiers, UntrustedArkFailsChain) {
  auto verified = verify_request_body(sev_snp_vm_body(platform().report), report::EvidenceFormat::sev_snp_vm,
                                      snp::TrustStore::amd());
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, Errc::verification_failed);
  EXPECT_EQ(verified.error().field, "certificate_chain");
}

TEST(EvidenceVerifiers, WrongOrBrokenBodyRejected) {
  snp::TrustStore trust = trusting_store();
  auto verified = verify_request_body(sev_snp_vm_body(platform().report), report::EvidenceFormat::azure_guest, trust);
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, Errc::invalid_data);

  auto garbage = verify_request_body(R"({"report": 7, "runtimeData": {}})", report::EvidenceFormat::sev_snp_vm, trust);
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, Errc::invalid_data);

  auto unrecognised = verify_request_body("{}", report::EvidenceFormat::sev_snp_vm, trust);
  ASSERT_FALSE(unrecognised.has_value());
  EXPECT_EQ(unrecognised.error().code, Errc::unsupported);
}

TEST(EvidenceVerifiers, MissingTrustAnchorFileFails) {
  auto verifiers = EvidenceVerifiers::from_trust_anchor_files({::testing::TempDir() + "no-such-ark.pem"});
  ASSERT_FALSE(verifiers.has_value());
  EXPECT_EQ(verifiers.error().code, Errc::not_found);
}

TEST(PeerSet, SevSnpVmTokenVerifies) {
  Peers peers;
  auto token = client::post_evidence(peers.attest(), sev_snp_vm_body(platform().report, "bm9uY2U="));
  ASSERT_TRUE(token.has_value()) << token.error().to_string();

  client::TokenVerifier verifier = peers.verifier();
  auto jwt = verifier.verify(*token);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().to_string();
  const Json::Value& claims = jwt->payload;
  EXPECT_EQ(claims["x-ms-attestation-type"].asString(), "sevsnpvm");
  EXPECT_EQ(claims["x-ms-compliance-status"].asString(), "azure-compliant-cvm");
  EXPECT_EQ(claims["x-ms-sevsnpvm-reportdata"].asString(),
            hex_encode(ossl::sha256(as_bytes(platform().claims))) + std::string(64, '0'));
  EXPECT_EQ(claims["x-ms-sevsnpvm-snpfw-svn"].asUInt(), 22u);
  EXPECT_EQ(claims["nonce"].asString(), "bm9uY2U=");
  EXPECT_EQ(claims["x-ms-runtime"]["keys"][0]["kid"].asString(), "HCLAkPub");
  EXPECT_EQ(claims["iss"].asString(), peers.set->attestation_url());
  ASSERT_TRUE(claims["exp"].isIntegral());
  ASSERT_TRUE(claims["iat"].isIntegral());
  EXPECT_EQ(claims["exp"].asInt64() - claims["iat"].asInt64(), 8 * 3600);
  EXPECT_EQ(jwt->algorithm(), "RS256");
  EXPECT_EQ(peers.set->attestation().attestations(), 1);
}

TEST(PeerSet, TamperedReportIsHttp400) {
  Peers peers;
  Bytes tampered = platform().report;
  tampered[kMeasurementOffset] ^= 0x01;
  auto token = client::post_evidence(peers.attest(), sev_snp_vm_body(tampered));
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, Errc::verification_failed);
  EXPECT_EQ(token.error().cause.source, Cause::Source::http);
  EXPECT_EQ(token.error().cause.code, 400);
  EXPECT_NE(token.error().cause.text.find("report_signature"), std::string::npos) << token.error().cause.text;
}

TEST(PeerSet, WrongProtocolIsHttp400) {
  Peers peers;
  client::AttestOptions options = peers.attest();
  options.protocol = client::Protocol::azure_guest;
  auto token = client::post_evidence(options, sev_snp_vm_body(platform().report));
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, Errc::verification_failed);
  EXPECT_EQ(token.error().cause.code, 400);
}

TEST(PeerSet, TokenFaultsFailVerification) {
  for (TokenFault fault : {TokenFault::unknown_key, TokenFault::expired, TokenFault::future_issued}) {
    SCOPED_TRACE(static_cast<int>(fault));
    Peers peers;
    peers.set->attestation().set_token_fault(fault);
    auto token = client::post_evidence(peers.attest(), sev_snp_vm_body(platform().report));
    ASSERT_TRUE(token.has_value()) << token.error().to_string();
    client::TokenVerifier verifier = peers.verifier();
    auto jwt = verifier.verify(*token);
    ASSERT_FALSE(jwt.has_value());
    EXPECT_EQ(jwt.error().code, Errc::verification_failed);

    // The fault applied to one token only; the next one verifies.
    auto next = client::post_evidence(peers.attest(), sev_snp_vm_body(platform().report));
    ASSERT_TRUE(next.has_value()) << next.error().to_string();
    auto good = verifier.verify(*next);
    EXPECT_TRUE(good.has_value()) << good.error().to_string();
  }
}

TEST(PeerSet, RetriesServiceUnavailableWithRetryAfter) {
  Peers peers;
  peers.set->attestation().faults().add(Fault{.path_prefix = "/attest", .status = 503, .retry_after = 2});
  auto token = client::post_evidence(peers.attest(3), sev_snp_vm_body(platform().report));
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  ASSERT_EQ(peers.sleeps.size(), 1u);
  EXPECT_EQ(peers.sleeps[0], std::chrono::milliseconds(2000));
  EXPECT_EQ(peers.set->attestation().attestations(), 1) << "the fault answered the first attempt";
}

TEST(PeerSet, RetriesTooManyRequests) {
  Peers peers;
  peers.set->attestation().faults().add(Fault{.path_prefix = "/attest", .status = 429, .remaining = 2});
  auto token = client::post_evidence(peers.attest(3), sev_snp_vm_body(platform().report));
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  EXPECT_EQ(peers.sleeps.size(), 2u);
  EXPECT_EQ(peers.set->attestation().attestations(), 1);
}

TEST(PeerSet, RetriesRunOut) {
  Peers peers;
  peers.set->attestation().faults().add(Fault{.path_prefix = "/attest", .status = 503, .remaining = -1});
  auto token = client::post_evidence(peers.attest(2), sev_snp_vm_body(platform().report));
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().cause.code, 503);
  EXPECT_EQ(peers.sleeps.size(), 1u);
}

TEST(PeerSet, BadResponseBodiesAreInvalidData) {
  for (BodyFault body : {BodyFault::malformed, BodyFault::truncated, BodyFault::oversized}) {
    SCOPED_TRACE(static_cast<int>(body));
    Peers peers;
    peers.set->attestation().faults().add(Fault{.path_prefix = "/attest", .body = body});
    auto token = client::post_evidence(peers.attest(), sev_snp_vm_body(platform().report));
    ASSERT_FALSE(token.has_value());
    EXPECT_EQ(token.error().code, Errc::invalid_data) << token.error().to_string();
  }
}

TEST(PeerSet, ControlEndpointSetsLifetime) {
  Peers peers;
  client::HttpRequest request{.method = "POST",
                              .url = peers.set->attestation_url() + "/control/token",
                              .headers = {{"Content-Type", "application/json"}},
                              .body = R"({"lifetime_seconds": 120})"};
  auto response = client::perform(request, https_options());
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  EXPECT_EQ(response->status, 204);
  auto token = client::post_evidence(peers.attest(), sev_snp_vm_body(platform().report));
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  auto jwt = client::parse_jwt(*token);
  ASSERT_TRUE(jwt.has_value());
  EXPECT_EQ(jwt->payload["exp"].asInt64() - jwt->payload["iat"].asInt64(), 120);
}

TEST(PeerSet, ImdsAndKdsServeThePlatform) {
  Peers peers;
  client::ImdsOptions imds{.base_url = peers.set->imds_url(), .retry = client::RetryPolicy{.max_attempts = 1}};
  auto thim = client::fetch_thim_certificates(imds);
  ASSERT_TRUE(thim.has_value()) << thim.error().to_string();
  EXPECT_EQ(thim->vcek_pem, platform().identity.vcek_pem);
  EXPECT_EQ(thim->chain_pem, platform().identity.chain_pem);
  EXPECT_EQ(peers.set->imds_url().rfind("http://127.0.0.1:", 0), 0u);

  client::KdsOptions kds{.base_url = peers.set->kds_url(), .http = https_options(),
                         .retry = client::RetryPolicy{.max_attempts = 1}};
  std::array<std::uint8_t, 64> chip_id = platform().options.chip_id;
  auto vcek = client::fetch_vcek(kds, snp::Product::genoa, chip_id, platform().identity.reported_tcb);
  ASSERT_TRUE(vcek.has_value()) << vcek.error().to_string();
  EXPECT_EQ(*vcek, ossl::certificate_der(platform().chain.leaf.get()));
  EXPECT_EQ(peers.set->kds_url().rfind("https://127.0.0.1:", 0), 0u);
}

}  // namespace
}  // namespace cvm::peers
