#include "service/token_cache.hpp"

namespace cvm::service {

TokenCache::TokenCache(Attester attester, TokenCacheOptions options, AttestationObserver observer)
    : attester_(std::move(attester)),
      options_(options),
      observer_(std::move(observer)),
      random_(options.seed != 0 ? options.seed : std::random_device{}()) {}

TokenCache::~TokenCache() { stop(); }

void TokenCache::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { refresh_loop(); });
}

void TokenCache::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool TokenCache::wait_first_outcome(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return first_outcome_.wait_for(lock, timeout, [this] { return have_outcome_; });
}

void TokenCache::refresh_now() {
  {
    std::lock_guard lock(mutex_);
    refresh_requested_ = true;
  }
  wake_.notify_all();
}

Result<Token> TokenCache::attest(const std::optional<Bytes>& nonce, bool default_token) {
  std::lock_guard serial(attest_mutex_);
  auto started = std::chrono::steady_clock::now();
  Result<Token> outcome = attester_(nonce);
  auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  {
    std::lock_guard lock(mutex_);
    ++status_.attestations;
    if (!outcome) {
      ++status_.failures;
    }
  }
  if (observer_) {
    observer_(default_token, duration, outcome);
  }
  return outcome;
}

std::chrono::milliseconds TokenCache::backoff() {
  long long ceiling = options_.retry_base.count();
  for (int i = 1; i < consecutive_failures_ && ceiling < options_.retry_max.count(); ++i) {
    ceiling *= 2;
  }
  ceiling = std::min<long long>(ceiling, options_.retry_max.count());
  // Full jitter, but never less than a tenth of the ceiling so a failing
  // service is not hammered by an unlucky draw.
  std::uniform_int_distribution<long long> draw(ceiling / 10, std::max<long long>(ceiling, 1));
  return std::chrono::milliseconds(draw(random_));
}

void TokenCache::refresh_loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, refresh_at_, [this] { return stopping_ || refresh_requested_; });
      if (stopping_) {
        return;
      }
      if (!refresh_requested_ && Clock::now() < refresh_at_) {
        continue;
      }
      refresh_requested_ = false;
      status_.last_attempt = Clock::now();
      status_.next_attempt.reset();
    }

    Result<Token> outcome = attest(std::nullopt, true);

    std::lock_guard lock(mutex_);
    Clock::time_point now = Clock::now();
    if (outcome) {
      consecutive_failures_ = 0;
      auto lifetime = outcome->expires_at - outcome->issued_at;
      if (lifetime <= Clock::duration::zero()) {
        lifetime = outcome->expires_at - now;
      }
      std::uniform_real_distribution<double> fraction(options_.refresh_from, options_.refresh_to);
      refresh_at_ = outcome->issued_at + std::chrono::duration_cast<Clock::duration>(lifetime * fraction(random_));
      if (refresh_at_ <= now) {
        refresh_at_ = now + options_.retry_base;
      }
      status_.token = std::move(*outcome);
      status_.last_success = now;
      status_.last_error.reset();
    } else {
      ++consecutive_failures_;
      ++status_.refresh_failures;
      refresh_at_ = now + backoff();
      status_.last_error = outcome.error();
    }
    status_.next_attempt = refresh_at_;
    if (!have_outcome_) {
      have_outcome_ = true;
      first_outcome_.notify_all();
    }
  }
}

Result<Token> TokenCache::current() {
  std::lock_guard lock(mutex_);
  Clock::time_point now = Clock::now();
  if (status_.token && now < status_.token->expires_at) {
    ++status_.cache_hits;
    return *status_.token;
  }
  ++status_.cache_misses;
  std::string reason = status_.token ? "the cached token expired at " + format_rfc3339(status_.token->expires_at)
                                     : std::string("no token has been obtained yet");
  if (status_.last_error) {
    reason += "; last attestation failed: " + status_.last_error->to_string();
  }
  Error error{.code = Errc::unavailable, .message = reason};
  if (status_.next_attempt) {
    error.hint = "next attempt at " + format_rfc3339(*status_.next_attempt);
  }
  return fail(std::move(error));
}

Result<Token> TokenCache::fresh(const Bytes& nonce) {
  std::shared_future<Result<Token>> shared;
  std::promise<Result<Token>> promise;
  bool owner = false;
  {
    std::lock_guard lock(mutex_);
    auto found = in_flight_.find(nonce);
    if (found != in_flight_.end()) {
      shared = found->second;
    } else {
      if (static_cast<int>(in_flight_.size()) >= options_.max_in_flight) {
        return fail(Error{.code = Errc::unavailable,
                          .message = "too many attestations in progress (" + std::to_string(in_flight_.size()) + ")",
                          .hint = "retry in a few seconds",
                          .field = "too_many_requests"});
      }
      shared = promise.get_future().share();
      in_flight_.emplace(nonce, shared);
      owner = true;
    }
  }
  if (!owner) {
    return shared.get();
  }
  Result<Token> outcome = attest(nonce, false);
  promise.set_value(outcome);
  std::lock_guard lock(mutex_);
  in_flight_.erase(nonce);
  return outcome;
}

CacheStatus TokenCache::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace cvm::service
