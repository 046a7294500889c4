// Verifies attestation tokens against the issuing service's JWKS.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "client/http.hpp"
#include "client/jwt.hpp"
#include "client/retry.hpp"

namespace cvm::client {

struct TokenVerifierOptions {
  std::string issuer;  // the configured attestation endpoint
  std::chrono::seconds clock_skew{60};
  HttpOptions http;
  RetryPolicy retry;
  RetryContext retry_context;
};

// Fetches `{issuer}/certs` on first use and again, once per token, when a
// token names a `kid` the cached set lacks (the service rotated its keys).
// Safe to use from several threads.
class TokenVerifier {
 public:
  explicit TokenVerifier(TokenVerifierOptions options) : options_(std::move(options)) {}

  // Parses the token, checks its RS256 signature and its iss/exp/nbf/iat claims.
  [[nodiscard]] Result<Jwt> verify(std::string_view token, Clock::time_point now = Clock::now());

  [[nodiscard]] int jwks_fetches() const;

 private:
  [[nodiscard]] Result<void> refresh_keys();

  TokenVerifierOptions options_;
  mutable std::mutex mutex_;
  std::optional<Jwks> keys_;
  int fetches_ = 0;
};

}  // namespace cvm::client
