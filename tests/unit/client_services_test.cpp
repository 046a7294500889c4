// IMDS, AMD KDS and the certificate cache against the loopback peers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "client/certificates.hpp"
#include "client/imds.hpp"
#include "client/kds.hpp"
#include "tests/peers/platform_peers.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::client {
namespace {

using peers::HttpServer;

// One forged Genoa chip with its chain, a signed report, and the peers serving it.
struct Platform {
  cvm::testing::Chain chain;
  cvm::testing::ChainOptions options;
  snp::Report report;
  peers::PlatformIdentity identity;
};

Platform& platform() {
  static Platform made = [] {
    Platform p;
    p.options.product = snp::Product::genoa;
    for (std::size_t i = 0; i < 64; ++i) {
      p.options.chip_id[i] = static_cast<std::uint8_t>(0xa0 + i);
    }
    p.options.tcb = snp::Tcb{.bootloader = 9, .tee = 0, .snp = 23, .microcode = 84};
    p.chain = std::move(*cvm::testing::make_chain(p.options));
    cvm::testing::ReportFields fields;
    fields.cpuid_mod_id = 0x11;
    fields.reported_tcb = cvm::testing::encode_tcb(p.options.tcb, snp::Product::genoa);
    fields.current_tcb = fields.reported_tcb;
    fields.committed_tcb = fields.reported_tcb;
    fields.chip_id = p.options.chip_id;
    Bytes data = cvm::testing::encode_report(fields);
    EXPECT_TRUE(cvm::testing::sign_report(data, p.chain.leaf_key.get()).has_value());
    p.report = *snp::parse_report(data);
    p.identity.product = snp::Product::genoa;
    p.identity.chip_id_hex = hex_encode(p.options.chip_id);
    p.identity.reported_tcb = snp::decode_tcb(fields.reported_tcb, snp::Product::genoa);
    p.identity.vcek_pem = ossl::certificate_pem(p.chain.leaf.get());
    p.identity.chain_pem = cvm::testing::chain_pem(p.chain);
    return p;
  }();
  return made;
}

snp::TrustStore trust() {
  snp::TrustStore store = snp::TrustStore::amd();
  X509_up_ref(platform().chain.ark.get());
  store.add_root(ossl::UniqueX509(platform().chain.ark.get()));
  return store;
}

struct Peers {
  peers::ImdsPeer imds{platform().identity};
  peers::KdsPeer kds{platform().identity};
  std::unique_ptr<HttpServer> imds_server = std::move(*HttpServer::start({}, imds.handler()));
  std::unique_ptr<HttpServer> kds_server = std::move(*HttpServer::start({}, kds.handler()));

  CertificateSourceOptions options(const std::string& cache_directory) {
    CertificateSourceOptions out;
    out.cache_directory = cache_directory;
    out.imds.base_url = imds_server->base_url();
    out.imds.retry = RetryPolicy{.max_attempts = 2, .base_delay = std::chrono::milliseconds(1)};
    out.kds.base_url = kds_server->base_url();
    out.kds.retry = RetryPolicy{.max_attempts = 2, .base_delay = std::chrono::milliseconds(1)};
    return out;
  }
};

std::string fresh_directory(const std::string& name) {
  std::string path = ::testing::TempDir() + "cvm-attest-" + name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(path);
  return path;
}

TEST(Imds, ThimTokenAndRegion) {
  Peers peers;
  ImdsOptions options{.base_url = peers.imds_server->base_url()};
  auto thim = fetch_thim_certificates(options);
  ASSERT_TRUE(thim.has_value()) << thim.error().to_string();
  EXPECT_EQ(thim->vcek_pem, platform().identity.vcek_pem);
  EXPECT_EQ(thim->chain_pem, platform().identity.chain_pem);

  auto token = fetch_managed_identity_token(options, "https://vault.azure.net", "client-1");
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  EXPECT_NE(token->find("https://vault.azure.net"), std::string::npos);
  EXPECT_NE(token->find("client-1"), std::string::npos);

  auto region = fetch_region(options);
  ASSERT_TRUE(region.has_value());
  EXPECT_EQ(*region, "eastus2");
}

TEST(Imds, ErrorsAndMalformedBodies) {
  Peers peers;
  ImdsOptions options{.base_url = peers.imds_server->base_url(),
                      .retry = RetryPolicy{.max_attempts = 1}};
  peers.imds.faults().add(peers::Fault{.path_prefix = "/metadata/THIM", .body = peers::BodyFault::malformed});
  auto malformed = fetch_thim_certificates(options);
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().code, Errc::invalid_data);

  peers.imds.faults().add(peers::Fault{.path_prefix = "/metadata/THIM", .status = 404});
  auto missing = fetch_thim_certificates(options);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().cause.code, 404);
}

TEST(Imds, TransientFailureIsRetried) {
  Peers peers;
  ImdsOptions options{.base_url = peers.imds_server->base_url(),
                      .retry = RetryPolicy{.max_attempts = 3, .base_delay = std::chrono::milliseconds(1)}};
  peers.imds.faults().add(peers::Fault{.path_prefix = "/metadata/THIM", .status = 503, .remaining = 2});
  auto thim = fetch_thim_certificates(options);
  ASSERT_TRUE(thim.has_value()) << thim.error().to_string();
  EXPECT_EQ(peers.imds.requests("/metadata/THIM"), 1) << "the faults answered the first two attempts";
}

TEST(Kds, VcekChainAndTypedErrors) {
  Peers peers;
  KdsOptions options{.base_url = peers.kds_server->base_url(), .retry = RetryPolicy{.max_attempts = 1}};
  snp::Tcb tcb = snp::decode_tcb(platform().report.reported_tcb, snp::Product::genoa);
  auto vcek = fetch_vcek(options, snp::Product::genoa, platform().report.chip_id, tcb);
  ASSERT_TRUE(vcek.has_value()) << vcek.error().to_string();
  EXPECT_EQ(*vcek, ossl::certificate_der(platform().chain.leaf.get()));
  auto chain = fetch_cert_chain(options, snp::Product::genoa, snp::EndorsementKey::vcek);
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(*chain, platform().identity.chain_pem);

  snp::Tcb other = tcb;
  other.microcode = 1;
  auto unknown = fetch_vcek(options, snp::Product::genoa, platform().report.chip_id, other);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  peers.kds.faults().add(peers::Fault{.path_prefix = "/vcek", .status = 429, .retry_after = 1});
  auto limited = fetch_vcek(options, snp::Product::genoa, platform().report.chip_id, tcb);
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, Errc::unavailable);
  EXPECT_NE(limited.error().hint.find("rate-limits"), std::string::npos);
}

TEST(CertificateCache, MissFetchesThenHits) {
  Peers peers;
  std::string directory = fresh_directory("cache-hit");
  auto first = obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(),
                                   peers.options(directory));
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  EXPECT_EQ(first->origin, CertificateOrigin::thim);
  auto second = obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(),
                                    peers.options(directory));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->origin, CertificateOrigin::cache);
  EXPECT_EQ(second->pem, first->pem);
  EXPECT_EQ(peers.imds.requests("/metadata/THIM"), 1);
}

TEST(CertificateCache, CorruptEntryIsDroppedAndRefetched) {
  Peers peers;
  std::string directory = fresh_directory("cache-corrupt");
  ASSERT_TRUE(obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(),
                                  peers.options(directory)).has_value());
  CacheKey key{.product = snp::Product::genoa, .chip_id = platform().report.chip_id,
               .reported_tcb = platform().report.reported_tcb};
  std::ofstream(directory + "/" + key.file_name(), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\ngarbage\n";
  std::vector<CertificateOrigin> problems;
  CertificateSourceOptions options = peers.options(directory);
  options.on_problem = [&](CertificateOrigin origin, const Error&) { problems.push_back(origin); };
  auto again = obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(), options);
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(again->origin, CertificateOrigin::thim);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], CertificateOrigin::cache);
  EXPECT_EQ(CertCache(directory).load(key), again->pem);
}

TEST(CertificateCache, UnwritableDirectoryDegradesToNoCache) {
  Peers peers;
  std::string parent = fresh_directory("cache-readonly");
  std::filesystem::create_directories(parent);
  std::string file_in_the_way = parent + "/not-a-directory";
  std::ofstream(file_in_the_way) << "x";
  std::vector<Error> problems;
  CertificateSourceOptions options = peers.options(file_in_the_way + "/cache");
  options.on_problem = [&](CertificateOrigin, const Error& error) { problems.push_back(error); };
  auto found = obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(), options);
  ASSERT_TRUE(found.has_value()) << found.error().to_string();
  EXPECT_EQ(found->origin, CertificateOrigin::thim);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, Errc::io);
}

TEST(CertificateCache, TcbChangeMissesTheOldEntry) {
  CacheKey before{.product = snp::Product::genoa, .chip_id = platform().report.chip_id,
                  .reported_tcb = platform().report.reported_tcb};
  CacheKey after = before;
  after.reported_tcb += 1ULL << 56;
  EXPECT_NE(before.file_name(), after.file_name());
  std::string directory = fresh_directory("cache-tcb");
  CertCache cache(directory);
  ASSERT_TRUE(cache.store(before, "pem").has_value());
  EXPECT_TRUE(cache.load(before).has_value());
  EXPECT_FALSE(cache.load(after).has_value());
}

TEST(CertificateSource, FallsBackToKdsWhenThimFails) {
  Peers peers;
  peers.imds.faults().add(peers::Fault{.path_prefix = "/metadata/THIM", .status = 500, .remaining = -1});
  std::vector<CertificateOrigin> problems;
  CertificateSourceOptions options = peers.options("");
  options.on_problem = [&](CertificateOrigin origin, const Error&) { problems.push_back(origin); };
  auto found = obtain_certificates(platform().report, snp::Product::genoa, trust(), Clock::now(), options);
  ASSERT_TRUE(found.has_value()) << found.error().to_string();
  EXPECT_EQ(found->origin, CertificateOrigin::kds);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], CertificateOrigin::thim);
}

TEST(CertificateSource, ChainFromTheNetworkIsNeverItsOwnAnchor) {
  Peers peers;
  auto found = obtain_certificates(platform().report, snp::Product::genoa, snp::TrustStore::amd(), Clock::now(),
                                   peers.options(""));
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().code, Errc::verification_failed);
}

}  // namespace
}  // namespace cvm::client
