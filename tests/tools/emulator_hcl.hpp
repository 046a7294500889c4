// The HCL report the Azure paravisor stores in vTPM NV index 0x01400001:
// a 32-byte header, the SNP report and the runtime claims JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "tests/tools/emulator_pki.hpp"

namespace cvm::emulator {

// libtpms, and so swtpm, limits one NV index to 2048 bytes (MAX_NV_INDEX_SIZE).
inline constexpr std::size_t kSwtpmNvIndexMaxSize = 2048;
inline constexpr std::size_t kHclHeaderSize = 32;
inline constexpr std::size_t kHclClaimsOffset = 0x4d4;
inline constexpr std::size_t kUserDataSize = 64;  // NV 0x01400002

// The public part of an RSA attestation key.
struct RsaPublicKey {
  Bytes modulus;   // big-endian, without leading zero bytes
  Bytes exponent;  // big-endian, without leading zero bytes
};

// Reads an RSA public key from a PEM SubjectPublicKeyInfo ("BEGIN PUBLIC
// KEY", as `tpm2_readpublic -f pem` writes) or from a marshalled TPM2B_PUBLIC
// (as `tpm2_readpublic -o` writes by default).
[[nodiscard]] Result<RsaPublicKey> parse_ak_public(ByteView data);

struct HclOptions {
  std::uint32_t header_version = 1;  // 1 legacy HCL, 2 OpenHCL
  std::string vm_id;                 // GUID; stored upper case
  Bytes user_data;                   // at most 64 bytes, zero-padded to 64
  std::size_t max_size = kSwtpmNvIndexMaxSize;
};

// Checks a GUID of the form 8-4-4-4-12 hex digits and returns it upper case.
[[nodiscard]] Result<std::string> normalize_guid(std::string_view text);
[[nodiscard]] Result<std::string> random_guid();

// The runtime claims in the compact layout and key order of the legacy HCL:
// keys (HCLAkPub only), vm-configuration, and user-data as 128 upper-case hex
// characters.
[[nodiscard]] std::string runtime_claims(const RsaPublicKey& ak, const std::string& vm_id,
                                         ByteView user_data);

// Builds the whole blob: header, a version 3 SNP report signed by the VCEK
// whose REPORT_DATA is SHA-256(claims) followed by 32 zero bytes, the
// request data and the claims. Fails when the blob would exceed max_size.
[[nodiscard]] Result<Bytes> build_hcl_report(const Signer& signer, const RsaPublicKey& ak,
                                             const HclOptions& options);

}  // namespace cvm::emulator
