// The runtime claims of an HCL report: compact UTF-8 JSON written by the
// paravisor with the vTPM keys, the VM configuration and the guest's user
// data. Schema: microsoft/openvmm get.rs `runtime_claims::RuntimeClaims`,
// checked against real reports.
#pragma once

#include <json/value.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/openssl.hpp"

namespace cvm::report {

inline constexpr std::string_view kAkKeyId = "HCLAkPub";  // the vTPM AK at 0x81000003
inline constexpr std::string_view kEkKeyId = "HCLEkPub";  // the vTPM EK
// The NV user-data index is 64 bytes long, so the claims carry at most that much.
inline constexpr std::size_t kUserDataSize = 64;

// A JSON Web Key from the claims' `keys` array. For RSA keys `n` and `e`
// are decoded from base64url; keys of other types keep only their JSON.
struct Jwk {
  std::string kid;
  std::string kty;
  std::vector<std::string> key_ops;
  Bytes n;  // RSA modulus, big-endian
  Bytes e;  // RSA public exponent, big-endian
  Json::Value json;
};

// The `vm-configuration` object. The fields current paravisors write are
// typed, and every other member is kept in `other`.
struct VmConfiguration {
  std::optional<bool> console_enabled;
  std::optional<bool> interactive_console_enabled;
  std::optional<bool> secure_boot;
  std::optional<bool> tpm_enabled;
  std::optional<bool> tpm_persisted;
  std::optional<bool> filtered_vpci_devices_allowed;
  std::optional<std::string> vm_unique_id;
  std::optional<std::string> secure_boot_template_id;
  std::optional<std::string> root_cert_thumbprint;  // base64url SHA-256
  std::optional<std::string> hardware_sealing_policy;
  std::optional<std::int64_t> current_time;  // unix seconds from the host clock
  std::optional<Json::Value> vmgs_provisioner;
  Json::Value other{Json::objectValue};
};

struct RuntimeClaims {
  Bytes raw;  // exactly the bytes parsed; the claims hash covers these
  Json::Value json;
  std::vector<Jwk> keys;
  std::optional<VmConfiguration> vm_configuration;
  std::optional<std::string> user_data_hex;  // as stored, either case
  std::optional<Bytes> user_data;            // decoded; absent when the claims omit it
  // Known fields with an unexpected JSON type. They are kept in the JSON and
  // reported here, because a newer paravisor may change a type.
  std::vector<std::string> notes;

  // The key with this kid, or nullptr.
  [[nodiscard]] const Jwk* find_key(std::string_view kid) const;
};

// Parses the claims JSON. Unknown members anywhere are kept.
//
// Errors are Errc::invalid_data with the JSON key as field. Bytes that are
// not one JSON object are rejected, and so are duplicate object keys,
// because two parsers could then disagree on a value. So are `keys` that is
// not an array of objects, an RSA key whose `n` or `e` is missing or not
// base64url, and a `user-data` that is not hex or longer than 64 bytes.
[[nodiscard]] Result<RuntimeClaims> parse_runtime_claims(ByteView raw);

// Builds an OpenSSL public key from an RSA JWK. Keys of other types are
// Errc::unsupported.
[[nodiscard]] Result<ossl::UniquePkey> jwk_public_key(const Jwk& key);

// Reports whether the claims' user-data equals `expected` zero-padded to 64
// bytes. The comparison is on decoded bytes, so the case of the stored hex
// does not matter. Absent user-data counts as 64 zero bytes, as the
// paravisor treats an unset NV index. `expected` longer than 64 bytes never
// matches.
[[nodiscard]] bool user_data_matches(const RuntimeClaims& claims, ByteView expected);

}  // namespace cvm::report
