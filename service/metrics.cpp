#include "service/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace cvm::service {

void Metrics::record_attestation(const std::string& protocol, bool success, std::chrono::milliseconds duration) {
  std::lock_guard lock(mutex_);
  ++attestations_[{protocol, success ? "success" : "failure"}];
  double seconds = static_cast<double>(duration.count()) / 1000.0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++duration_buckets_[i];
    }
  }
  ++duration_count_;
  duration_sum_ += seconds;
}

void Metrics::record_http(const std::string& path, int status) {
  std::lock_guard lock(mutex_);
  ++http_requests_[{path, status}];
}

void Metrics::record_refused_caller() {
  std::lock_guard lock(mutex_);
  ++refused_callers_;
}

void Metrics::set_token_expiry(std::optional<Clock::time_point> expiry) {
  std::lock_guard lock(mutex_);
  token_expiry_ = expiry;
}

std::string Metrics::render(std::uint64_t cache_hits, std::uint64_t cache_misses,
                            std::uint64_t refresh_failures) const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP cvm_attest_attestations_total Attestations by protocol and result.\n"
      << "# TYPE cvm_attest_attestations_total counter\n";
  for (const auto& [key, count] : attestations_) {
    out << "cvm_attest_attestations_total{protocol=\"" << key.first << "\",result=\"" << key.second << "\"} "
        << count << "\n";
  }
  out << "# HELP cvm_attest_attestation_duration_seconds Time from evidence collection to a verified token.\n"
      << "# TYPE cvm_attest_attestation_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", kBuckets[i]);
    out << "cvm_attest_attestation_duration_seconds_bucket{le=\"" << bound << "\"} " << duration_buckets_[i] << "\n";
  }
  out << "cvm_attest_attestation_duration_seconds_bucket{le=\"+Inf\"} " << duration_count_ << "\n"
      << "cvm_attest_attestation_duration_seconds_sum " << duration_sum_ << "\n"
      << "cvm_attest_attestation_duration_seconds_count " << duration_count_ << "\n";
  out << "# HELP cvm_attest_token_expiry_timestamp_seconds Expiry of the cached default token (Unix time).\n"
      << "# TYPE cvm_attest_token_expiry_timestamp_seconds gauge\n"
      << "cvm_attest_token_expiry_timestamp_seconds "
      << (token_expiry_ ? std::chrono::duration_cast<std::chrono::seconds>(token_expiry_->time_since_epoch()).count() : 0)
      << "\n";
  out << "# HELP cvm_attest_token_cache_hits_total Default-token requests served from the cache.\n"
      << "# TYPE cvm_attest_token_cache_hits_total counter\n"
      << "cvm_attest_token_cache_hits_total " << cache_hits << "\n"
      << "# HELP cvm_attest_token_cache_misses_total Default-token requests with no valid token.\n"
      << "# TYPE cvm_attest_token_cache_misses_total counter\n"
      << "cvm_attest_token_cache_misses_total " << cache_misses << "\n"
      << "# HELP cvm_attest_refresh_failures_total Failed refreshes of the default token.\n"
      << "# TYPE cvm_attest_refresh_failures_total counter\n"
      << "cvm_attest_refresh_failures_total " << refresh_failures << "\n";
  out << "# HELP cvm_attest_http_requests_total Local API requests by path and status.\n"
      << "# TYPE cvm_attest_http_requests_total counter\n";
  for (const auto& [key, count] : http_requests_) {
    out << "cvm_attest_http_requests_total{path=\"" << key.first << "\",status=\"" << key.second << "\"} " << count
        << "\n";
  }
  out << "# HELP cvm_attest_refused_callers_total Requests refused by the access rules.\n"
      << "# TYPE cvm_attest_refused_callers_total counter\n"
      << "cvm_attest_refused_callers_total " << refused_callers_ << "\n";
  return out.str();
}

}  // namespace cvm::service
