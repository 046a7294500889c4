#include "client/token_verifier.hpp"

namespace cvm::client {

Result<void> TokenVerifier::refresh_keys() {
  std::string base = options_.issuer;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  HttpRequest request{.method = "GET", .url = base + "/certs", .headers = {{"Accept", "application/json"}}};
  ++fetches_;
  HttpResponse response = CVM_TRY(perform_with_retry(request, options_.http, options_.retry, options_.retry_context));
  if (response.status != 200) {
    return fail(http_status_error(request, response));
  }
  keys_ = CVM_TRY(parse_jwks(response.body));
  return {};
}

Result<Jwt> TokenVerifier::verify(std::string_view token, Clock::time_point now) {
  Jwt parsed = CVM_TRY(parse_jwt(token));
  std::string kid = parsed.key_id();
  std::lock_guard lock(mutex_);
  bool refreshed = false;
  if (!keys_) {
    CVM_TRY(refresh_keys());
    refreshed = true;
  }
  auto found = keys_->keys.find(kid);
  if (found == keys_->keys.end() && !refreshed) {
    CVM_TRY(refresh_keys());
    found = keys_->keys.find(kid);
  }
  if (found == keys_->keys.end()) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "token signing key '" + kid + "' is not in the JWKS of " + options_.issuer,
                      .hint = "the token was not issued by the configured attestation service"});
  }
  CVM_TRY(verify_signature(parsed, found->second.get()));
  CVM_TRY(check_claims(parsed, ClaimPolicy{.issuer = options_.issuer, .clock_skew = options_.clock_skew, .now = now}));
  return parsed;
}

int TokenVerifier::jwks_fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

}  // namespace cvm::client
