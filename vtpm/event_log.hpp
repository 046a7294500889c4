// The measured-boot (TCG) event log as the kernel exposes it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::vtpm {

inline constexpr std::string_view kDefaultEventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements";
// Logs seen in practice are tens of kilobytes; anything past this is not a log.
inline constexpr std::size_t kMaxEventLogSize = 16 * 1024 * 1024;

// Reads the raw event log. Returns nullopt when the file does not exist or is
// empty (no securityfs, no TPM driver, or firmware that logs nothing), which a
// caller may treat as "no log". Other failures, such as a log that only root
// may read, are errors.
[[nodiscard]] Result<std::optional<Bytes>> read_event_log(std::string_view path = kDefaultEventLogPath,
                                                          std::size_t max_size = kMaxEventLogSize);

}  // namespace cvm::vtpm
