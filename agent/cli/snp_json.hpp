// JSON and text renderings of SEV-SNP reports and verification results.
#pragma once

#include <json/value.h>

#include <optional>
#include <string>

#include "snp/report.hpp"
#include "snp/verify.hpp"

namespace cvm::cli {

// Keys are the AMD ABI field names in snake_case; byte fields are lowercase
// hex; a field the report's version lacks is null. TCB values are decoded
// when the product is known, otherwise only their raw form is given.
[[nodiscard]] Json::Value report_json(const snp::Report& report, std::optional<snp::Product> product);
[[nodiscard]] std::string report_text(const snp::Report& report, std::optional<snp::Product> product);

// A table of named checks: `status name detail` lines, notes, then a verdict
// line; or the same as {"passed", "product", "checks", "notes"}.
[[nodiscard]] Json::Value checks_json(bool passed, std::optional<snp::Product> product,
                                      const std::vector<snp::Check>& checks, const std::vector<std::string>& notes);
[[nodiscard]] std::string checks_text(bool passed, const std::vector<snp::Check>& checks,
                                      const std::vector<std::string>& notes);

[[nodiscard]] Json::Value verification_json(const snp::Verification& verification);
[[nodiscard]] std::string verification_text(const snp::Verification& verification);

}  // namespace cvm::cli
