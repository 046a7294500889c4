// Fuzzes the two inputs cvm-emulator parses: the AK public key file (PEM or
// marshalled TPM2B_PUBLIC) and platform.json.
#include <cstddef>
#include <cstdint>

#include "tests/tools/emulator_hcl.hpp"
#include "tests/tools/emulator_pki.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cvm::ByteView input(data, size);
  (void)cvm::emulator::parse_ak_public(input);
  (void)cvm::emulator::parse_platform_json(cvm::as_text(input));
  return 0;
}
