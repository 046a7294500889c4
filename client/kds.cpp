#include "client/kds.hpp"

namespace cvm::client {
namespace {

Result<HttpResponse> kds_get(const KdsOptions& options, const std::string& url) {
  HttpRequest request;
  request.url = url;
  HttpResponse response = CVM_TRY(perform_with_retry(request, options.http, options.retry, options.retry_context));
  if (response.status == 200) {
    return response;
  }
  Error error = http_status_error(request, response);
  if (response.status == 404) {
    error.code = Errc::not_found;
    error.hint = "AMD KDS has no certificate for this chip and TCB; check the product and the reported TCB";
  } else if (response.status == 429) {
    error.code = Errc::unavailable;
    error.hint = "AMD KDS rate-limits requests; use the THIM or on-disk certificate cache, or retry later";
  }
  return fail(std::move(error));
}

}  // namespace

Result<Bytes> fetch_vcek(const KdsOptions& options, snp::Product product, ByteView chip_id,
                         const snp::Tcb& reported_tcb) {
  HttpResponse response = CVM_TRY(kds_get(options, snp::kds_vcek_url(options.base_url, product, chip_id, reported_tcb)));
  return Bytes(response.body.begin(), response.body.end());
}

Result<std::string> fetch_cert_chain(const KdsOptions& options, snp::Product product, snp::EndorsementKey key) {
  HttpResponse response = CVM_TRY(kds_get(options, snp::kds_cert_chain_url(options.base_url, product, key)));
  return response.body;
}

}  // namespace cvm::client
