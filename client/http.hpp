// HTTP(S) requests through libcurl, with the limits a production agent needs.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cvm::client {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  Headers headers;  // names in lower case
  // Parsed from a Retry-After header given in seconds or as an HTTP date.
  std::optional<std::chrono::seconds> retry_after;

  [[nodiscard]] std::optional<std::string> header(std::string_view lower_case_name) const;
};

struct HttpOptions {
  // CA bundle for private endpoints; empty means the system's default bundle.
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};
  // Bodies above this size are cut off while reading and reported as an error.
  std::size_t max_response_size = 1 << 20;
  // IMDS is reached directly, never through a proxy, and over plain http.
  bool metadata_service = false;
  // Connects to this Unix socket instead of the URL's host (the agent's local API).
  std::string unix_socket;
};

// True for http:// URLs whose host is 127.0.0.0/8, ::1 or localhost.
[[nodiscard]] bool is_loopback_url(std::string_view url);

// Performs one request. TLS peer and host verification are always on. Plain
// http:// is accepted only for the metadata service and loopback hosts. The
// proxy comes from the environment (libcurl's http_proxy/https_proxy/no_proxy)
// except for the metadata service. Any HTTP status is a successful result;
// transport failures are errors with the CURLcode as cause.
[[nodiscard]] Result<HttpResponse> perform(const HttpRequest& request, const HttpOptions& options);

// Builds the error for a response whose status the caller did not expect. The
// status becomes the cause, and the start of the body its text.
[[nodiscard]] Error http_status_error(const HttpRequest& request, const HttpResponse& response);

}  // namespace cvm::client
