#include "vtpm/event_log.hpp"

namespace cvm::vtpm {

Result<std::optional<Bytes>> read_event_log(std::string_view path, std::size_t max_size) {
  // securityfs reports a size of 0 for the log, so the file is read to its end
  // rather than by its stat size.
  auto log = read_file(std::string(path), max_size);
  if (!log) {
    Error error = std::move(log).error();
    if (error.code == Errc::not_found) {
      return std::optional<Bytes>();
    }
    if (error.code == Errc::permission_denied) {
      error.hint = "the event log is readable by root only; run as root or pass a copy of the log";
    }
    return fail(std::move(error));
  }
  if (log->empty()) {
    return std::optional<Bytes>();
  }
  return std::optional<Bytes>(std::move(*log));
}

}  // namespace cvm::vtpm
