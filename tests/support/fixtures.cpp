#include "tests/support/fixtures.hpp"

#include <sys/stat.h>

#include <cstdlib>

namespace cvm::testing {

std::optional<std::string> fixtures_dir() {
  const char* value = std::getenv("CVM_ATTEST_FIXTURES");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  struct stat info {};
  if (::stat(value, &info) != 0 || !S_ISDIR(info.st_mode)) {
    return std::nullopt;
  }
  return std::string(value);
}

Bytes read_fixture(const std::string& relative_path) {
  auto directory = fixtures_dir();
  if (!directory) {
    ADD_FAILURE() << "fixtures directory not available";
    return {};
  }
  auto data = read_file(*directory + "/" + relative_path, 16 << 20);
  if (!data) {
    ADD_FAILURE() << "cannot read fixture " << relative_path << ": " << data.error().to_string();
    return {};
  }
  return *data;
}

}  // namespace cvm::testing
