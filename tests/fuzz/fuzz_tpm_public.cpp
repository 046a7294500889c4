// Fuzzes the TPM2B_PUBLIC parser and its conversion to an OpenSSL key.
#include <cstddef>
#include <cstdint>

#include "vtpm/keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)cvm::vtpm::parse_tpm2b_public(cvm::ByteView(data, size));
  return 0;
}
