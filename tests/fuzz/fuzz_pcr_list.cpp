// Fuzzes the PCR list and hash algorithm parsers that take command-line text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vtpm/pcr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto indices = cvm::vtpm::parse_pcr_indices(text);
  if (indices) {
    (void)cvm::vtpm::validate_selection(cvm::vtpm::PcrSelection{.bank = TPM2_ALG_SHA256, .indices = *indices});
  }
  (void)cvm::vtpm::parse_hash_algorithm(text);
  return 0;
}
