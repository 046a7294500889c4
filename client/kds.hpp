// Fetching VCEKs and chains from AMD's Key Distribution Service.
#pragma once

#include <string>

#include "client/http.hpp"
#include "client/retry.hpp"
#include "snp/kds.hpp"
#include "snp/tcb.hpp"

namespace cvm::client {

struct KdsOptions {
  std::string base_url{snp::kDefaultKdsBaseUrl};
  HttpOptions http;
  RetryPolicy retry;
  RetryContext retry_context;
};

// The VCEK (DER) for a chip and reported TCB. HTTP 404 becomes
// Errc::not_found (no certificate for that chip and TCB) and 429
// Errc::unavailable (rate limited), each with its own hint.
[[nodiscard]] Result<Bytes> fetch_vcek(const KdsOptions& options, snp::Product product, ByteView chip_id,
                                       const snp::Tcb& reported_tcb);
// The PEM chain: ASK (or ASVK) then ARK.
[[nodiscard]] Result<std::string> fetch_cert_chain(const KdsOptions& options, snp::Product product,
                                                   snp::EndorsementKey key);

}  // namespace cvm::client
