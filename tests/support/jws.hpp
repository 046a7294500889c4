// Signing RS256 tokens and building JWKS documents, for test services.
#pragma once

#include <json/value.h>

#include <string>

#include "common/openssl.hpp"

namespace cvm::testing {

// Compact JWS with header {"alg":"RS256","typ":"JWT","kid":kid[,"jku":jku]}.
[[nodiscard]] Result<std::string> sign_rs256(const Json::Value& payload, EVP_PKEY* key, const std::string& kid,
                                             const std::string& jku = {});

// A self-signed certificate for `key`, used as x5c[0] of a JWKS entry.
[[nodiscard]] Result<ossl::UniqueX509> self_signed_certificate(EVP_PKEY* key, const std::string& common_name);

// One JWKS entry with kid, kty, use and x5c (the certificate in standard base64).
[[nodiscard]] Json::Value jwks_entry(const std::string& kid, X509* certificate);

[[nodiscard]] std::string compact_json(const Json::Value& value);

// {"kty":"RSA","n":...,"e":...} with unpadded base64url values.
[[nodiscard]] Json::Value rsa_jwk(EVP_PKEY* key);

}  // namespace cvm::testing
