// The three services an Azure confidential VM talks to, started together on
// 127.0.0.1 for one emulated platform: the attestation service and AMD KDS
// over HTTPS, IMDS over plain http as on Azure.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "tests/peers/attestation_peer.hpp"
#include "tests/peers/evidence_verifiers.hpp"
#include "tests/peers/http_server.hpp"
#include "tests/peers/platform_peers.hpp"
#include "tests/support/test_ca.hpp"

namespace cvm::peers {

struct PeerSetOptions {
  PlatformIdentity identity;
  testing::TlsMaterial tls;  // the server certificate of both HTTPS peers
  std::chrono::seconds token_lifetime{8 * 3600};
  // Called after each request with its method, path and response status; may be empty.
  std::function<void(const Request&, const Response&)> on_request;
};

class PeerSet {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PeerSet>> start(PeerSetOptions options,
                                                              const EvidenceVerifiers& verifiers);
  PeerSet(const PeerSet&) = delete;
  PeerSet& operator=(const PeerSet&) = delete;
  ~PeerSet();

  AttestationPeer& attestation() { return *attestation_; }
  ImdsPeer& imds() { return *imds_; }
  KdsPeer& kds() { return *kds_; }

  // Base URLs without a trailing slash, e.g. https://127.0.0.1:40123.
  [[nodiscard]] std::string attestation_url() const { return attestation_server_->base_url(); }
  [[nodiscard]] std::string imds_url() const { return imds_server_->base_url(); }
  [[nodiscard]] std::string kds_url() const { return kds_server_->base_url(); }
  [[nodiscard]] std::uint16_t attestation_port() const { return attestation_server_->port(); }
  [[nodiscard]] std::uint16_t imds_port() const { return imds_server_->port(); }
  [[nodiscard]] std::uint16_t kds_port() const { return kds_server_->port(); }

 private:
  PeerSet() = default;

  // The servers are declared after the peers so that they stop, and no
  // handler runs any more, before the peers they call are destroyed.
  std::unique_ptr<AttestationPeer> attestation_;
  std::unique_ptr<ImdsPeer> imds_;
  std::unique_ptr<KdsPeer> kds_;
  std::unique_ptr<HttpServer> attestation_server_;
  std::unique_ptr<HttpServer> imds_server_;
  std::unique_ptr<HttpServer> kds_server_;
};

}  // namespace cvm::peers
