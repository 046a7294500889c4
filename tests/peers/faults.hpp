// Faults a test peer injects on request: status codes (with or without
// Retry-After), delays, and truncated, malformed or oversized bodies.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/peers/http_server.hpp"

namespace cvm::peers {

enum class BodyFault { none, truncated, malformed, oversized };

struct Fault {
  std::string path_prefix;          // applies to requests whose path starts with this
  int status = 0;                   // 0 keeps the peer's own status
  std::optional<int> retry_after;   // seconds
  std::chrono::milliseconds delay{0};
  BodyFault body = BodyFault::none;
  int remaining = 1;                // how many requests it affects; -1 means all
};

// Holds the active faults of one peer. Thread-safe.
class FaultInjector {
 public:
  void add(Fault fault);
  void clear();

  // Wraps a handler: applies a matching fault before or after it runs.
  [[nodiscard]] Handler wrap(Handler inner);

  // Handles `POST /control/faults` (body: a JSON fault, or {"clear": true}).
  // Returns nullopt for other paths.
  [[nodiscard]] std::optional<Response> control(const Request& request);

 private:
  std::optional<Fault> take(const std::string& path);

  std::mutex mutex_;
  std::vector<Fault> faults_;
};

}  // namespace cvm::peers
