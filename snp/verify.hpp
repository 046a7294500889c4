// Verification of an SEV-SNP report against its VCEK or VLEK and AMD's chain.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "snp/certs.hpp"
#include "snp/report.hpp"
#include "snp/tcb.hpp"

namespace cvm::snp {

enum class CheckStatus { pass, fail, skipped };

// One named check and its outcome. `detail` explains why it failed or was skipped,
// or what it confirmed.
struct Check {
  std::string name;
  CheckStatus status = CheckStatus::fail;
  std::string detail;
};

[[nodiscard]] std::string_view check_status_name(CheckStatus status);

struct VerifyOptions {
  Clock::time_point at = Clock::now();
  // Used only when neither the report's CPUID fields nor the VCEK name the product.
  std::optional<Product> configured_product;
};

struct Verification {
  std::vector<Check> checks;
  // Facts worth reporting that are not failures: non-zero reserved bytes,
  // CURRENT_TCB differing from REPORTED_TCB, fields of an unknown version.
  std::vector<std::string> notes;
  std::optional<Product> product;

  // True when no check failed and at least one passed.
  [[nodiscard]] bool passed() const;
};

// Determines the CPU product: from CPUID (version 3 and later), else from the
// VCEK's product name, else from configuration. A CPUID product that
// disagrees with the VCEK's product name is an error.
[[nodiscard]] Result<Product> resolve_product(const Report& report,
                                              const std::optional<std::string>& vcek_product_name,
                                              std::optional<Product> configured);

// Checks the ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F with the
// leaf certificate's key.
[[nodiscard]] Result<void> verify_report_signature(const Report& report, X509* leaf);

// Runs every check and collects the outcome of each; it does not stop at the
// first failure, so the caller sees all that is wrong.
[[nodiscard]] Verification verify_report(const Report& report, const Endorsement& endorsement,
                                         const TrustStore& trust, const VerifyOptions& options);

}  // namespace cvm::snp
