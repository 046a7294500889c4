// Fuzzes DER certificate parsing and the AMD VCEK extension parser.
#include <cstddef>
#include <cstdint>

#include <openssl/err.h>

#include "snp/certs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto extensions = cvm::snp::parse_vcek_extensions(cvm::ByteView(data, size));
  if (extensions && extensions->product_name) {
    (void)cvm::snp::parse_product_name(*extensions->product_name);
  }
  ERR_clear_error();
  return 0;
}
