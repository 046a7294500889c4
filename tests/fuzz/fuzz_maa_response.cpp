// Fuzzes the attestation response readers: the {"token": ...} envelope, the
// encrypted AzureGuest token, and the error bodies of failed requests.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <openssl/err.h>

#include "client/maa.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto token = cvm::client::parse_token_response(text)) {
    (void)cvm::client::parse_encrypted_token(*token);
  }
  if (auto encrypted = cvm::client::parse_encrypted_token(text)) {
    // An unwrapper returning a fixed key exercises the AES-GCM path on fuzzed input.
    (void)cvm::client::decrypt_token(*encrypted, [](cvm::ByteView) -> cvm::Result<cvm::Bytes> {
      return cvm::Bytes(32, 0x5a);
    });
  }
  cvm::client::HttpRequest request{.method = "POST", .url = "https://maa.test/attest/AzureGuest"};
  cvm::client::HttpResponse response{.status = 400, .body = std::string(text)};
  (void)cvm::client::service_error(request, response);
  ERR_clear_error();
  return 0;
}
