#include "agent/cli/snp_json.hpp"

#include <cstdio>
#include <sstream>

namespace cvm::cli {
namespace {

std::string hex64(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

Json::Value tcb_json(std::uint64_t raw, std::optional<snp::Product> product) {
  Json::Value out(Json::objectValue);
  out["raw"] = snp::tcb_hex(raw);
  if (!product) {
    return out;
  }
  snp::Tcb tcb = snp::decode_tcb(raw, *product);
  out["bootloader"] = tcb.bootloader;
  out["tee"] = tcb.tee;
  out["snp"] = tcb.snp;
  out["microcode"] = tcb.microcode;
  if (tcb.fmc) {
    out["fmc"] = *tcb.fmc;
  }
  return out;
}

template <typename T>
Json::Value optional_number(const std::optional<T>& value) {
  return value ? Json::Value(static_cast<Json::UInt64>(*value)) : Json::Value(Json::nullValue);
}

Json::Value optional_hex64(const std::optional<std::uint64_t>& value) {
  return value ? Json::Value(hex64(*value)) : Json::Value(Json::nullValue);
}

Json::Value string_list(const std::vector<std::string>& items) {
  Json::Value out(Json::arrayValue);
  for (const auto& item : items) {
    out.append(item);
  }
  return out;
}

std::string tcb_text(std::uint64_t raw, std::optional<snp::Product> product) {
  std::string out = snp::tcb_hex(raw);
  if (!product) {
    return out;
  }
  snp::Tcb tcb = snp::decode_tcb(raw, *product);
  out += " (";
  if (tcb.fmc) {
    out += "fmc " + std::to_string(*tcb.fmc) + ", ";
  }
  out += "bootloader " + std::to_string(tcb.bootloader) + ", tee " + std::to_string(tcb.tee) + ", snp " +
         std::to_string(tcb.snp) + ", microcode " + std::to_string(tcb.microcode) + ")";
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ",") + item;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

Json::Value report_json(const snp::Report& report, std::optional<snp::Product> product) {
  Json::Value out(Json::objectValue);
  out["version"] = report.version;
  out["guest_svn"] = report.guest_svn;
  Json::Value policy(Json::objectValue);
  policy["raw"] = hex64(report.policy);
  policy["abi_minor"] = static_cast<unsigned>(report.policy & 0xff);
  policy["abi_major"] = static_cast<unsigned>((report.policy >> 8) & 0xff);
  policy["flags"] = string_list(snp::policy_flags(report.policy));
  out["policy"] = policy;
  out["family_id"] = hex_encode(report.family_id);
  out["image_id"] = hex_encode(report.image_id);
  out["vmpl"] = report.vmpl;
  out["signature_algo"] = report.signature_algo;
  out["current_tcb"] = tcb_json(report.current_tcb, product);
  Json::Value platform(Json::objectValue);
  platform["raw"] = hex64(report.platform_info);
  platform["flags"] = string_list(snp::platform_info_flags(report.platform_info));
  out["platform_info"] = platform;
  Json::Value key_info(Json::objectValue);
  key_info["raw"] = report.key_info;
  key_info["author_key_en"] = report.author_key_enabled();
  key_info["mask_chip_key"] = report.mask_chip_key();
  key_info["signing_key"] = std::string(snp::signing_key_name(report.signing_key()));
  out["key_info"] = key_info;
  out["report_data"] = hex_encode(report.report_data);
  out["measurement"] = hex_encode(report.measurement);
  out["host_data"] = hex_encode(report.host_data);
  out["id_key_digest"] = hex_encode(report.id_key_digest);
  out["author_key_digest"] = hex_encode(report.author_key_digest);
  out["report_id"] = hex_encode(report.report_id);
  out["report_id_ma"] = hex_encode(report.report_id_ma);
  out["reported_tcb"] = tcb_json(report.reported_tcb, product);
  out["cpuid_fam_id"] = optional_number(report.cpuid_fam_id);
  out["cpuid_mod_id"] = optional_number(report.cpuid_mod_id);
  out["cpuid_step"] = optional_number(report.cpuid_step);
  out["chip_id"] = hex_encode(report.chip_id);
  out["committed_tcb"] = tcb_json(report.committed_tcb, product);
  out["current_build"] = report.current_build;
  out["current_minor"] = report.current_minor;
  out["current_major"] = report.current_major;
  out["committed_build"] = report.committed_build;
  out["committed_minor"] = report.committed_minor;
  out["committed_major"] = report.committed_major;
  out["launch_tcb"] = tcb_json(report.launch_tcb, product);
  out["launch_mit_vector"] = optional_hex64(report.launch_mit_vector);
  out["current_mit_vector"] = optional_hex64(report.current_mit_vector);
  Json::Value signature(Json::objectValue);
  signature["r"] = hex_encode(ByteView(report.signature_r).first(snp::kP384ComponentSize));
  signature["s"] = hex_encode(ByteView(report.signature_s).first(snp::kP384ComponentSize));
  out["signature"] = signature;
  out["product"] = product ? Json::Value(std::string(snp::product_name(*product))) : Json::Value(Json::nullValue);
  out["has_unknown_fields"] = report.has_unknown_fields;
  Json::Value findings(Json::arrayValue);
  for (const auto& finding : report.findings) {
    Json::Value item(Json::objectValue);
    item["field"] = finding.field;
    item["offset"] = static_cast<Json::UInt64>(finding.offset);
    item["detail"] = finding.detail;
    findings.append(item);
  }
  out["findings"] = findings;
  return out;
}

std::string report_text(const snp::Report& report, std::optional<snp::Product> product) {
  std::ostringstream out;
  auto line = [&](const char* name, const std::string& value) { out << name << ": " << value << "\n"; };
  auto optional_line = [&](const char* name, const std::optional<std::uint8_t>& value) {
    line(name, value ? std::to_string(*value) : std::string("absent in this version"));
  };
  line("version", std::to_string(report.version) + (report.has_unknown_fields ? " (newer than known; unknown fields)" : ""));
  line("product", product ? std::string(snp::product_name(*product)) : std::string("unknown (pass --product)"));
  line("guest_svn", std::to_string(report.guest_svn));
  line("policy", hex64(report.policy) + " [" + joined(snp::policy_flags(report.policy)) + "]");
  line("family_id", hex_encode(report.family_id));
  line("image_id", hex_encode(report.image_id));
  line("vmpl", std::to_string(report.vmpl));
  line("signature_algo", std::to_string(report.signature_algo));
  line("current_tcb", tcb_text(report.current_tcb, product));
  line("platform_info", hex64(report.platform_info) + " [" + joined(snp::platform_info_flags(report.platform_info)) + "]");
  line("key_info", std::to_string(report.key_info) + " (signing key " +
                       std::string(snp::signing_key_name(report.signing_key())) + ")");
  line("report_data", hex_encode(report.report_data));
  line("measurement", hex_encode(report.measurement));
  line("host_data", hex_encode(report.host_data));
  line("id_key_digest", hex_encode(report.id_key_digest));
  line("author_key_digest", hex_encode(report.author_key_digest));
  line("report_id", hex_encode(report.report_id));
  line("report_id_ma", hex_encode(report.report_id_ma));
  line("reported_tcb", tcb_text(report.reported_tcb, product));
  optional_line("cpuid_fam_id", report.cpuid_fam_id);
  optional_line("cpuid_mod_id", report.cpuid_mod_id);
  optional_line("cpuid_step", report.cpuid_step);
  line("chip_id", hex_encode(report.chip_id));
  line("committed_tcb", tcb_text(report.committed_tcb, product));
  line("current_version", std::to_string(report.current_major) + "." + std::to_string(report.current_minor) + "." +
                              std::to_string(report.current_build));
  line("committed_version", std::to_string(report.committed_major) + "." + std::to_string(report.committed_minor) +
                                "." + std::to_string(report.committed_build));
  line("launch_tcb", tcb_text(report.launch_tcb, product));
  line("launch_mit_vector", report.launch_mit_vector ? hex64(*report.launch_mit_vector) : "absent in this version");
  line("current_mit_vector", report.current_mit_vector ? hex64(*report.current_mit_vector) : "absent in this version");
  line("signature_r", hex_encode(ByteView(report.signature_r).first(snp::kP384ComponentSize)));
  line("signature_s", hex_encode(ByteView(report.signature_s).first(snp::kP384ComponentSize)));
  for (const auto& finding : report.findings) {
    line("finding", finding.field + ": " + finding.detail);
  }
  return out.str();
}

Json::Value checks_json(bool passed, std::optional<snp::Product> product, const std::vector<snp::Check>& checks,
                        const std::vector<std::string>& notes) {
  Json::Value out(Json::objectValue);
  out["passed"] = passed;
  out["product"] = product ? Json::Value(std::string(snp::product_name(*product))) : Json::Value(Json::nullValue);
  Json::Value items(Json::arrayValue);
  for (const auto& check : checks) {
    Json::Value item(Json::objectValue);
    item["name"] = check.name;
    item["status"] = std::string(snp::check_status_name(check.status));
    item["detail"] = check.detail;
    items.append(item);
  }
  out["checks"] = items;
  out["notes"] = string_list(notes);
  return out;
}

std::string checks_text(bool passed, const std::vector<snp::Check>& checks, const std::vector<std::string>& notes) {
  std::ostringstream out;
  for (const auto& check : checks) {
    char head[48];
    std::snprintf(head, sizeof head, "%-7s %-19s", std::string(snp::check_status_name(check.status)).c_str(),
                  check.name.c_str());
    out << head << " " << check.detail << "\n";
  }
  for (const auto& note : notes) {
    out << "note    " << note << "\n";
  }
  out << (passed ? "verification passed" : "verification FAILED") << "\n";
  return out.str();
}

Json::Value verification_json(const snp::Verification& verification) {
  return checks_json(verification.passed(), verification.product, verification.checks, verification.notes);
}

std::string verification_text(const snp::Verification& verification) {
  return checks_text(verification.passed(), verification.checks, verification.notes);
}

}  // namespace cvm::cli
