// The Azure Instance Metadata Service (IMDS) as seen from inside the VM.
#pragma once

#include <string>

#include "client/http.hpp"
#include "client/retry.hpp"

namespace cvm::client {

inline constexpr std::string_view kDefaultImdsUrl = "http://169.254.169.254";

struct ImdsOptions {
  std::string base_url{kDefaultImdsUrl};
  HttpOptions http;  // metadata_service is forced on: no proxy, plain http allowed
  RetryPolicy retry;
  RetryContext retry_context;
};

// The VCEK and its chain from THIM (`/metadata/THIM/amd/certification`).
struct ThimCertificates {
  std::string vcek_pem;
  std::string chain_pem;  // ASK then ARK
  std::string tcbm;       // the TCB THIM issued the VCEK for, as hex
};

[[nodiscard]] Result<ThimCertificates> fetch_thim_certificates(const ImdsOptions& options);
// A managed-identity access token for `resource` (for example https://vault.azure.net).
[[nodiscard]] Result<std::string> fetch_managed_identity_token(const ImdsOptions& options,
                                                               const std::string& resource,
                                                               const std::string& client_id = {});
// The VM's region, e.g. "eastus2".
[[nodiscard]] Result<std::string> fetch_region(const ImdsOptions& options);

// Percent-encodes everything but unreserved characters (RFC 3986).
[[nodiscard]] std::string url_encode(std::string_view text);

}  // namespace cvm::client
