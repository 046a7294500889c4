#include "client/retry.hpp"

#include <curl/curl.h>

#include <thread>

namespace cvm::client {

bool is_retryable(const Result<HttpResponse>& outcome) {
  if (!outcome) {
    const Error& error = outcome.error();
    if (error.code == Errc::invalid_argument || error.code == Errc::permission_denied ||
        error.code == Errc::invalid_data) {
      return false;
    }
    return true;
  }
  long status = outcome->status;
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int next_attempt,
                                        std::optional<std::chrono::seconds> retry_after,
                                        std::mt19937_64& random) {
  if (retry_after) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after);
  }
  long long ceiling = policy.base_delay.count();
  for (int i = 2; i < next_attempt && ceiling < policy.max_delay.count(); ++i) {
    ceiling *= 2;
  }
  ceiling = std::min<long long>(ceiling, policy.max_delay.count());
  std::uniform_int_distribution<long long> draw(0, std::max<long long>(ceiling, 0));
  return std::chrono::milliseconds(draw(random));
}

Result<HttpResponse> perform_with_retry(const HttpRequest& request, const HttpOptions& options,
                                        const RetryPolicy& policy, const RetryContext& context) {
  std::mt19937_64 random(context.seed != 0 ? context.seed : std::random_device{}());
  auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> outcome = fail(Errc::internal, "no attempt was made");
  for (int number = 1; number <= std::max(policy.max_attempts, 1); ++number) {
    outcome = perform(request, options);
    Attempt attempt{.number = number};
    if (outcome) {
      attempt.status = outcome->status;
    } else {
      attempt.error = outcome.error();
    }
    bool again = is_retryable(outcome) && number < policy.max_attempts;
    std::chrono::milliseconds delay{0};
    if (again) {
      delay = backoff_delay(policy, number + 1, outcome ? outcome->retry_after : std::nullopt, random);
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      again = elapsed + delay < policy.total_budget;
    }
    if (again) {
      attempt.next_delay = delay;
    }
    if (context.observer) {
      context.observer(attempt);
    }
    if (!again) {
      break;
    }
    if (context.sleep) {
      context.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
  return outcome;
}

}  // namespace cvm::client
