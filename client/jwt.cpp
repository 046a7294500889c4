#include "client/jwt.hpp"

#include "common/rsa.hpp"

#include <json/reader.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <memory>

namespace cvm::client {
namespace {

constexpr std::size_t kMaxTokenSize = 256 * 1024;

Error token_error(std::string message) {
  return Error{.code = Errc::invalid_data, .message = "invalid token: " + std::move(message)};
}

std::string normalized_issuer(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') {
    issuer.remove_suffix(1);
  }
  return std::string(issuer);
}

Result<ossl::UniquePkey> rsa_key_from_jwk(const Json::Value& jwk) {
  if (!jwk["n"].isString() || !jwk["e"].isString()) {
    return fail(Errc::invalid_data, "JWK has neither x5c nor RSA n and e");
  }
  Bytes modulus = CVM_TRY(base64_decode(jwk["n"].asString()));
  Bytes exponent = CVM_TRY(base64_decode(jwk["e"].asString()));
  return ossl::rsa_public_key(modulus, exponent);
}

}  // namespace

std::string Jwt::algorithm() const { return header["alg"].isString() ? header["alg"].asString() : ""; }
std::string Jwt::key_id() const { return header["kid"].isString() ? header["kid"].asString() : ""; }

Result<Jwt> parse_jwt(std::string_view compact) {
  if (compact.size() > kMaxTokenSize) {
    return fail(token_error("longer than " + std::to_string(kMaxTokenSize) + " bytes"));
  }
  std::size_t first = compact.find('.');
  std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return fail(token_error("a compact JWS has exactly three dot-separated parts"));
  }
  Jwt token;
  token.compact = std::string(compact);
  token.signing_input = std::string(compact.substr(0, second));
  auto header = base64_decode(compact.substr(0, first));
  auto payload = base64_decode(compact.substr(first + 1, second - first - 1));
  auto signature = base64_decode(compact.substr(second + 1));
  if (!header || !payload || !signature) {
    return fail(token_error("a part is not base64url"));
  }
  token.header_text = std::string(as_text(*header));
  token.payload_text = std::string(as_text(*payload));
  token.signature = std::move(*signature);
  token.header = CVM_TRY(parse_json(token.header_text, "the token header"));
  token.payload = CVM_TRY(parse_json(token.payload_text, "the token payload"));
  if (!token.header.isObject() || !token.payload.isObject()) {
    return fail(token_error("header and payload must be JSON objects"));
  }
  return token;
}

Result<Jwks> parse_jwks(std::string_view json) {
  Json::Value root = CVM_TRY(parse_json(json, "the JWKS"));
  if (!root.isObject() || !root["keys"].isArray()) {
    return fail(Errc::invalid_data, "invalid JWKS: no \"keys\" array");
  }
  Jwks out;
  for (const Json::Value& jwk : root["keys"]) {
    if (!jwk.isObject() || !jwk["kid"].isString()) {
      continue;  // keys without an id cannot be selected
    }
    std::string kid = jwk["kid"].asString();
    ossl::UniquePkey key;
    if (jwk["x5c"].isArray() && !jwk["x5c"].empty() && jwk["x5c"][0].isString()) {
      Bytes der = CVM_TRY(base64_decode(jwk["x5c"][0].asString()));
      auto certificate = CVM_TRY(ossl::parse_der_certificate(der));
      key.reset(X509_get_pubkey(certificate.get()));
      if (!key) {
        return fail(ossl::openssl_error(Errc::invalid_data, "JWKS key '" + kid + "' has an unusable certificate"));
      }
    } else {
      key = CVM_TRY(rsa_key_from_jwk(jwk));
    }
    out.keys[kid] = std::move(key);
  }
  return out;
}

Result<void> verify_signature(const Jwt& token, EVP_PKEY* key) {
  if (token.algorithm() != "RS256") {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token algorithm '" + token.algorithm() + "' is not accepted (only RS256)"});
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return fail(Errc::verification_failed, "the key for an RS256 token is not an RSA key");
  }
  ossl::UniqueMdCtx context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot set up RS256 verification"));
  }
  int verdict = EVP_DigestVerify(context.get(), token.signature.data(), token.signature.size(),
                                 reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                                 token.signing_input.size());
  if (verdict != 1) {
    ERR_clear_error();
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token signature does not verify with key '" + token.key_id() + "'"});
  }
  return {};
}

std::optional<std::int64_t> numeric_date(const Json::Value& payload, const char* name) {
  const Json::Value& value = payload[name];
  if (value.isInt64()) {
    return value.asInt64();
  }
  if (value.isDouble() && value.asDouble() > -9e18 && value.asDouble() < 9e18) {
    return static_cast<std::int64_t>(value.asDouble());
  }
  return std::nullopt;
}

Result<void> check_claims(const Jwt& token, const ClaimPolicy& policy) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(policy.now.time_since_epoch()).count();
  std::int64_t skew = policy.clock_skew.count();
  if (!policy.issuer.empty()) {
    std::string issuer = token.payload["iss"].isString() ? token.payload["iss"].asString() : "";
    if (normalized_issuer(issuer) != normalized_issuer(policy.issuer)) {
      return fail(Error{.code = Errc::verification_failed,
                        .message = "token issuer '" + issuer + "' is not the configured endpoint '" +
                                   policy.issuer + "'"});
    }
  }
  auto expiry = numeric_date(token.payload, "exp");
  if (!expiry) {
    return fail(Errc::verification_failed, "token has no numeric exp claim");
  }
  if (now > *expiry + skew) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token expired at " + format_rfc3339(Clock::from_time_t(*expiry)),
                      .hint = "check the clock, or request a new token"});
  }
  if (auto not_before = numeric_date(token.payload, "nbf"); not_before && now + skew < *not_before) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token is not valid before " + format_rfc3339(Clock::from_time_t(*not_before)),
                      .hint = "check this machine's clock against the service's"});
  }
  if (auto issued = numeric_date(token.payload, "iat"); issued && now + skew < *issued) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token was issued in the future (" +
                                 format_rfc3339(Clock::from_time_t(*issued)) + ")",
                      .hint = "check this machine's clock against the service's"});
  }
  return {};
}

}  // namespace cvm::client
