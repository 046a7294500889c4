// Feeds arbitrary bytes to the HCL report parser as an NV dump would come.
#include <cstddef>
#include <cstdint>

#include "report/claims.hpp"
#include "report/hcl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cvm::ByteView input(data, size);
  auto report = cvm::report::parse_hcl_report(input);
  if (report) {
    (void)cvm::report::verify_claims_binding(*report);
  }
  auto envelope = cvm::report::parse_hcl_envelope(input);
  if (envelope) {
    (void)cvm::report::parse_runtime_claims(envelope->claims);
  }
  return 0;
}
