// Feeds arbitrary bytes to the TPMS_ATTEST parser and to the two quote file
// readers, whose messages then go through the same parser.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "report/quote.hpp"
#include "report/quote_formats.hpp"

namespace {

void check_attest(cvm::ByteView message, const std::vector<cvm::Bytes>& pcrs) {
  auto attest = cvm::report::parse_attest(message);
  if (attest && attest->quote) {
    (void)cvm::report::verify_pcr_digest(*attest->quote, pcrs);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cvm::ByteView input(data, size);
  check_attest(input, {});
  auto file = cvm::report::parse_az_cvm_vtpm_quote(input);
  if (file) {
    check_attest(file->message, file->pcrs);
  }
  auto json = cvm::report::parse_coco_tpm_quote_json(input);
  if (json) {
    check_attest(json->message, json->pcrs);
  }
  return 0;
}
