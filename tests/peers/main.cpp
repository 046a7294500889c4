// cvm-test-peers: the attestation service, IMDS and AMD KDS of an emulated
// Azure confidential VM, on 127.0.0.1, until SIGTERM or SIGINT. It serves the
// chip that `cvm-emulator pki` generated and trusts that chip's ARK.
// scripts/dev-env starts it; docs/dev-env.md describes it.
#include <CLI/CLI.hpp>
#include <json/writer.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <string>

#include "common/bytes.hpp"
#include "snp/tcb.hpp"
#include "tests/peers/evidence_verifiers.hpp"
#include "tests/peers/peer_set.hpp"
#include "tests/support/test_ca.hpp"
#include "tests/tools/emulator_files.hpp"
#include "tests/tools/emulator_pki.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// PEM files and platform.json of the emulated chip are a few kilobytes.
constexpr std::size_t kMaxPkiFileSize = 64 * 1024;

struct Options {
  std::string pki;
  std::string out;
  long token_lifetime_seconds = 8 * 3600;
  std::string region = "eastus2";
};

std::mutex log_mutex;

void log_line(const std::string& text) {
  std::timespec now{};
  std::timespec_get(&now, TIME_UTC);
  std::tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::lock_guard lock(log_mutex);
  std::fprintf(stderr, "%s.%03ldZ cvm-test-peers: %s\n", stamp, now.tv_nsec / 1000000, text.c_str());
  std::fflush(stderr);
}

int report_failure(const cvm::Error& error) {
  log_line("error: " + error.to_string());
  return kExitFailure;
}

cvm::Result<std::string> read_text(const std::string& path) {
  cvm::Bytes data = CVM_TRY(cvm::read_file(path, kMaxPkiFileSize));
  return std::string(cvm::as_text(data));
}

// The chip described by the files `cvm-emulator pki` wrote.
cvm::Result<cvm::peers::PlatformIdentity> load_identity(const std::string& pki, const std::string& region) {
  std::string platform_text = CVM_TRY(read_text(pki + "/platform.json"));
  auto platform = cvm::emulator::parse_platform_json(platform_text);
  if (!platform) {
    return cvm::fail(std::move(platform).error().prefixed(pki + "/platform.json"));
  }
  cvm::peers::PlatformIdentity identity;
  identity.product = platform->product;
  identity.chip_id_hex = cvm::hex_encode(platform->chip_id);
  identity.reported_tcb = platform->tcb;
  identity.vcek_pem = CVM_TRY(read_text(pki + "/vcek.pem"));
  identity.chain_pem = CVM_TRY(read_text(pki + "/cert_chain.pem"));
  identity.region = region;
  return identity;
}

Json::Value endpoint_json(const std::string& url, std::uint16_t port) {
  Json::Value endpoint(Json::objectValue);
  endpoint["url"] = url;
  endpoint["port"] = port;
  return endpoint;
}

std::string state_json(const cvm::peers::PeerSet& peers, const Options& options, const std::string& ca_file) {
  Json::Value state(Json::objectValue);
  state["pid"] = static_cast<Json::Int64>(::getpid());
  state["ca_file"] = ca_file;
  state["attestation"] = endpoint_json(peers.attestation_url(), peers.attestation_port());
  state["imds"] = endpoint_json(peers.imds_url(), peers.imds_port());
  state["kds"] = endpoint_json(peers.kds_url(), peers.kds_port());
  state["token_lifetime_seconds"] = static_cast<Json::Int64>(options.token_lifetime_seconds);
  state["region"] = options.region;
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "  ";
  return Json::writeString(builder, state) + "\n";
}

void log_request(const cvm::peers::Request& request, const cvm::peers::Response& response) {
  log_line(request.method + " " + request.path + " -> " + std::to_string(response.status));
}

int run(const Options& options) {
  // Blocked before any server thread starts, so every thread inherits the
  // mask and the signals wait for sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto identity = load_identity(options.pki, options.region);
  if (!identity) return report_failure(identity.error());
  auto verifiers = cvm::peers::EvidenceVerifiers::from_trust_anchor_files({options.pki + "/ark.pem"});
  if (!verifiers) return report_failure(verifiers.error());
  auto tls = cvm::testing::make_loopback_tls();
  if (!tls) return report_failure(tls.error());

  auto out_directory = cvm::emulator::make_directory(options.out, 0700);
  if (!out_directory) return report_failure(out_directory.error());
  std::string ca_file = options.out + "/ca.pem";
  auto written = cvm::emulator::write_file_atomic(ca_file, cvm::as_bytes(tls->ca_pem));
  if (!written) return report_failure(written.error());

  cvm::peers::PeerSetOptions peer_options{.identity = std::move(*identity),
                                          .tls = std::move(*tls),
                                          .token_lifetime = std::chrono::seconds(options.token_lifetime_seconds),
                                          .on_request = log_request};
  auto peers = cvm::peers::PeerSet::start(std::move(peer_options), *verifiers);
  if (!peers) return report_failure(peers.error());

  std::string state_file = options.out + "/state.json";
  written = cvm::emulator::write_file_atomic(state_file, cvm::as_bytes(state_json(**peers, options, ca_file)));
  if (!written) return report_failure(written.error());
  log_line("started (pid " + std::to_string(::getpid()) + "): attestation service " + (*peers)->attestation_url() +
           ", IMDS " + (*peers)->imds_url() + ", KDS " + (*peers)->kds_url() + ", CA " + ca_file +
           ", token lifetime " + std::to_string(options.token_lifetime_seconds) + " s");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log_line(std::string("received ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + "; stopping");
  std::remove(state_file.c_str());
  peers->reset();
  log_line("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serve the attestation service (HTTPS), IMDS (http) and AMD KDS (HTTPS) of an emulated "
               "Azure confidential VM on 127.0.0.1 until SIGTERM or SIGINT."};
  Options options;
  app.add_option("--pki", options.pki, "directory written by `cvm-emulator pki` (vcek.pem, cert_chain.pem, ark.pem, platform.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", options.out, "directory for ca.pem (the generated TLS CA) and state.json (ports, URLs, pid)")
      ->required();
  app.add_option("--token-lifetime", options.token_lifetime_seconds, "lifetime of issued tokens, in seconds")
      ->check(CLI::Range(1L, 366L * 24 * 3600));
  app.add_option("--region", options.region, "region IMDS reports for the VM");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int status = app.exit(error);
    return status == 0 ? kExitOk : kExitUsage;
  }
  return run(options);
}
