// Feeds arbitrary bytes to the TPM2B_PUBLIC parser and computes the Name of
// a key that parses.
#include <cstddef>
#include <cstdint>

#include "report/tpm_public.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto key = cvm::report::parse_tpm2b_public(cvm::ByteView(data, size));
  if (key) {
    (void)key->name();
    (void)cvm::report::object_attribute_names(key->object_attributes);
  }
  return 0;
}
