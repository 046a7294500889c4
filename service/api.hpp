// The local HTTP API over the agent's Unix socket, on libmicrohttpd.
#pragma once

#include <json/value.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "service/access.hpp"
#include "service/metrics.hpp"
#include "service/token_cache.hpp"

namespace cvm::service {

// Builds evidence JSON bound to a nonce, for callers with their own verifier.
using EvidenceProvider = std::function<Result<std::string>(const Bytes& nonce)>;
// Releases a configured key by name and returns the response JSON.
using KeyReleaser = std::function<Result<std::string>(const std::string& key_name)>;
// Extra fields for /v1/status (platform, endpoint, configuration).
using StatusProvider = std::function<Json::Value()>;

struct ApiCallbacks {
  EvidenceProvider evidence;  // empty: 404
  KeyReleaser release_key;    // empty: 404
  StatusProvider status;
  // Called once per refused request; the agent logs the caller's uid and pid.
  std::function<void(const Caller& caller, const std::string& path)> on_refused;
  // Called for every request that ended in an error status.
  std::function<void(const std::string& path, int status, const Error& error)> on_error;
};

struct ApiOptions {
  std::size_t max_body = 64 * 1024;
  unsigned connection_timeout_seconds = 10;
  unsigned connection_limit = 128;
  std::size_t thread_stack_size = 256 * 1024;
  // Bytes of libmicrohttpd's per-connection pool, which contains the request
  // line and headers and the response headers; larger request headers get
  // HTTP 431. Bodies need not fit because they arrive in chunks. With
  // libmicrohttpd 0.9.75 (Debian 12) each keep-alive connection kept about its
  // whole pool resident: 64 connections with the default 32 KiB pools added
  // 2 MiB of RSS in scripts/bench.
  std::size_t connection_memory_limit = 8 * 1024;
};

class ApiServer {
 public:
  ApiServer(TokenCache& cache, Metrics& metrics, ApiOptions options, ApiCallbacks callbacks, AccessPolicy policy);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Serves on an already listening socket; the server takes ownership of the fd.
  [[nodiscard]] Result<void> start(int listen_fd);
  void stop();

  // Replaces the access rules (on reload); requests in progress keep the old ones.
  void set_policy(AccessPolicy policy);

  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
  };
  // Routes one request; public so tests can exercise routing without a socket.
  [[nodiscard]] Reply handle(const std::string& method, const std::string& path, const std::string& body,
                             const Caller& caller);
  [[nodiscard]] std::size_t max_body() const { return options_.max_body; }

 private:
  Reply token(const Caller& caller);
  Reply token_with_nonce(const std::string& body);
  Reply evidence(const std::string& body);
  Reply release_key(const std::string& body);
  Reply status();
  Reply metrics_text();
  Reply error_reply(const std::string& path, int status, const Error& error);

  TokenCache& cache_;
  Metrics& metrics_;
  ApiOptions options_;
  ApiCallbacks callbacks_;
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const AccessPolicy> policy_;
  struct Daemon;
  std::unique_ptr<Daemon> daemon_;
};

// Parses `{"nonce": "<base64>"}`, rejecting unknown fields and nonces that
// are not 1 to 50 bytes.
[[nodiscard]] Result<Bytes> parse_nonce_request(std::string_view body);

}  // namespace cvm::service
