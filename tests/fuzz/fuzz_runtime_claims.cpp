// Feeds arbitrary bytes to the runtime claims parser and the JWK key import.
#include <cstddef>
#include <cstdint>

#include "report/claims.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto claims = cvm::report::parse_runtime_claims(cvm::ByteView(data, size));
  if (!claims) {
    return 0;
  }
  for (const cvm::report::Jwk& key : claims->keys) {
    (void)cvm::report::jwk_public_key(key);
  }
  const std::uint8_t nonce[] = {'n', 'o', 'n', 'c', 'e'};
  (void)cvm::report::user_data_matches(*claims, nonce);
  return 0;
}
