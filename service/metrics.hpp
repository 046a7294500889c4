// Counters and histograms exposed at /metrics in Prometheus text format.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/time.hpp"

namespace cvm::service {

class Metrics {
 public:
  void record_attestation(const std::string& protocol, bool success, std::chrono::milliseconds duration);
  void record_http(const std::string& path, int status);
  void record_refused_caller();
  void set_token_expiry(std::optional<Clock::time_point> expiry);

  // Renders every metric; cache hits, misses and refresh failures come from
  // the token cache at render time.
  [[nodiscard]] std::string render(std::uint64_t cache_hits, std::uint64_t cache_misses,
                                   std::uint64_t refresh_failures) const;

 private:
  static constexpr std::array<double, 10> kBuckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> attestations_;  // (protocol, result)
  std::array<std::uint64_t, kBuckets.size()> duration_buckets_{};
  std::uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  std::map<std::pair<std::string, int>, std::uint64_t> http_requests_;
  std::uint64_t refused_callers_ = 0;
  std::optional<Clock::time_point> token_expiry_;
};

}  // namespace cvm::service
