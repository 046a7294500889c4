// The token cache's rules. The attester here is a scripted function standing
// in for the TPM and the service, because the cases need failures and delays
// on demand. The daemon end-to-end test runs the real attester.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "service/token_cache.hpp"

namespace cvm::service {
namespace {

using namespace std::chrono_literals;

Token token_valid_for(Clock::duration lifetime) {
  Clock::time_point now = Clock::now();
  return Token{.jwt = "header.payload.signature", .issued_at = now, .expires_at = now + lifetime};
}

TokenCacheOptions fast_options() {
  return TokenCacheOptions{.retry_base = 50ms, .retry_max = 100ms, .max_in_flight = 2, .seed = 7};
}

TEST(TokenCache, NoTokenBeforeFirstAttestation) {
  TokenCache cache([](const std::optional<Bytes>&) -> Result<Token> { return token_valid_for(1h); }, fast_options());
  auto before = cache.current();
  ASSERT_FALSE(before.has_value());
  EXPECT_EQ(before.error().code, Errc::unavailable);
  cache.start();
  ASSERT_TRUE(cache.wait_first_outcome(5s));
  auto after = cache.current();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->jwt, "header.payload.signature");
}

TEST(TokenCache, ExpiredTokenIsNeverServed) {
  std::atomic<int> calls{0};
  TokenCache cache(
      [&](const std::optional<Bytes>&) -> Result<Token> {
        if (++calls == 1) return token_valid_for(300ms);
        return fail(Errc::unavailable, "service down");
      },
      fast_options());
  cache.start();
  ASSERT_TRUE(cache.wait_first_outcome(5s));
  ASSERT_TRUE(cache.current().has_value());
  std::this_thread::sleep_for(400ms);
  auto expired = cache.current();
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, Errc::unavailable);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  EXPECT_NE(expired.error().message.find("service down"), std::string::npos);
  EXPECT_GE(cache.status().refresh_failures, 1u);
}

TEST(TokenCache, FailedRefreshKeepsTheValidToken) {
  std::atomic<int> calls{0};
  TokenCache cache(
      [&](const std::optional<Bytes>&) -> Result<Token> {
        if (++calls == 1) return token_valid_for(1h);
        return fail(Errc::unavailable, "service down");
      },
      fast_options());
  cache.start();
  ASSERT_TRUE(cache.wait_first_outcome(5s));
  cache.refresh_now();
  for (int i = 0; i < 100 && cache.status().refresh_failures == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CacheStatus status = cache.status();
  EXPECT_GE(status.refresh_failures, 1u);
  ASSERT_TRUE(status.last_error.has_value());
  EXPECT_TRUE(status.next_attempt.has_value());
  EXPECT_TRUE(cache.current().has_value());
}

TEST(TokenCache, RefreshIsScheduledWithinTheWindow) {
  TokenCache cache([](const std::optional<Bytes>&) -> Result<Token> { return token_valid_for(100s); },
                   TokenCacheOptions{.seed = 11});
  cache.start();
  ASSERT_TRUE(cache.wait_first_outcome(5s));
  CacheStatus status = cache.status();
  ASSERT_TRUE(status.next_attempt.has_value());
  ASSERT_TRUE(status.token.has_value());
  auto offset = *status.next_attempt - status.token->issued_at;
  EXPECT_GE(offset, 70s);
  EXPECT_LE(offset, 90s);
}

TEST(TokenCache, IdenticalNoncesShareOneAttestation) {
  std::atomic<int> nonce_calls{0};
  TokenCache cache(
      [&](const std::optional<Bytes>& nonce) -> Result<Token> {
        if (nonce) {
          ++nonce_calls;
          std::this_thread::sleep_for(300ms);
        }
        return token_valid_for(1h);
      },
      fast_options());
  const Bytes nonce{1, 2, 3};
  std::vector<std::thread> callers;
  std::atomic<int> successes{0};
  for (int i = 0; i < 20; ++i) {
    callers.emplace_back([&] {
      if (cache.fresh(nonce)) ++successes;
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(successes.load(), 20);
  EXPECT_EQ(nonce_calls.load(), 1);
}

TEST(TokenCache, TooManyAttestationsAreRejected) {
  std::atomic<bool> release{false};
  TokenCache cache(
      [&](const std::optional<Bytes>&) -> Result<Token> {
        while (!release) std::this_thread::sleep_for(5ms);
        return token_valid_for(1h);
      },
      fast_options());
  std::thread first([&] { (void)cache.fresh(Bytes{1}); });
  std::thread second([&] { (void)cache.fresh(Bytes{2}); });
  std::this_thread::sleep_for(100ms);
  auto third = cache.fresh(Bytes{3});
  release = true;
  first.join();
  second.join();
  ASSERT_FALSE(third.has_value());
  EXPECT_EQ(third.error().code, Errc::unavailable);
  EXPECT_EQ(third.error().field, "too_many_requests");
}

}  // namespace
}  // namespace cvm::service
