// JSON Web Tokens (compact JWS) and JWKS: parsing and RS256 verification.
#pragma once

#include <json/value.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/json.hpp"
#include "common/openssl.hpp"
#include "common/time.hpp"

namespace cvm::client {

struct Jwt {
  std::string compact;        // the token as received
  std::string signing_input;  // "<header>.<payload>" in base64url, as signed
  std::string header_text;    // decoded JSON text
  std::string payload_text;   // decoded JSON text, kept so no claim value is lost
  Json::Value header;
  Json::Value payload;  // integers up to 64 bits stay exact; larger ones become doubles
  Bytes signature;

  [[nodiscard]] std::string algorithm() const;
  [[nodiscard]] std::string key_id() const;
};

// Parses a compact JWS of three base64url parts whose first two are JSON
// objects. Sizes are capped at 256 KiB.
[[nodiscard]] Result<Jwt> parse_jwt(std::string_view compact);

// Keys by `kid`. The key is the public key of `x5c[0]` when present,
// otherwise the RSA key from `n` and `e`.
struct Jwks {
  std::map<std::string, ossl::UniquePkey> keys;
};
[[nodiscard]] Result<Jwks> parse_jwks(std::string_view json);

// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature; other
// algorithms, "none" included, are rejected.
[[nodiscard]] Result<void> verify_signature(const Jwt& token, EVP_PKEY* key);

struct ClaimPolicy {
  std::string issuer;  // compared without trailing slashes; empty skips the check
  std::chrono::seconds clock_skew{60};
  Clock::time_point now = Clock::now();
};

// Checks `iss`, and `exp`, `nbf` and `iat` against `now` with the allowed
// skew. A token without `exp` is rejected.
[[nodiscard]] Result<void> check_claims(const Jwt& token, const ClaimPolicy& policy);

// Reads a numeric-date claim as seconds since the epoch.
[[nodiscard]] std::optional<std::int64_t> numeric_date(const Json::Value& payload, const char* name);

}  // namespace cvm::client
