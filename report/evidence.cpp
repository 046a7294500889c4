#include "report/evidence.hpp"

#include <json/writer.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>

#include "common/json.hpp"
#include "common/openssl.hpp"
#include "report/hcl.hpp"
#include "report/quote_formats.hpp"

namespace cvm::report {
namespace {

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

Error field_error(const std::string& field, std::string message) {
  return Error{.code = Errc::invalid_data, .message = "invalid evidence: " + field + ": " + std::move(message),
               .field = field};
}

// Moves an error from the parser of an embedded part under the JSON field
// that carried the part. A JSON part's key is appended to the field; a
// binary part's field and offset go into the message, because `field`
// names JSON only.
Error nested_error(const std::string& field, Error inner, bool inner_is_json) {
  std::string location;
  if (inner.field && !inner_is_json) {
    location = " (" + *inner.field + (inner.offset ? " at offset " + std::to_string(*inner.offset) : "") + ")";
  }
  inner.message = "invalid evidence: " + field + location + ": " + inner.message;
  inner.field = inner_is_json && inner.field ? field + "." + *inner.field : field;
  inner.offset.reset();
  return inner;
}

// Parses JSON that was carried base64-encoded in the member `field`.
Result<Json::Value> embedded_json(std::string_view text, const std::string& field) {
  auto parsed = cvm::parse_json(text, field);
  if (!parsed) {
    Error error = std::move(parsed).error();
    error.field = field;
    return fail(std::move(error));
  }
  return parsed;
}

Result<std::string> string_member(const Json::Value& object, const std::string& name, const std::string& path) {
  if (!object.isObject() || !object[name].isString()) {
    return fail(field_error(path + name, "missing or not a string"));
  }
  return object[name].asString();
}

Result<Bytes> base64_member(const Json::Value& object, const std::string& name, const std::string& path) {
  std::string text = CVM_TRY(string_member(object, name, path));
  auto bytes = base64_decode(text);
  if (!bytes) {
    return fail(field_error(path + name, "not base64"));
  }
  return bytes;
}

Result<std::optional<Bytes>> optional_base64(const Json::Value& object, const std::string& name,
                                             const std::string& path) {
  if (!object.isMember(name) || (object[name].isString() && object[name].asString().empty())) {
    return std::optional<Bytes>{};
  }
  return std::optional<Bytes>(CVM_TRY(base64_member(object, name, path)));
}

// {"SnpReport": base64url(report), "VcekCertChain": base64(PEM)} inside
// AzureGuest's Proof and SevSnpVm's report.
Result<void> read_proof(Evidence& evidence, const Bytes& proof_json, const std::string& path) {
  Json::Value proof = CVM_TRY(embedded_json(as_text(proof_json), path));
  evidence.snp_report = CVM_TRY(base64_member(proof, "SnpReport", path + "."));
  if (proof.isMember("VcekCertChain")) {
    Bytes chain = CVM_TRY(base64_member(proof, "VcekCertChain", path + "."));
    evidence.vcek_chain_pem = std::string(as_text(chain));
  }
  return {};
}

Result<Evidence> read_azure_guest(const Json::Value& root) {
  Evidence evidence{.format = EvidenceFormat::azure_guest};
  Bytes info_bytes = CVM_TRY(base64_member(root, "AttestationInfo", ""));
  Json::Value info = CVM_TRY(embedded_json(as_text(info_bytes), "AttestationInfo"));
  if (!info.isObject()) {
    return fail(field_error("AttestationInfo", "not a JSON object"));
  }
  auto decoded_string = [&](const char* name) -> std::string {
    if (!info[name].isString()) return {};
    auto bytes = base64_decode(info[name].asString());
    return bytes ? std::string(as_text(*bytes)) : std::string();
  };
  evidence.os_type = decoded_string("OSType");
  evidence.os_distro = decoded_string("OSDistro");
  // Integers in Microsoft's client, strings in its Python counterpart.
  // Anything else reads as 0: the OS version is descriptive, never checked.
  auto version_number = [&](const char* name) {
    const Json::Value& value = info[name];
    if (value.isInt()) return value.asInt();
    int number = 0;
    if (value.isString()) {
      std::string text = value.asString();
      std::from_chars(text.data(), text.data() + text.size(), number);
    }
    return number;
  };
  evidence.os_version_major = version_number("OSVersionMajor");
  evidence.os_version_minor = version_number("OSVersionMinor");
  if (auto log = CVM_TRY(optional_base64(info, "TcgLogs", "AttestationInfo."))) {
    evidence.event_log = std::move(*log);
  }
  if (info["ClientPayload"].isObject()) {
    for (const auto& name : info["ClientPayload"].getMemberNames()) {
      const Json::Value& value = info["ClientPayload"][name];
      auto decoded = value.isString() ? base64_decode(value.asString()) : Result<Bytes>(fail(Errc::invalid_data, ""));
      if (!decoded) {
        return fail(field_error("AttestationInfo.ClientPayload." + name, "values must be base64 strings"));
      }
      evidence.client_payload.emplace_back(name, std::string(as_text(*decoded)));
    }
  }

  const Json::Value& tpm = info["TpmInfo"];
  if (!tpm.isObject()) {
    return fail(field_error("AttestationInfo.TpmInfo", "missing"));
  }
  const std::string tpm_path = "AttestationInfo.TpmInfo.";
  evidence.ak_certificate = CVM_TRY(optional_base64(tpm, "AikCert", tpm_path));
  evidence.ak_public = CVM_TRY(base64_member(tpm, "AikPub", tpm_path));
  evidence.quote = CVM_TRY(base64_member(tpm, "PcrQuote", tpm_path));
  evidence.quote_signature = CVM_TRY(base64_member(tpm, "PcrSignature", tpm_path));
  if (!tpm["PCRs"].isArray()) {
    return fail(field_error(tpm_path + "PCRs", "missing or not an array"));
  }
  std::set<std::uint32_t> seen;
  for (const Json::Value& entry : tpm["PCRs"]) {
    if (!entry.isObject() || !entry["Index"].isUInt() || entry["Index"].asUInt() > 23 ||
        !seen.insert(entry["Index"].asUInt()).second) {
      return fail(field_error(tpm_path + "PCRs", "each entry needs a distinct Index 0-23 and a Digest"));
    }
    Bytes digest = CVM_TRY(base64_member(entry, "Digest", tpm_path + "PCRs[]."));
    evidence.pcrs.push_back(PcrEntry{.index = entry["Index"].asUInt(), .digest = std::move(digest)});
  }
  std::sort(evidence.pcrs.begin(), evidence.pcrs.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  evidence.ephemeral_public = CVM_TRY(optional_base64(tpm, "EncKeyPub", tpm_path));
  evidence.ephemeral_certify_info = CVM_TRY(optional_base64(tpm, "EncKeyCertifyInfo", tpm_path));
  evidence.ephemeral_certify_signature = CVM_TRY(optional_base64(tpm, "EncKeyCertifyInfoSignature", tpm_path));

  const Json::Value& isolation = info["IsolationInfo"];
  std::string type = CVM_TRY(string_member(isolation, "Type", "AttestationInfo.IsolationInfo."));
  if (type != "SevSnp") {
    return fail(Error{.code = Errc::unsupported,
                      .message = "AzureGuest evidence of isolation type '" + type + "' is not supported (SevSnp is)",
                      .field = "AttestationInfo.IsolationInfo.Type"});
  }
  const Json::Value& inner = isolation["Evidence"];
  Bytes proof = CVM_TRY(base64_member(inner, "Proof", "AttestationInfo.IsolationInfo.Evidence."));
  CVM_TRY(read_proof(evidence, proof, "AttestationInfo.IsolationInfo.Evidence.Proof"));
  evidence.runtime_claims = CVM_TRY(base64_member(inner, "RunTimeData", "AttestationInfo.IsolationInfo.Evidence."));
  return evidence;
}

Result<Evidence> read_sev_snp_vm(const Json::Value& root) {
  Evidence evidence{.format = EvidenceFormat::sev_snp_vm};
  Bytes report = CVM_TRY(base64_member(root, "report", ""));
  CVM_TRY(read_proof(evidence, report, "report"));
  const Json::Value& runtime = root["runtimeData"];
  evidence.runtime_claims = CVM_TRY(base64_member(runtime, "data", "runtimeData."));
  if (root.isMember("nonce")) {
    evidence.nonce_field = CVM_TRY(string_member(root, "nonce", ""));
  }
  return evidence;
}

Result<Evidence> read_coco(const Json::Value& root) {
  if (!root["version"].isUInt() || root["version"].asUInt() != 2) {
    return fail(Error{.code = Errc::unsupported,
                      .message = "az-snp-vtpm evidence version " + compact(root["version"]) +
                                 " is not supported (version 2 is)",
                      .field = "version"});
  }
  Evidence evidence{.format = EvidenceFormat::coco_az_snp_vtpm};
  Bytes hcl = CVM_TRY(base64_member(root, "hcl_report", ""));
  if (auto filled = fill_from_hcl_report(evidence, hcl); !filled) {
    return fail(nested_error("hcl_report", std::move(filled).error(), false));
  }
  evidence.vcek_der = CVM_TRY(base64_member(root, "vcek", ""));
  if (!root["tpm_quote"].isObject()) {
    return fail(field_error("tpm_quote", "missing or not an object"));
  }
  std::string quote_text = compact(root["tpm_quote"]);
  auto parsed_quote = parse_coco_tpm_quote_json(as_bytes(quote_text));
  if (!parsed_quote) {
    return fail(nested_error("tpm_quote", std::move(parsed_quote).error(), true));
  }
  QuoteBundle bundle = std::move(*parsed_quote);
  evidence.quote = std::move(bundle.message);
  evidence.quote_signature = std::move(bundle.signature);
  for (std::size_t i = 0; i < bundle.pcrs.size(); ++i) {
    evidence.pcrs.push_back(PcrEntry{.index = static_cast<std::uint32_t>(i), .digest = std::move(bundle.pcrs[i])});
  }
  return evidence;
}

// The PEM chain an MAA body carries: VcekCertChain, preceded by the lone
// VCEK of Confidential Containers evidence when the chain lacks it, so
// that converting such evidence keeps its VCEK.
std::string chain_pem_for_encoding(const Evidence& evidence) {
  if (!evidence.vcek_der) {
    return evidence.vcek_chain_pem;
  }
  auto vcek = ossl::parse_der_certificate(*evidence.vcek_der);
  if (!vcek) {
    return evidence.vcek_chain_pem;
  }
  auto chain = ossl::parse_certificates(as_bytes(evidence.vcek_chain_pem), "VcekCertChain");
  if (chain) {
    for (const auto& certificate : *chain) {
      if (X509_cmp(certificate.get(), vcek->get()) == 0) {
        return evidence.vcek_chain_pem;
      }
    }
  }
  return ossl::certificate_pem(vcek->get()) + evidence.vcek_chain_pem;
}

}  // namespace

std::string_view evidence_format_name(EvidenceFormat format) {
  switch (format) {
    case EvidenceFormat::azure_guest: return "azure-guest";
    case EvidenceFormat::sev_snp_vm: return "sevsnpvm";
    case EvidenceFormat::coco_az_snp_vtpm: return "az-snp-vtpm";
  }
  return "unknown";
}

Result<EvidenceFormat> parse_evidence_format(std::string_view name) {
  if (name == "azure-guest") return EvidenceFormat::azure_guest;
  if (name == "sevsnpvm") return EvidenceFormat::sev_snp_vm;
  return fail(Error{.code = Errc::invalid_argument,
                    .message = "unknown evidence format '" + std::string(name) + "'",
                    .hint = "use azure-guest or sevsnpvm"});
}

Result<void> fill_from_hcl_report(Evidence& evidence, ByteView hcl_report) {
  HclReport parsed = CVM_TRY(parse_hcl_report(hcl_report));
  evidence.snp_report.assign(parsed.hardware_report.begin(), parsed.hardware_report.end());
  evidence.runtime_claims = std::move(parsed.claims);
  return {};
}

void fill_os_release(Evidence& evidence, const std::string& path) {
  std::ifstream file(path);
  std::string line;
  auto unquote = [](std::string value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  };
  while (std::getline(file, line)) {
    if (line.starts_with("NAME=")) {
      evidence.os_distro = unquote(line.substr(5));
    } else if (line.starts_with("VERSION_ID=")) {
      std::string version = unquote(line.substr(11));
      // VERSION_ID is "22.04", "9" or similar; parsing stops at the first non-digit.
      const char* end = version.data() + version.size();
      auto [dot, major_error] = std::from_chars(version.data(), end, evidence.os_version_major);
      evidence.os_version_minor = 0;
      if (major_error == std::errc() && dot != end && *dot == '.') {
        std::from_chars(dot + 1, end, evidence.os_version_minor);
      }
    }
  }
}

Json::Value azure_guest_attestation_info(const Evidence& evidence) {
  Json::Value info(Json::objectValue);
  info["AttestationProtocolVersion"] = "2.0";
  info["OSType"] = base64_encode(as_bytes(evidence.os_type));
  info["OSDistro"] = base64_encode(as_bytes(evidence.os_distro));
  info["OSVersionMajor"] = evidence.os_version_major;
  info["OSVersionMinor"] = evidence.os_version_minor;
  // "NotApplication" is the value Microsoft's Linux client sends.
  info["OSBuild"] = base64_encode(as_bytes(std::string_view("NotApplication")));
  info["TcgLogs"] = base64_encode(evidence.event_log);
  Json::Value payload(Json::objectValue);
  for (const auto& [name, value] : evidence.client_payload) {
    payload[name] = base64_encode(as_bytes(value));
  }
  info["ClientPayload"] = payload;

  Json::Value tpm(Json::objectValue);
  if (evidence.ak_certificate) tpm["AikCert"] = base64_encode(*evidence.ak_certificate);
  if (evidence.ak_public) tpm["AikPub"] = base64_encode(*evidence.ak_public);
  if (evidence.quote) tpm["PcrQuote"] = base64_encode(*evidence.quote);
  if (evidence.quote_signature) tpm["PcrSignature"] = base64_encode(*evidence.quote_signature);
  Json::Value set(Json::arrayValue);
  Json::Value pcrs(Json::arrayValue);
  for (const auto& pcr : evidence.pcrs) {
    set.append(pcr.index);
    Json::Value entry(Json::objectValue);
    entry["Index"] = pcr.index;
    entry["Digest"] = base64_encode(pcr.digest);
    pcrs.append(entry);
  }
  tpm["PcrSet"] = set;
  tpm["PCRs"] = pcrs;
  if (evidence.ephemeral_public) tpm["EncKeyPub"] = base64_encode(*evidence.ephemeral_public);
  if (evidence.ephemeral_certify_info) tpm["EncKeyCertifyInfo"] = base64_encode(*evidence.ephemeral_certify_info);
  if (evidence.ephemeral_certify_signature) {
    tpm["EncKeyCertifyInfoSignature"] = base64_encode(*evidence.ephemeral_certify_signature);
  }
  info["TpmInfo"] = tpm;

  Json::Value proof(Json::objectValue);
  proof["SnpReport"] = base64url_encode(evidence.snp_report);
  proof["VcekCertChain"] = base64_encode(as_bytes(chain_pem_for_encoding(evidence)));
  Json::Value isolation(Json::objectValue);
  isolation["Type"] = "SevSnp";
  isolation["Evidence"]["Proof"] = base64_encode(as_bytes(compact(proof)));
  isolation["Evidence"]["RunTimeData"] = base64_encode(evidence.runtime_claims);
  info["IsolationInfo"] = isolation;
  return info;
}

std::string encode_azure_guest(const Evidence& evidence) {
  Json::Value body(Json::objectValue);
  body["AttestationInfo"] = base64url_encode(as_bytes(compact(azure_guest_attestation_info(evidence))));
  return compact(body);
}

std::string encode_sev_snp_vm(const Evidence& evidence) {
  Json::Value report(Json::objectValue);
  report["SnpReport"] = base64url_encode(evidence.snp_report);
  report["VcekCertChain"] = base64url_encode(as_bytes(chain_pem_for_encoding(evidence)));
  Json::Value body(Json::objectValue);
  body["report"] = base64url_encode(as_bytes(compact(report)));
  body["runtimeData"]["data"] = base64url_encode(evidence.runtime_claims);
  body["runtimeData"]["dataType"] = "JSON";
  if (evidence.nonce_field) {
    body["nonce"] = *evidence.nonce_field;
  }
  return compact(body);
}

Result<Evidence> read_evidence(std::string_view text) {
  if (text.size() > kMaxEvidenceSize) {
    return fail(Errc::invalid_data, "evidence larger than " + std::to_string(kMaxEvidenceSize) + " bytes");
  }
  Json::Value root = CVM_TRY(cvm::parse_json(text, "the evidence"));
  if (!root.isObject()) {
    return fail(Errc::invalid_data, "evidence must be a JSON object");
  }
  if (root.isMember("AttestationInfo")) {
    return read_azure_guest(root);
  }
  if (root.isMember("report") && root.isMember("runtimeData")) {
    return read_sev_snp_vm(root);
  }
  if (root.isMember("tpm_quote") && root.isMember("hcl_report")) {
    return read_coco(root);
  }
  return fail(Error{.code = Errc::unsupported,
                    .message = "unrecognised evidence: expected an AzureGuest body (AttestationInfo), a SevSnpVm "
                               "body (report, runtimeData) or az-snp-vtpm evidence (tpm_quote, hcl_report)"});
}

}  // namespace cvm::report
