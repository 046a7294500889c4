#include "common/error.hpp"

#include <cstring>

namespace cvm {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::invalid_data: return "invalid_data";
    case Errc::unsupported: return "unsupported";
    case Errc::verification_failed: return "verification_failed";
    case Errc::not_found: return "not_found";
    case Errc::not_ready: return "not_ready";
    case Errc::permission_denied: return "permission_denied";
    case Errc::unavailable: return "unavailable";
    case Errc::timed_out: return "timed_out";
    case Errc::io: return "io";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out = message;
  if (field) {
    out += " (field " + *field;
    if (offset) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, " at offset 0x%zx", *offset);
      out += buffer;
    }
    out += ")";
  }
  if (!cause.text.empty()) {
    out += ": " + cause.text;
  }
  if (!hint.empty()) {
    out += ". " + hint;
  }
  return out;
}

Error errno_error(Errc code, std::string what, int errno_value) {
  Error error{.code = code, .message = std::move(what)};
  error.cause = Cause{.source = Cause::Source::errno_value,
                      .code = errno_value,
                      .text = std::strerror(errno_value)};
  return error;
}

}  // namespace cvm
