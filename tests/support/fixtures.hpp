// Access to the third-party fixture files, found through CVM_ATTEST_FIXTURES.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/bytes.hpp"

namespace cvm::testing {

// The fixture directory, or nullopt when CVM_ATTEST_FIXTURES is unset or
// does not name a directory.
[[nodiscard]] std::optional<std::string> fixtures_dir();

// Reads a file under the fixture directory; fails the test when it is missing.
[[nodiscard]] Bytes read_fixture(const std::string& relative_path);

}  // namespace cvm::testing

// Skips the current test when the fixtures are not available.
#define CVM_REQUIRE_FIXTURES()                                                             \
  do {                                                                                    \
    if (!::cvm::testing::fixtures_dir()) {                                                \
      GTEST_SKIP() << "CVM_ATTEST_FIXTURES is not set to the fixtures directory; "        \
                      "scripts/test sets it when ../shared/fixtures exists";              \
    }                                                                                     \
  } while (false)
