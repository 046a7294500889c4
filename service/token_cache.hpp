// The agent's token cache: the default token refreshed ahead of expiry, and
// fresh nonce-bound tokens with single-flight and a bound on concurrency.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace cvm::service {

struct Token {
  std::string jwt;
  Clock::time_point issued_at;
  Clock::time_point expires_at;
};

// Produces a verified token; with a nonce, one whose claims and hardware
// evidence carry it. Calls are serialised by the cache, so the attester may
// assume exclusive use of the TPM.
using Attester = std::function<Result<Token>(const std::optional<Bytes>& nonce)>;

struct TokenCacheOptions {
  // The default token is refreshed at a uniformly random point in this
  // fraction of its lifetime.
  double refresh_from = 0.70;
  double refresh_to = 0.90;
  // Capped exponential backoff with full jitter after a failed refresh.
  std::chrono::milliseconds retry_base{5000};
  std::chrono::milliseconds retry_max{300000};
  // Attestations for nonce requests running or queued at once; more are rejected.
  int max_in_flight = 4;
  std::uint64_t seed = 0;  // 0 means random
};

struct CacheStatus {
  std::optional<Token> token;  // the default token, even if expired
  std::optional<Clock::time_point> last_attempt;
  std::optional<Clock::time_point> last_success;
  std::optional<Clock::time_point> next_attempt;
  std::optional<Error> last_error;
  std::uint64_t attestations = 0;
  std::uint64_t failures = 0;
  std::uint64_t refresh_failures = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
};

// Observes each attestation: whether it was for the default token, the
// duration and the outcome. The caller logs and counts it.
using AttestationObserver =
    std::function<void(bool default_token, std::chrono::milliseconds duration, const Result<Token>& outcome)>;

class TokenCache {
 public:
  TokenCache(Attester attester, TokenCacheOptions options, AttestationObserver observer = {});
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Starts the background refresh thread; the first attestation begins at once.
  void start();
  // Stops the thread; an attestation in progress is allowed to finish.
  void stop();
  // Blocks until the first default token or the first failure, or the timeout.
  bool wait_first_outcome(std::chrono::milliseconds timeout);

  // The default token if it has not expired. Otherwise Errc::unavailable,
  // naming the reason and the time of the next attempt; an expired token is
  // never returned.
  [[nodiscard]] Result<Token> current();

  // A fresh token bound to `nonce`. Concurrent calls with the same nonce
  // share one attestation. More than max_in_flight distinct attestations at
  // once give Errc::unavailable with field "too_many_requests".
  [[nodiscard]] Result<Token> fresh(const Bytes& nonce);

  [[nodiscard]] CacheStatus status() const;
  // Asks the refresh thread to attest now (for example after a reload).
  void refresh_now();

 private:
  Result<Token> attest(const std::optional<Bytes>& nonce, bool default_token);
  void refresh_loop();
  std::chrono::milliseconds backoff();

  Attester attester_;
  TokenCacheOptions options_;
  AttestationObserver observer_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable first_outcome_;
  bool stopping_ = false;
  bool refresh_requested_ = false;
  bool have_outcome_ = false;
  CacheStatus status_;
  Clock::time_point refresh_at_{};
  int consecutive_failures_ = 0;
  std::mt19937_64 random_;

  std::mutex attest_mutex_;  // serialises TPM work
  std::map<Bytes, std::shared_future<Result<Token>>> in_flight_;
  std::thread thread_;
};

}  // namespace cvm::service
