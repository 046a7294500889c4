#include "client/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>

namespace cvm::client {
namespace {

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using UniqueCurl = std::unique_ptr<CURL, CurlDeleter>;
using UniqueSlist = std::unique_ptr<curl_slist, SlistDeleter>;

void global_init_once() {
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  std::size_t limit;
  bool overflowed = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  std::size_t length = size * count;
  if (length > sink->limit - sink->body->size()) {
    sink->overflowed = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, length);
  return length;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

std::size_t write_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * count);
  std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    headers->emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  } else if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after a 100 Continue or a redirect) starts
  }
  return size * count;
}

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) {
      return std::chrono::seconds(999999999);
    }
    return std::chrono::seconds(std::stol(value));
  }
  std::time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) {
    return std::nullopt;
  }
  std::time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

Error curl_error(const HttpRequest& request, CURLcode code, const char* detail, bool overflowed,
                 std::size_t limit) {
  Errc errc = Errc::unavailable;
  std::string message = request.method + " " + request.url + " failed";
  std::string hint;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      errc = Errc::timed_out;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      errc = Errc::permission_denied;
      hint = "check the service's TLS certificate and the configured CA file";
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      errc = Errc::invalid_argument;
      break;
    case CURLE_WRITE_ERROR:
      if (overflowed) {
        errc = Errc::invalid_data;
        message = request.method + " " + request.url + ": response body exceeds the limit of " +
                  std::to_string(limit) + " bytes";
      }
      break;
    default:
      break;
  }
  Error error{.code = errc, .message = std::move(message), .hint = std::move(hint)};
  error.cause.source = Cause::Source::curl;
  error.cause.code = code;
  error.cause.text = curl_easy_strerror(code);
  if (detail != nullptr && *detail != '\0') {
    error.cause.text += std::string(" (") + detail + ")";
  }
  return error;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) {
      return value;
    }
  }
  return std::nullopt;
}

bool is_loopback_url(std::string_view url) {
  std::string text = lower(url);
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    return false;
  }
  std::string_view rest = std::string_view(text).substr(scheme_end + 3);
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return false;  // userinfo could disguise the host
  }
  std::string_view host;
  if (authority.starts_with("[")) {
    host = authority.substr(0, authority.find(']') + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host == "localhost" || host == "[::1]") {
    return true;
  }
  if (!host.starts_with("127.")) {
    return false;
  }
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

Result<HttpResponse> perform(const HttpRequest& request, const HttpOptions& options) {
  std::string scheme = lower(request.url.substr(0, request.url.find("://")));
  if (scheme != "https" && scheme != "http") {
    return fail(Errc::invalid_argument, "URL '" + request.url + "' is not http(s)");
  }
  if (scheme == "http" && !options.metadata_service && !is_loopback_url(request.url)) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "plain http is not allowed for " + request.url,
                      .hint = "use https; plain http is accepted only for IMDS and loopback addresses"});
  }

  global_init_once();
  UniqueCurl curl(curl_easy_init());
  if (!curl) {
    return fail(Errc::internal, "curl_easy_init failed");
  }
  CURL* handle = curl.get();
  HttpResponse response;
  BodySink sink{.body = &response.body, .limit = options.max_response_size};
  char error_buffer[CURL_ERROR_SIZE] = {};

  UniqueSlist header_list;
  for (const auto& [name, value] : request.headers) {
    std::string line = name + ": " + value;
    curl_slist* appended = curl_slist_append(header_list.get(), line.c_str());
    if (appended == nullptr) {
      return fail(Errc::internal, "curl_slist_append failed");
    }
    (void)header_list.release();
    header_list.reset(appended);
  }

  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  if (options.metadata_service || !options.unix_socket.empty()) {
    curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");
  }
  if (!options.unix_socket.empty()) {
    curl_easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, options.unix_socket.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "POST" || request.method == "PUT" || !request.body.empty()) {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  if (header_list) {
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list.get());
  }
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response.headers);

  CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    return fail(curl_error(request, code, error_buffer, sink.overflowed, options.max_response_size));
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  if (auto value = response.header("retry-after")) {
    response.retry_after = parse_retry_after(*value);
  }
  return response;
}

Error http_status_error(const HttpRequest& request, const HttpResponse& response) {
  Errc code = Errc::unavailable;
  if (response.status == 401 || response.status == 403) {
    code = Errc::permission_denied;
  } else if (response.status == 404) {
    code = Errc::not_found;
  } else if (response.status >= 400 && response.status < 500 && response.status != 408 &&
             response.status != 429) {
    code = Errc::invalid_argument;
  }
  Error error{.code = code,
              .message = request.method + " " + request.url + " returned HTTP " + std::to_string(response.status)};
  error.cause.source = Cause::Source::http;
  error.cause.code = response.status;
  std::string excerpt = response.body.substr(0, 300);
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  error.cause.text = excerpt;
  return error;
}

}  // namespace cvm::client
