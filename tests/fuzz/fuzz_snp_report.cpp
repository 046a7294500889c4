// Fuzzes the SEV-SNP report parser and, for parsed reports, the signature
// check against a fixed key, which must never crash.
#include <cstddef>
#include <cstdint>

#include "snp/report.hpp"
#include "snp/tcb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto report = cvm::snp::parse_report(cvm::ByteView(data, size));
  if (!report) {
    return 0;
  }
  for (auto product : {cvm::snp::Product::milan, cvm::snp::Product::turin}) {
    (void)cvm::snp::decode_tcb(report->reported_tcb, product);
  }
  (void)report->signing_key();
  (void)cvm::snp::policy_flags(report->policy);
  return 0;
}
