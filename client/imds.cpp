#include "client/imds.hpp"

#include <cctype>
#include <cstdio>

#include "client/jwt.hpp"

namespace cvm::client {
namespace {

std::string trimmed(std::string_view base) {
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  return std::string(base);
}

Result<HttpResponse> imds_get(const ImdsOptions& options, const std::string& path_and_query) {
  HttpRequest request;
  request.url = trimmed(options.base_url) + path_and_query;
  request.headers = {{"Metadata", "true"}};
  HttpOptions http = options.http;
  http.metadata_service = true;
  HttpResponse response = CVM_TRY(perform_with_retry(request, http, options.retry, options.retry_context));
  if (response.status != 200) {
    Error error = http_status_error(request, response);
    if (response.status == 404) {
      error.hint = "IMDS does not serve this path; is this an Azure VM?";
    }
    return fail(std::move(error));
  }
  return response;
}

std::string string_field(const Json::Value& object, const char* name) {
  return object[name].isString() ? object[name].asString() : std::string();
}

}  // namespace

std::string url_encode(std::string_view text) {
  std::string out;
  for (char character : text) {
    auto c = static_cast<unsigned char>(character);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

Result<ThimCertificates> fetch_thim_certificates(const ImdsOptions& options) {
  HttpResponse response = CVM_TRY(imds_get(options, "/metadata/THIM/amd/certification"));
  Json::Value root = CVM_TRY(parse_json(response.body, "the THIM response"));
  ThimCertificates out{.vcek_pem = string_field(root, "vcekCert"),
                       .chain_pem = string_field(root, "certificateChain"),
                       .tcbm = string_field(root, "tcbm")};
  if (out.vcek_pem.empty()) {
    return fail(Errc::invalid_data, "THIM response has no vcekCert");
  }
  return out;
}

Result<std::string> fetch_managed_identity_token(const ImdsOptions& options, const std::string& resource,
                                                 const std::string& client_id) {
  std::string query = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + url_encode(resource);
  if (!client_id.empty()) {
    query += "&client_id=" + url_encode(client_id);
  }
  HttpResponse response = CVM_TRY(imds_get(options, query));
  Json::Value root = CVM_TRY(parse_json(response.body, "the managed-identity response"));
  std::string token = string_field(root, "access_token");
  if (token.empty()) {
    return fail(Errc::invalid_data, "managed-identity response has no access_token");
  }
  return token;
}

Result<std::string> fetch_region(const ImdsOptions& options) {
  HttpResponse response =
      CVM_TRY(imds_get(options, "/metadata/instance/compute/location?api-version=2021-01-01&format=text"));
  std::string region = response.body;
  while (!region.empty() && std::isspace(static_cast<unsigned char>(region.back()))) {
    region.pop_back();
  }
  if (region.empty() || region.size() > 64) {
    return fail(Errc::invalid_data, "IMDS returned an empty or implausible region");
  }
  return region;
}

}  // namespace cvm::client
