// Default attestation endpoints: the shared MAA instance of each Azure region.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cvm::client {

// Maps an Azure region name (as IMDS reports it, e.g. "eastus2") to its
// shared MAA endpoint, `https://shared<code>.<code>.attest.azure.net`.
// Unknown regions are Errc::not_found with a hint to configure the endpoint.
[[nodiscard]] Result<std::string> shared_endpoint_for_region(std::string_view region);

// Number of regions in the built-in table.
[[nodiscard]] std::size_t known_region_count();

}  // namespace cvm::client
