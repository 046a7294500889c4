#include "report/claims.hpp"

#include <algorithm>

#include "report/json.hpp"
#include "common/rsa.hpp"

namespace cvm::report {
namespace {

Error claims_error(std::string message, std::string field) {
  Error error{.code = Errc::invalid_data, .message = "runtime claims: " + std::move(message)};
  error.field = std::move(field);
  return error;
}

Result<Bytes> decode_base64url_member(const Json::Value& key, const char* name, const std::string& kid) {
  const Json::Value& value = key[name];
  if (!value.isString()) {
    return fail(claims_error("key \"" + kid + "\" has no string member \"" + name + "\"",
                             std::string("keys.") + name));
  }
  auto decoded = base64_decode(value.asString());
  if (!decoded) {
    return fail(claims_error("key \"" + kid + "\" member \"" + name + "\" is not base64url: " +
                                 decoded.error().message,
                             std::string("keys.") + name));
  }
  return decoded;
}

Result<Jwk> parse_key(const Json::Value& value, std::size_t index) {
  if (!value.isObject()) {
    return fail(claims_error("keys[" + std::to_string(index) + "] is not an object", "keys"));
  }
  Jwk key;
  key.json = value;
  if (value["kid"].isString()) {
    key.kid = value["kid"].asString();
  }
  if (value["kty"].isString()) {
    key.kty = value["kty"].asString();
  }
  const Json::Value& operations = value["key_ops"];
  if (operations.isArray()) {
    for (const Json::Value& operation : operations) {
      if (operation.isString()) {
        key.key_ops.push_back(operation.asString());
      }
    }
  }
  if (key.kty == "RSA") {
    std::string name = key.kid.empty() ? "keys[" + std::to_string(index) + "]" : key.kid;
    key.n = CVM_TRY(decode_base64url_member(value, "n", name));
    key.e = CVM_TRY(decode_base64url_member(value, "e", name));
  }
  return key;
}

// Reads a member that should be a bool. A member of another type stays in
// the JSON and is noted, so one changed type does not hide the whole report.
void read_bool(const Json::Value& object, const char* name, std::optional<bool>& out,
               std::vector<std::string>& notes) {
  if (!object.isMember(name)) {
    return;
  }
  const Json::Value& value = object[name];
  if (value.isBool()) {
    out = value.asBool();
  } else {
    notes.push_back(std::string("vm-configuration.") + name + " is not a boolean");
  }
}

void read_string(const Json::Value& object, const char* name, std::optional<std::string>& out,
                 std::vector<std::string>& notes) {
  if (!object.isMember(name)) {
    return;
  }
  const Json::Value& value = object[name];
  if (value.isString()) {
    out = value.asString();
  } else {
    notes.push_back(std::string("vm-configuration.") + name + " is not a string");
  }
}

VmConfiguration parse_vm_configuration(const Json::Value& object, std::vector<std::string>& notes) {
  VmConfiguration config;
  read_bool(object, "console-enabled", config.console_enabled, notes);
  read_bool(object, "interactive-console-enabled", config.interactive_console_enabled, notes);
  read_bool(object, "secure-boot", config.secure_boot, notes);
  read_bool(object, "tpm-enabled", config.tpm_enabled, notes);
  read_bool(object, "tpm-persisted", config.tpm_persisted, notes);
  read_bool(object, "filtered-vpci-devices-allowed", config.filtered_vpci_devices_allowed, notes);
  read_string(object, "vmUniqueId", config.vm_unique_id, notes);
  read_string(object, "secure-boot-template-id", config.secure_boot_template_id, notes);
  read_string(object, "root-cert-thumbprint", config.root_cert_thumbprint, notes);
  read_string(object, "hardware-sealing-policy", config.hardware_sealing_policy, notes);
  if (object.isMember("current-time")) {
    const Json::Value& value = object["current-time"];
    if (value.isInt64()) {
      config.current_time = value.asInt64();
    } else {
      notes.push_back("vm-configuration.current-time is not an integer");
    }
  }
  if (object.isMember("vmgs-provisioner")) {
    config.vmgs_provisioner = object["vmgs-provisioner"];
  }

  static constexpr std::string_view kKnown[] = {
      "console-enabled", "interactive-console-enabled", "secure-boot", "tpm-enabled",
      "tpm-persisted", "filtered-vpci-devices-allowed", "vmUniqueId", "secure-boot-template-id",
      "root-cert-thumbprint", "hardware-sealing-policy", "current-time", "vmgs-provisioner"};
  for (const std::string& name : object.getMemberNames()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      config.other[name] = object[name];
    }
  }
  return config;
}

Result<void> parse_user_data(const Json::Value& value, RuntimeClaims& claims) {
  if (!value.isString()) {
    return fail(claims_error("user-data is not a string", "user-data"));
  }
  std::string text = value.asString();
  auto decoded = hex_decode(text);
  if (!decoded) {
    return fail(claims_error("user-data is not hex: " + decoded.error().message, "user-data"));
  }
  if (decoded->size() > kUserDataSize) {
    return fail(claims_error("user-data has " + std::to_string(decoded->size()) +
                                 " bytes, more than the 64 of the NV index",
                             "user-data"));
  }
  claims.user_data_hex = std::move(text);
  claims.user_data = std::move(*decoded);
  return {};
}

}  // namespace

const Jwk* RuntimeClaims::find_key(std::string_view kid) const {
  for (const Jwk& key : keys) {
    if (key.kid == kid) {
      return &key;
    }
  }
  return nullptr;
}

Result<RuntimeClaims> parse_runtime_claims(ByteView raw) {
  RuntimeClaims claims;
  claims.raw.assign(raw.begin(), raw.end());
  claims.json = CVM_TRY(parse_json_object(raw, "runtime claims"));

  if (claims.json.isMember("keys")) {
    const Json::Value& keys = claims.json["keys"];
    if (!keys.isArray()) {
      return fail(claims_error("keys is not an array", "keys"));
    }
    for (Json::ArrayIndex i = 0; i < keys.size(); ++i) {
      claims.keys.push_back(CVM_TRY(parse_key(keys[i], i)));
    }
  }

  if (claims.json.isMember("vm-configuration")) {
    const Json::Value& config = claims.json["vm-configuration"];
    if (config.isObject()) {
      claims.vm_configuration = parse_vm_configuration(config, claims.notes);
    } else {
      claims.notes.push_back("vm-configuration is not an object");
    }
  }

  if (claims.json.isMember("user-data")) {
    CVM_TRY(parse_user_data(claims.json["user-data"], claims));
  }
  return claims;
}

Result<ossl::UniquePkey> jwk_public_key(const Jwk& key) {
  if (key.kty != "RSA") {
    return fail(Errc::unsupported, "key \"" + key.kid + "\" has type \"" + key.kty +
                                       "\"; only RSA keys are supported");
  }
  auto public_key = ossl::rsa_public_key(key.n, key.e);
  if (!public_key) {
    return std::unexpected(std::move(public_key).error().prefixed("key \"" + key.kid + "\""));
  }
  return public_key;
}

bool user_data_matches(const RuntimeClaims& claims, ByteView expected) {
  if (expected.size() > kUserDataSize) {
    return false;
  }
  std::array<std::uint8_t, kUserDataSize> wanted{};
  std::copy(expected.begin(), expected.end(), wanted.begin());
  std::array<std::uint8_t, kUserDataSize> stored{};
  if (claims.user_data) {
    std::copy(claims.user_data->begin(), claims.user_data->end(), stored.begin());
  }
  return wanted == stored;
}

}  // namespace cvm::report
