#include "client/region.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace cvm::client {
namespace {

// Region name -> code of its shared MAA instance, as listed in
// Azure/cvm-attestation-tools `cvm-attestation/attestation_uri_table.json`
// (commit 4e02b041, 59 public regions).
constexpr std::array<std::pair<std::string_view, std::string_view>, 59> kRegions{{
    {"australiacentral", "cau"},   {"australiacentral2", "cau2"}, {"australiaeast", "eau"},
    {"australiasoutheast", "sau"}, {"austriaeast", "ate"},        {"brazilsouth", "sbr"},
    {"brazilsoutheast", "sebr"},   {"canadacentral", "cac"},      {"canadaeast", "cae"},
    {"centralindia", "cin"},       {"centralus", "cus"},          {"centraluseuap", "cuse"},
    {"chilecentral", "clc"},       {"eastasia", "easia"},         {"eastus", "eus"},
    {"eastus2", "eus2"},           {"eastus2euap", "eus2e"},      {"francecentral", "frc"},
    {"francesouth", "frs"},        {"germanynorth", "den"},       {"germanywestcentral", "dewc"},
    {"israelcentral", "ilc"},      {"italynorth", "itn"},         {"japaneast", "jpe"},
    {"japanwest", "jpw"},          {"jioindiacentral", "jinc"},   {"jioindiawest", "jinw"},
    {"koreacentral", "krc"},       {"koreasouth", "krs"},         {"malaysiasouth", "mys"},
    {"mexicocentral", "mxc"},      {"newzealandnorth", "nzn"},    {"northcentralus", "ncus"},
    {"northeurope", "neu"},        {"norwayeast", "noe"},         {"norwaywest", "now"},
    {"polandcentral", "plc"},      {"southafricanorth", "san"},   {"southafricawest", "saw"},
    {"southcentralus", "scus"},    {"southindia", "sin"},         {"southeastasia", "sasia"},
    {"spaincentral", "esc"},       {"swedencentral", "sec"},      {"swedensouth", "ses"},
    {"switzerlandnorth", "swn"},   {"switzerlandwest", "sww"},    {"taiwannorth", "twn"},
    {"taiwannorthwest", "twnw"},   {"uaecentral", "uaec"},        {"uaenorth", "uaen"},
    {"uksouth", "uks"},            {"ukwest", "ukw"},             {"westcentralus", "wcus"},
    {"westeurope", "weu"},         {"westindia", "win"},          {"westus", "wus"},
    {"westus2", "wus2"},           {"westus3", "wus3"},
}};

}  // namespace

Result<std::string> shared_endpoint_for_region(std::string_view region) {
  std::string name;
  for (char c : region) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  auto found = std::find_if(kRegions.begin(), kRegions.end(), [&](const auto& entry) { return entry.first == name; });
  if (found == kRegions.end()) {
    return fail(Error{.code = Errc::not_found,
                      .message = "no shared attestation endpoint is known for region '" + std::string(region) + "'",
                      .hint = "set attestation.endpoint in the configuration"});
  }
  std::string code(found->second);
  return "https://shared" + code + "." + code + ".attest.azure.net";
}

std::size_t known_region_count() { return kRegions.size(); }

}  // namespace cvm::client
