// Test-only forgery of AMD-like certificate chains and signed SEV-SNP reports,
// for cases no real fixture covers and for the emulated confidential VM.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "snp/tcb.hpp"

namespace cvm::testing {

struct ChainOptions {
  snp::Product product = snp::Product::milan;
  bool vlek = false;               // issue an ASVK and a VLEK instead of ASK and VCEK
  int rsa_bits = 2048;             // the real ARK and ASK are RSA-4096
  std::string product_name;        // VCEK product-name extension; empty means "<Product>-B0"/"Turin"
  std::array<std::uint8_t, 64> chip_id{};  // hwID; Turin uses the first 8 bytes
  snp::Tcb tcb{};                  // SPL extensions
  long not_before_offset_seconds = -3600;
  long lifetime_seconds = 7L * 365 * 24 * 3600;
  bool omit_product_name = false;
};

struct Chain {
  ossl::UniquePkey ark_key;
  ossl::UniquePkey ask_key;
  ossl::UniquePkey leaf_key;  // EC P-384
  ossl::UniqueX509 ark;
  ossl::UniqueX509 ask;       // ASK or ASVK
  ossl::UniqueX509 leaf;      // VCEK or VLEK
};

[[nodiscard]] Result<Chain> make_chain(const ChainOptions& options);
// Issues a new leaf for an existing ARK/ASK (for example another TCB or chip).
[[nodiscard]] Result<ossl::UniqueX509> issue_leaf(const Chain& chain, const ChainOptions& options);
[[nodiscard]] Result<ossl::UniquePkey> generate_rsa_key(int bits);
[[nodiscard]] Result<ossl::UniquePkey> generate_p384_key();

// Fields a forged report sets; everything else stays zero.
struct ReportFields {
  std::uint32_t version = 3;
  std::uint64_t policy = 0x3001f;
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 1;
  std::uint64_t current_tcb = 0;
  std::uint64_t reported_tcb = 0;
  std::uint64_t committed_tcb = 0;
  std::uint64_t launch_tcb = 0;
  std::uint32_t key_info = 0;  // bits 4:2 = 1 for VLEK
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 64> chip_id{};
  std::uint8_t cpuid_fam_id = 0x19;
  std::uint8_t cpuid_mod_id = 0x01;
  std::uint8_t cpuid_step = 0x01;
  std::uint64_t launch_mit_vector = 0;   // written for version 5 and later
  std::uint64_t current_mit_vector = 0;
  std::uint64_t platform_info = 0;
  std::array<std::uint8_t, 32> report_id{};
  // SNP firmware version (major.minor.build); the committed one is set equal to it.
  std::uint8_t firmware_major = 0;
  std::uint8_t firmware_minor = 0;
  std::uint8_t firmware_build = 0;
};

// Encodes the TCB fields for a product's layout.
[[nodiscard]] std::uint64_t encode_tcb(const snp::Tcb& tcb, snp::Product product);

// Serialises the fields into the 1184-byte layout without a signature.
[[nodiscard]] Bytes encode_report(const ReportFields& fields);
// Signs bytes 0x000-0x29F with the key and stores R and S little-endian.
[[nodiscard]] Result<void> sign_report(Bytes& report, EVP_PKEY* key);

[[nodiscard]] std::string chain_pem(const Chain& chain);  // ASK then ARK, as KDS serves it

}  // namespace cvm::testing
