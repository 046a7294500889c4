// Test peers for the platform services: IMDS (THIM certificates, managed
// identity, region) and AMD KDS (VCEK and chain), serving one emulated chip.
#pragma once

#include <atomic>
#include <string>

#include "snp/tcb.hpp"
#include "tests/peers/faults.hpp"
#include "tests/peers/http_server.hpp"

namespace cvm::peers {

struct PlatformIdentity {
  snp::Product product = snp::Product::genoa;
  std::string chip_id_hex;   // 128 hex digits
  snp::Tcb reported_tcb;
  std::string vcek_pem;
  std::string chain_pem;     // ASK then ARK
  std::string region = "eastus2";
};

// Serves `/metadata/THIM/amd/certification`, `/metadata/identity/oauth2/token`
// and `/metadata/instance/compute/location`. Every request must carry
// `Metadata: true`, as on Azure, or gets HTTP 400.
class ImdsPeer {
 public:
  explicit ImdsPeer(PlatformIdentity identity) : identity_(std::move(identity)) {}
  [[nodiscard]] Handler handler();
  FaultInjector& faults() { return faults_; }
  [[nodiscard]] int requests(const std::string& path_prefix) const;

 private:
  Response serve(const Request& request);
  PlatformIdentity identity_;
  FaultInjector faults_;
  std::atomic<int> thim_requests_{0};
  std::atomic<int> token_requests_{0};
};

// Serves `/vcek/v1/{product}/{hwid}?blSPL=..` (DER, only for the emulated chip
// and TCB; 404 otherwise) and `/vcek/v1/{product}/cert_chain`.
class KdsPeer {
 public:
  explicit KdsPeer(PlatformIdentity identity) : identity_(std::move(identity)) {}
  [[nodiscard]] Handler handler();
  FaultInjector& faults() { return faults_; }
  [[nodiscard]] int vcek_requests() const { return vcek_requests_.load(); }

 private:
  Response serve(const Request& request);
  PlatformIdentity identity_;
  FaultInjector faults_;
  std::atomic<int> vcek_requests_{0};
};

}  // namespace cvm::peers
