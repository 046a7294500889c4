// Bounded retries with exponential backoff and full jitter.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>

#include "client/http.hpp"

namespace cvm::client {

struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30000};
  // No attempt starts after this much time has passed since the first one.
  std::chrono::milliseconds total_budget{60000};
};

// The outcome of one attempt, reported to the caller for logging.
struct Attempt {
  int number = 0;                      // 1-based
  std::optional<long> status;          // HTTP status when a response arrived
  std::optional<Error> error;          // transport error otherwise
  std::optional<std::chrono::milliseconds> next_delay;  // set when another attempt follows
};

// True for outcomes worth repeating: transport failures other than
// configuration and TLS-trust errors, and HTTP 408, 429 and 5xx.
[[nodiscard]] bool is_retryable(const Result<HttpResponse>& outcome);

// The delay before attempt `next_attempt` (2-based): a uniform draw from
// [0, min(max_delay, base_delay * 2^(next_attempt-2))], or Retry-After when the
// response carries one.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int next_attempt,
                                                      std::optional<std::chrono::seconds> retry_after,
                                                      std::mt19937_64& random);

using Sleeper = std::function<void(std::chrono::milliseconds)>;
using AttemptObserver = std::function<void(const Attempt&)>;

struct RetryContext {
  AttemptObserver observer;  // may be empty
  Sleeper sleep;             // empty means std::this_thread::sleep_for
  std::uint64_t seed = 0;    // 0 means a random seed
};

// Performs the request until it succeeds with a non-retryable status, or the
// attempts or the time budget run out. Returns the last response (whatever
// its status) or the last transport error. A Retry-After longer than the
// remaining budget ends the retries at once.
[[nodiscard]] Result<HttpResponse> perform_with_retry(const HttpRequest& request, const HttpOptions& options,
                                                      const RetryPolicy& policy, const RetryContext& context = {});

}  // namespace cvm::client
