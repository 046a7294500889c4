// TPM2B_PUBLIC of an RSA key (TPM 2.0 Library, Part 2: Structures, section
// 12.2), parsed from its marshalled bytes: the AK and the ephemeral key of
// AzureGuest evidence (AikPub, EncKeyPub) come in this form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/openssl.hpp"

namespace cvm::report {

inline constexpr std::uint16_t kAlgRsa = 0x0001;
inline constexpr std::uint16_t kAlgNull = 0x0010;
inline constexpr std::uint16_t kAlgRsassa = 0x0014;
inline constexpr std::uint16_t kAlgRsaes = 0x0015;
inline constexpr std::uint16_t kAlgRsapss = 0x0016;
inline constexpr std::uint16_t kAlgOaep = 0x0017;

// TPMA_OBJECT bits.
inline constexpr std::uint32_t kObjectFixedTpm = 1u << 1;
inline constexpr std::uint32_t kObjectStClear = 1u << 2;
inline constexpr std::uint32_t kObjectFixedParent = 1u << 4;
inline constexpr std::uint32_t kObjectSensitiveDataOrigin = 1u << 5;
inline constexpr std::uint32_t kObjectUserWithAuth = 1u << 6;
inline constexpr std::uint32_t kObjectAdminWithPolicy = 1u << 7;
inline constexpr std::uint32_t kObjectNoDa = 1u << 10;
inline constexpr std::uint32_t kObjectEncryptedDuplication = 1u << 11;
inline constexpr std::uint32_t kObjectRestricted = 1u << 16;
inline constexpr std::uint32_t kObjectDecrypt = 1u << 17;
inline constexpr std::uint32_t kObjectSign = 1u << 18;
inline constexpr std::uint32_t kObjectX509Sign = 1u << 19;

struct TpmPublic {
  Bytes marshalled;  // the TPMT_PUBLIC bytes, without the TPM2B size; the Name hashes these
  std::uint16_t type = 0;
  std::uint16_t name_algorithm = 0;
  std::uint32_t object_attributes = 0;
  Bytes auth_policy;
  std::uint16_t symmetric_algorithm = kAlgNull;
  std::uint16_t scheme = kAlgNull;
  std::optional<std::uint16_t> scheme_hash;  // RSASSA, RSAPSS and OAEP schemes only
  std::uint16_t key_bits = 0;
  std::uint32_t exponent = 0;  // as stored; 0 means 65537
  Bytes modulus;
  ossl::UniquePkey key;

  // The object's Name: nameAlg, big-endian, followed by the nameAlg hash
  // of the TPMT_PUBLIC bytes.
  [[nodiscard]] Result<Bytes> name() const;
};

// Parses a marshalled TPM2B_PUBLIC of an RSA key and builds its EVP_PKEY.
// Errors name the field and offset. Truncation, a size that does not match
// the structure, trailing bytes and a modulus that disagrees with keyBits
// are Errc::invalid_data. Key types other than RSA and unknown schemes are
// Errc::unsupported.
[[nodiscard]] Result<TpmPublic> parse_tpm2b_public(ByteView data);

// Names of the set TPMA_OBJECT bits ("fixedTPM", "sign", ...), for display.
[[nodiscard]] std::vector<std::string> object_attribute_names(std::uint32_t attributes);

}  // namespace cvm::report
