// RFC 3339 timestamps.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cvm {

using Clock = std::chrono::system_clock;

// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; the fraction is dropped.
[[nodiscard]] Result<Clock::time_point> parse_rfc3339(std::string_view text);
// Formats as `YYYY-MM-DDTHH:MM:SSZ` in UTC.
[[nodiscard]] std::string format_rfc3339(Clock::time_point time);

}  // namespace cvm
