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

[[nodiscard]] Json::Value verification_json(const snp::Verification& verification);
[[nodiscard]] std::string verification_text(const snp::Verification& verification);

}  // namespace cvm::cli
