#include "report/tpm_public.hpp"

#include <cstdio>

#include "report/eventlog.hpp"
#include "common/rsa.hpp"

namespace cvm::report {
namespace {

constexpr std::uint16_t kAlgXor = 0x000a;
constexpr std::uint32_t kDefaultExponent = 65537;
// TPM2B_PUBLIC_KEY_RSA is at most MAX_RSA_KEY_BYTES long, and 512 bytes cover 4096-bit keys.
constexpr std::size_t kMaxModulusSize = 512;

Error public_error(Errc code, std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = code, .message = "TPM2B_PUBLIC: " + std::move(message)})
      .at(std::move(field), offset);
}

std::string hex16(std::uint16_t value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "0x%04x", value);
  return buffer;
}

// TPMT_SYM_DEF_OBJECT: an algorithm, then key bits and mode unless it is NULL.
Result<void> read_symmetric(ByteReader& reader, TpmPublic& out) {
  out.symmetric_algorithm = CVM_TRY(reader.u16be("parameters.symmetric.algorithm"));
  if (out.symmetric_algorithm == kAlgNull) {
    return {};
  }
  CVM_TRY(reader.u16be("parameters.symmetric.key_bits"));
  if (out.symmetric_algorithm != kAlgXor) {  // XOR has a hash instead of key bits and no mode
    CVM_TRY(reader.u16be("parameters.symmetric.mode"));
  }
  return {};
}

// TPMT_RSA_SCHEME: a scheme, then its hash for the schemes that carry one.
Result<void> read_scheme(ByteReader& reader, TpmPublic& out) {
  std::size_t offset = reader.offset();
  out.scheme = CVM_TRY(reader.u16be("parameters.scheme"));
  switch (out.scheme) {
    case kAlgNull:
    case kAlgRsaes:
      return {};
    case kAlgRsassa:
    case kAlgRsapss:
    case kAlgOaep:
      out.scheme_hash = CVM_TRY(reader.u16be("parameters.scheme.hash"));
      return {};
    default:
      return fail(public_error(Errc::unsupported, "unknown RSA scheme " + hex16(out.scheme),
                               "parameters.scheme", offset));
  }
}

}  // namespace

Result<Bytes> TpmPublic::name() const {
  Bytes digest = CVM_TRY(hash_with(name_algorithm, marshalled));
  Bytes out{static_cast<std::uint8_t>(name_algorithm >> 8), static_cast<std::uint8_t>(name_algorithm & 0xff)};
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

Result<TpmPublic> parse_tpm2b_public(ByteView data) {
  ByteReader outer(data);
  std::uint16_t size = CVM_TRY(outer.u16be("size"));
  ByteView body = CVM_TRY(outer.bytes(size, "public_area"));
  if (!outer.empty()) {
    return fail(public_error(Errc::invalid_data,
                             std::to_string(outer.remaining()) + " bytes follow the structure",
                             "trailing", outer.offset()));
  }

  TpmPublic out;
  out.marshalled.assign(body.begin(), body.end());
  ByteReader reader(body, 2);
  std::size_t type_offset = reader.offset();
  out.type = CVM_TRY(reader.u16be("type"));
  if (out.type != kAlgRsa) {
    return fail(public_error(Errc::unsupported, "key type " + hex16(out.type) + " is not RSA (0x0001)",
                             "type", type_offset));
  }
  out.name_algorithm = CVM_TRY(reader.u16be("name_alg"));
  out.object_attributes = CVM_TRY(reader.u32be("object_attributes"));
  std::uint16_t policy_size = CVM_TRY(reader.u16be("auth_policy.size"));
  ByteView policy = CVM_TRY(reader.bytes(policy_size, "auth_policy"));
  out.auth_policy.assign(policy.begin(), policy.end());
  CVM_TRY(read_symmetric(reader, out));
  CVM_TRY(read_scheme(reader, out));
  std::size_t bits_offset = reader.offset();
  out.key_bits = CVM_TRY(reader.u16be("parameters.key_bits"));
  out.exponent = CVM_TRY(reader.u32be("parameters.exponent"));
  std::size_t modulus_offset = reader.offset();
  std::uint16_t modulus_size = CVM_TRY(reader.u16be("unique.size"));
  if (modulus_size > kMaxModulusSize) {
    return fail(public_error(Errc::invalid_data,
                             "an RSA modulus of " + std::to_string(modulus_size) + " bytes exceeds " +
                                 std::to_string(kMaxModulusSize),
                             "unique.size", modulus_offset));
  }
  ByteView modulus = CVM_TRY(reader.bytes(modulus_size, "unique"));
  out.modulus.assign(modulus.begin(), modulus.end());
  if (!reader.empty()) {
    return fail(public_error(Errc::invalid_data,
                             "size is " + std::to_string(size) + " but the structure ends " +
                                 std::to_string(reader.remaining()) + " bytes earlier",
                             "size", 0));
  }
  if (static_cast<std::size_t>(out.key_bits) != out.modulus.size() * 8) {
    return fail(public_error(Errc::invalid_data,
                             "keyBits is " + std::to_string(out.key_bits) + " but the modulus has " +
                                 std::to_string(out.modulus.size() * 8) + " bits",
                             "parameters.key_bits", bits_offset));
  }

  std::uint32_t exponent = out.exponent == 0 ? kDefaultExponent : out.exponent;
  Bytes exponent_bytes{static_cast<std::uint8_t>(exponent >> 24), static_cast<std::uint8_t>(exponent >> 16),
                       static_cast<std::uint8_t>(exponent >> 8), static_cast<std::uint8_t>(exponent)};
  auto key = ossl::rsa_public_key(out.modulus, exponent_bytes);
  if (!key) {
    return std::unexpected(std::move(key).error().at("unique", modulus_offset));
  }
  out.key = std::move(*key);
  return out;
}

std::vector<std::string> object_attribute_names(std::uint32_t attributes) {
  static constexpr std::pair<std::uint32_t, const char*> kNames[] = {
      {kObjectFixedTpm, "fixedTPM"},
      {kObjectStClear, "stClear"},
      {kObjectFixedParent, "fixedParent"},
      {kObjectSensitiveDataOrigin, "sensitiveDataOrigin"},
      {kObjectUserWithAuth, "userWithAuth"},
      {kObjectAdminWithPolicy, "adminWithPolicy"},
      {kObjectNoDa, "noDA"},
      {kObjectEncryptedDuplication, "encryptedDuplication"},
      {kObjectRestricted, "restricted"},
      {kObjectDecrypt, "decrypt"},
      {kObjectSign, "sign"},
      {kObjectX509Sign, "x509sign"},
  };
  std::vector<std::string> names;
  for (const auto& [bit, name] : kNames) {
    if ((attributes & bit) != 0) {
      names.emplace_back(name);
    }
  }
  return names;
}

}  // namespace cvm::report
