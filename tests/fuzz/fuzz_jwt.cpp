// Fuzzes JWT and JWKS parsing, and the claim checks on whatever parses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <openssl/err.h>

#include "client/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto token = cvm::client::parse_jwt(text)) {
    (void)cvm::client::check_claims(*token, cvm::client::ClaimPolicy{.issuer = "https://maa.test"});
    (void)token->key_id();
  }
  if (auto jwks = cvm::client::parse_jwks(text)) {
    for (const auto& [kid, key] : jwks->keys) {
      (void)kid;
      (void)key;
    }
  }
  ERR_clear_error();
  return 0;
}
