// The emulated AMD platform: a locally generated ARK/ASK/VCEK chain for one
// chip, and the files that describe it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "snp/tcb.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::emulator {

// What the SNP firmware of the emulated chip reports about itself.
struct Platform {
  snp::Product product = snp::Product::genoa;
  std::array<std::uint8_t, 64> chip_id{};
  snp::Tcb tcb{};  // reported, current, committed and launch TCB alike
  std::array<std::uint8_t, 48> measurement{};
  std::uint8_t firmware_major = 0;
  std::uint8_t firmware_minor = 0;
  std::uint8_t firmware_build = 0;
};

// A platform with a random chip id and launch measurement, and a TCB and
// firmware version seen on Azure hosts of that product. Only Milan and Genoa
// are supported.
[[nodiscard]] Result<Platform> random_platform(snp::Product product);

// AMD's ARK and ASK are RSA-4096 keys.
inline constexpr int kAmdRsaBits = 4096;

// Generates ARK and ASK (RSA, RSA-PSS SHA-384) and a VCEK (EC P-384)
// carrying the platform's product name, SPLs and hwID. Tests may pass
// smaller `rsa_bits` to save the seconds RSA-4096 generation takes.
[[nodiscard]] Result<testing::Chain> generate_chain(const Platform& platform, int rsa_bits = kAmdRsaBits);

// Writes ark.pem, ask.pem, vcek.pem, vcek.der, vcek-chain.pem (VCEK, ASK,
// ARK), cert_chain.pem (ASK, ARK), vcek.key (mode 0600) and platform.json.
[[nodiscard]] Result<void> write_pki(const std::string& directory, const testing::Chain& chain,
                                     const Platform& platform);

// The VCEK's private key and the platform, as `hcl` needs them.
struct Signer {
  Platform platform;
  ossl::UniquePkey vcek_key;
};

// Reads platform.json and vcek.key from a directory written by write_pki.
[[nodiscard]] Result<Signer> load_signer(const std::string& directory);

[[nodiscard]] std::string platform_json(const Platform& platform);
[[nodiscard]] Result<Platform> parse_platform_json(std::string_view text);

}  // namespace cvm::emulator
