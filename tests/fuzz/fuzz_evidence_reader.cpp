// Feeds arbitrary bytes to the evidence reader, then verifies whatever it
// accepts against an empty trust store: neither may crash, and evidence
// that chains to no root must never pass.
//
// The inner layers of AzureGuest and SevSnpVm bodies are base64-encoded
// JSON, which random mutation rarely produces, so an input starting with
// 0x01 or 0x02 has its remaining bytes wrapped as AttestationInfo or as a
// SevSnpVm report. Other inputs are read as they are.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "report/evidence.hpp"
#include "report/verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cvm::ByteView input(data, size);
  std::string text;
  if (size > 0 && data[0] == 0x01) {
    text = "{\"AttestationInfo\": \"" + cvm::base64url_encode(input.subspan(1)) + "\"}";
  } else if (size > 0 && data[0] == 0x02) {
    text = "{\"report\": \"" + cvm::base64url_encode(input.subspan(1)) +
           "\", \"runtimeData\": {\"data\": \"e30\", \"dataType\": \"JSON\"}}";
  } else {
    text.assign(cvm::as_text(input));
  }
  auto evidence = cvm::report::read_evidence(text);
  if (!evidence) {
    return 0;
  }
  cvm::snp::TrustStore empty;
  empty.set_include_amd(false);
  cvm::report::EvidenceVerifyOptions options;
  options.expected_nonce = cvm::Bytes{0x01, 0x02};
  // The chain offered a second time exercises the duplicate filter.
  options.extra_certificates.emplace_back(evidence->vcek_chain_pem.begin(), evidence->vcek_chain_pem.end());
  auto verification = cvm::report::verify_evidence(*evidence, empty, options);
  if (verification.passed()) {
    std::abort();
  }
  (void)cvm::report::encode_azure_guest(*evidence);
  (void)cvm::report::encode_sev_snp_vm(*evidence);
  return 0;
}
