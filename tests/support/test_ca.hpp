// A throwaway certificate authority for loopback TLS in tests and the dev environment.
#pragma once

#include <string>

#include "common/openssl.hpp"

namespace cvm::testing {

struct TlsMaterial {
  std::string ca_pem;           // trust this (CURLOPT_CAINFO)
  std::string server_cert_pem;  // for 127.0.0.1 and localhost
  std::string server_key_pem;
};

// EC P-256 CA and server certificate valid for a year, with subjectAltName
// IP:127.0.0.1, IP:::1 and DNS:localhost.
[[nodiscard]] Result<TlsMaterial> make_loopback_tls();

[[nodiscard]] std::string private_key_pem(EVP_PKEY* key);

}  // namespace cvm::testing
