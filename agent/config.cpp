#include "agent/config.hpp"

#include <grp.h>
#include <pwd.h>

#include <set>

#include "common/json.hpp"
#include "common/bytes.hpp"

namespace cvm::agent {
namespace {

Error config_error(const std::string& key, std::string message) {
  return Error{.code = Errc::invalid_argument,
               .message = "invalid configuration: " + key + ": " + std::move(message),
               .hint = "see docs/configuration.md",
               .field = key};
}

std::string describe(const Json::Value& value) {
  std::string text = value.toStyledString();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// Reads one JSON object section; finish() rejects every key no accessor consumed.
class Section {
 public:
  Section(const Json::Value& value, std::string path) : value_(value), path_(std::move(path)) {}

  Result<void> check_object() const {
    if (!value_.isObject()) {
      return fail(config_error(path_.empty() ? "(top level)" : path_, "expected an object, got " + describe(value_)));
    }
    return {};
  }
  [[nodiscard]] std::string key(const std::string& name) const { return path_.empty() ? name : path_ + "." + name; }
  [[nodiscard]] bool has(const std::string& name) { seen_.insert(name); return value_.isMember(name); }
  [[nodiscard]] const Json::Value& at(const std::string& name) const { return value_[name]; }

  Result<void> string(const std::string& name, std::string& out) {
    if (!has(name)) return {};
    if (!at(name).isString()) return fail(config_error(key(name), "expected a string, got " + describe(at(name))));
    out = at(name).asString();
    return {};
  }
  Result<void> boolean(const std::string& name, bool& out) {
    if (!has(name)) return {};
    if (!at(name).isBool()) return fail(config_error(key(name), "expected true or false, got " + describe(at(name))));
    out = at(name).asBool();
    return {};
  }
  Result<void> unsigned_number(const std::string& name, unsigned& out, unsigned min, unsigned max) {
    if (!has(name)) return {};
    const Json::Value& value = at(name);
    if (!value.isUInt() || value.asUInt() < min || value.asUInt() > max) {
      return fail(config_error(key(name), "expected an integer from " + std::to_string(min) + " to " +
                                              std::to_string(max) + ", got " + describe(value)));
    }
    out = value.asUInt();
    return {};
  }
  Result<void> fraction(const std::string& name, double& out) {
    if (!has(name)) return {};
    const Json::Value& value = at(name);
    if (!value.isNumeric() || value.asDouble() <= 0 || value.asDouble() >= 1) {
      return fail(config_error(key(name), "expected a number between 0 and 1, got " + describe(value)));
    }
    out = value.asDouble();
    return {};
  }
  Result<void> strings(const std::string& name, std::vector<std::string>& out) {
    if (!has(name)) return {};
    const Json::Value& value = at(name);
    if (!value.isArray()) return fail(config_error(key(name), "expected an array of strings"));
    out.clear();
    for (const auto& item : value) {
      if (!item.isString()) return fail(config_error(key(name), "expected strings, got " + describe(item)));
      out.push_back(item.asString());
    }
    return {};
  }
  Result<void> finish() const {
    for (const auto& name : value_.getMemberNames()) {
      if (!seen_.contains(name)) {
        return fail(config_error(key(name), "unknown key"));
      }
    }
    return {};
  }

 private:
  const Json::Value& value_;
  std::string path_;
  std::set<std::string> seen_;
};

Result<void> parse_tpm(Section& top, TpmConfig& tpm) {
  if (!top.has("tpm")) return {};
  Section section(top.at("tpm"), "tpm");
  CVM_TRY(section.check_object());
  CVM_TRY(section.string("tcti", tpm.tcti));
  CVM_TRY(section.string("event_log", tpm.event_log));
  if (section.has("pcrs")) {
    const Json::Value& pcrs = section.at("pcrs");
    if (!pcrs.isArray() || pcrs.empty()) return fail(config_error("tpm.pcrs", "expected a non-empty array of PCR indices"));
    tpm.pcrs.clear();
    std::set<unsigned> seen;
    for (const auto& item : pcrs) {
      if (!item.isUInt() || item.asUInt() > 23 || !seen.insert(item.asUInt()).second) {
        return fail(config_error("tpm.pcrs", "each entry must be a distinct PCR index 0-23, got " + describe(item)));
      }
      tpm.pcrs.push_back(item.asUInt());
    }
  }
  if (tpm.tcti.empty()) return fail(config_error("tpm.tcti", "must not be empty"));
  return section.finish();
}

Result<void> parse_attestation(Section& top, AttestationConfig& attestation) {
  if (!top.has("attestation")) return {};
  Section section(top.at("attestation"), "attestation");
  CVM_TRY(section.check_object());
  CVM_TRY(section.string("endpoint", attestation.endpoint));
  if (!attestation.endpoint.empty() && !attestation.endpoint.starts_with("https://") &&
      !attestation.endpoint.starts_with("http://127.") && !attestation.endpoint.starts_with("http://localhost")) {
    return fail(config_error("attestation.endpoint", "'" + attestation.endpoint + "' must be an https URL"));
  }
  std::string protocol(client::protocol_name(attestation.protocol));
  CVM_TRY(section.string("protocol", protocol));
  auto parsed = client::parse_protocol(protocol);
  if (!parsed) return fail(config_error("attestation.protocol", parsed.error().message));
  attestation.protocol = *parsed;
  CVM_TRY(section.string("ca_file", attestation.ca_file));
  CVM_TRY(section.unsigned_number("clock_skew_seconds", attestation.clock_skew_seconds, 0, 3600));
  CVM_TRY(section.unsigned_number("timeout_seconds", attestation.timeout_seconds, 1, 600));
  return section.finish();
}

Result<void> parse_certificates(Section& top, CertificatesConfig& certificates) {
  if (!top.has("certificates")) return {};
  Section section(top.at("certificates"), "certificates");
  CVM_TRY(section.check_object());
  CVM_TRY(section.string("cache_dir", certificates.cache_dir));
  CVM_TRY(section.boolean("use_thim", certificates.use_thim));
  CVM_TRY(section.boolean("use_kds", certificates.use_kds));
  CVM_TRY(section.strings("trust_anchors", certificates.trust_anchors));
  CVM_TRY(section.string("chain_file", certificates.chain_file));
  return section.finish();
}

Result<void> parse_token(Section& top, TokenConfig& token) {
  if (!top.has("token")) return {};
  Section section(top.at("token"), "token");
  CVM_TRY(section.check_object());
  CVM_TRY(section.fraction("refresh_from", token.refresh_from));
  CVM_TRY(section.fraction("refresh_to", token.refresh_to));
  if (token.refresh_from > token.refresh_to) {
    return fail(config_error("token.refresh_from", "must not exceed token.refresh_to"));
  }
  CVM_TRY(section.unsigned_number("retry_base_seconds", token.retry_base_seconds, 1, 3600));
  CVM_TRY(section.unsigned_number("retry_max_seconds", token.retry_max_seconds, 1, 86400));
  CVM_TRY(section.unsigned_number("max_in_flight", token.max_in_flight, 1, 64));
  return section.finish();
}

Result<void> parse_socket(Section& top, SocketConfig& socket) {
  if (!top.has("socket")) return {};
  Section section(top.at("socket"), "socket");
  CVM_TRY(section.check_object());
  CVM_TRY(section.string("path", socket.path));
  if (socket.path.empty() || socket.path.front() != '/' || socket.path.size() > 107) {
    return fail(config_error("socket.path", "'" + socket.path + "' must be an absolute path of at most 107 bytes"));
  }
  if (section.has("mode")) {
    const Json::Value& mode = section.at("mode");
    std::string text = mode.isString() ? mode.asString() : "";
    char* end = nullptr;
    unsigned long value = text.empty() ? 0 : std::strtoul(text.c_str(), &end, 8);
    if (text.empty() || *end != '\0' || value > 0777 || (value & 0007) != 0) {
      return fail(config_error("socket.mode", "expected an octal string such as \"0660\" without access for "
                                              "others, got " + describe(mode)));
    }
    socket.mode = static_cast<mode_t>(value);
  }
  CVM_TRY(section.string("group", socket.group));
  return section.finish();
}

Result<service::AccessRule> parse_rule(const Json::Value& value, const std::string& path) {
  Section section(value, path);
  CVM_TRY(section.check_object());
  service::AccessRule rule;
  CVM_TRY(section.boolean("everyone", rule.everyone));
  std::vector<std::string> users;
  std::vector<std::string> groups;
  CVM_TRY(section.strings("users", users));
  CVM_TRY(section.strings("groups", groups));
  CVM_TRY(section.strings("units", rule.units));
  for (const auto& user : users) {
    char* end = nullptr;
    unsigned long uid = std::strtoul(user.c_str(), &end, 10);
    if (!user.empty() && *end == '\0') {
      rule.uids.push_back(static_cast<uid_t>(uid));
      continue;
    }
    passwd* entry = ::getpwnam(user.c_str());
    if (entry == nullptr) return fail(config_error(path + ".users", "unknown user '" + user + "'"));
    rule.uids.push_back(entry->pw_uid);
  }
  for (const auto& name : groups) {
    char* end = nullptr;
    unsigned long gid = std::strtoul(name.c_str(), &end, 10);
    if (!name.empty() && *end == '\0') {
      rule.gids.push_back(static_cast<gid_t>(gid));
      continue;
    }
    group* entry = ::getgrnam(name.c_str());
    if (entry == nullptr) return fail(config_error(path + ".groups", "unknown group '" + name + "'"));
    rule.gids.push_back(entry->gr_gid);
  }
  CVM_TRY(section.finish());
  return rule;
}

Result<void> parse_access(Section& top, service::AccessPolicy& access) {
  if (!top.has("access")) return {};
  Section section(top.at("access"), "access");
  CVM_TRY(section.check_object());
  for (const char* endpoint : {"token", "token_nonce", "evidence", "keys", "status", "metrics"}) {
    if (section.has(endpoint)) {
      access.rules[endpoint] = CVM_TRY(parse_rule(section.at(endpoint), std::string("access.") + endpoint));
    }
  }
  return section.finish();
}

Result<void> parse_logging(Section& top, LoggingConfig& logging) {
  if (!top.has("logging")) return {};
  Section section(top.at("logging"), "logging");
  CVM_TRY(section.check_object());
  CVM_TRY(section.string("level", logging.level));
  CVM_TRY(section.string("target", logging.target));
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
  static const std::set<std::string> kTargets{"auto", "journal", "stderr"};
  if (!kLevels.contains(logging.level)) {
    return fail(config_error("logging.level", "'" + logging.level + "' is not one of trace, debug, info, warn, error"));
  }
  if (!kTargets.contains(logging.target)) {
    return fail(config_error("logging.target", "'" + logging.target + "' is not one of auto, journal, stderr"));
  }
  return section.finish();
}

}  // namespace

Result<Config> parse_config(std::string_view text) {
  auto json = cvm::parse_json(text, "the configuration");
  if (!json) {
    Error error = std::move(json).error();
    error.code = Errc::invalid_argument;
    return fail(std::move(error));
  }
  Config config;
  Section top(*json, "");
  CVM_TRY(top.check_object());
  CVM_TRY(parse_tpm(top, config.tpm));
  CVM_TRY(parse_attestation(top, config.attestation));
  CVM_TRY(top.string("imds_url", config.imds_url));
  CVM_TRY(top.string("kds_url", config.kds_url));
  CVM_TRY(parse_certificates(top, config.certificates));
  CVM_TRY(parse_token(top, config.token));
  CVM_TRY(parse_socket(top, config.socket));
  CVM_TRY(parse_access(top, config.access));
  CVM_TRY(parse_logging(top, config.logging));
  CVM_TRY(top.boolean("ready_after_first_token", config.ready_after_first_token));
  CVM_TRY(top.finish());
  return config;
}

Result<Config> load_config(const std::string& path, bool explicitly_named) {
  auto data = read_file(path, 1 << 20);
  if (!data) {
    if (data.error().code == Errc::not_found && !explicitly_named) {
      return Config{};
    }
    return fail(std::move(data).error().with_hint("pass --config with a readable file"));
  }
  auto config = parse_config(as_text(*data));
  if (!config) {
    return fail(std::move(config).error().prefixed(path));
  }
  return config;
}

}  // namespace cvm::agent
