// Feeds arbitrary bytes to the TCG event log parser, then replays every
// bank and describes every event of a log that parses.
#include <cstddef>
#include <cstdint>

#include "report/eventlog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto log = cvm::report::parse_event_log(cvm::ByteView(data, size));
  if (!log) {
    return 0;
  }
  for (const cvm::report::DeclaredAlgorithm& bank : log->banks()) {
    (void)cvm::report::replay_event_log(*log, bank.algorithm_id);
  }
  for (const cvm::report::Event& event : log->events) {
    (void)cvm::report::describe_event(event);
    (void)cvm::report::event_type_name(event.event_type);
  }
  return 0;
}
