#include "tests/peers/peer_set.hpp"

namespace cvm::peers {
namespace {

Handler observed(Handler inner, const std::function<void(const Request&, const Response&)>& observer) {
  if (!observer) {
    return inner;
  }
  return [inner = std::move(inner), observer](const Request& request) {
    Response response = inner(request);
    observer(request, response);
    return response;
  };
}

}  // namespace

PeerSet::~PeerSet() {
  kds_server_.reset();
  imds_server_.reset();
  attestation_server_.reset();
}

Result<std::unique_ptr<PeerSet>> PeerSet::start(PeerSetOptions options, const EvidenceVerifiers& verifiers) {
  std::unique_ptr<PeerSet> set(new PeerSet());
  set->attestation_ = std::make_unique<AttestationPeer>(verifiers.azure_guest(), verifiers.sev_snp_vm());
  set->attestation_->set_lifetime(options.token_lifetime);
  set->imds_ = std::make_unique<ImdsPeer>(options.identity);
  set->kds_ = std::make_unique<KdsPeer>(std::move(options.identity));

  ServerOptions https{.certificate_pem = options.tls.server_cert_pem, .key_pem = options.tls.server_key_pem};
  set->attestation_server_ =
      CVM_TRY(HttpServer::start(https, observed(set->attestation_->handler(), options.on_request)));
  set->attestation_->set_issuer(set->attestation_server_->base_url());
  set->imds_server_ = CVM_TRY(HttpServer::start(ServerOptions{}, observed(set->imds_->handler(), options.on_request)));
  set->kds_server_ = CVM_TRY(HttpServer::start(https, observed(set->kds_->handler(), options.on_request)));
  return set;
}

}  // namespace cvm::peers
