// Fuzzes the TPMS_ATTEST parser used on quotes and certifications.
#include <cstddef>
#include <cstdint>

#include "vtpm/pcr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto info = cvm::vtpm::parse_attest(cvm::ByteView(data, size));
  if (info) {
    for (const auto& selection : info->quoted_pcrs) {
      (void)cvm::vtpm::validate_selection(selection);
    }
  }
  return 0;
}
