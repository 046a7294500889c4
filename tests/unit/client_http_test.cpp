// The libcurl layer and the retry policy against real HTTPS servers on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "client/http.hpp"
#include "client/retry.hpp"
#include "tests/peers/http_server.hpp"
#include "tests/support/test_ca.hpp"

namespace cvm::client {
namespace {

using peers::HttpServer;
using peers::Request;
using peers::Response;

const cvm::testing::TlsMaterial& tls() {
  static const cvm::testing::TlsMaterial material = *cvm::testing::make_loopback_tls();
  return material;
}

std::string write_ca_file() {
  static const std::string path = [] {
    std::string file = ::testing::TempDir() + "cvm-attest-test-ca.pem";
    FILE* out = std::fopen(file.c_str(), "w");
    std::fputs(tls().ca_pem.c_str(), out);
    std::fclose(out);
    return file;
  }();
  return path;
}

std::unique_ptr<HttpServer> start_https(peers::Handler handler) {
  auto server = HttpServer::start(
      peers::ServerOptions{.certificate_pem = tls().server_cert_pem, .key_pem = tls().server_key_pem},
      std::move(handler));
  EXPECT_TRUE(server.has_value()) << server.error().to_string();
  return std::move(*server);
}

HttpOptions trusting_options() {
  HttpOptions options;
  options.ca_file = write_ca_file();
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.total_timeout = std::chrono::milliseconds(5000);
  return options;
}

TEST(Http, HttpsWithConfiguredCa) {
  auto server = start_https([](const Request& request) {
    return Response{.body = request.method + " " + request.path + " " + request.header("x-probe")};
  });
  auto response = perform(HttpRequest{.url = server->base_url() + "/hello", .headers = {{"X-Probe", "1"}}},
                          trusting_options());
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /hello 1");
  EXPECT_EQ(response->header("content-type"), "application/json");
}

TEST(Http, UntrustedCertificateIsRejected) {
  auto server = start_https([](const Request&) { return Response{}; });
  HttpOptions options = trusting_options();
  options.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  auto response = perform(HttpRequest{.url = server->base_url() + "/"}, options);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::permission_denied);
  EXPECT_EQ(response.error().cause.source, Cause::Source::curl);
  EXPECT_FALSE(is_retryable(response));
}

TEST(Http, PostSendsBody) {
  auto server = start_https([](const Request& request) { return Response{.status = 201, .body = request.body}; });
  auto response = perform(HttpRequest{.method = "POST", .url = server->base_url() + "/echo", .body = "{\"a\":1}"},
                          trusting_options());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "{\"a\":1}");
}

TEST(Http, ResponseSizeCapIsEnforcedWhileReading) {
  auto server = start_https([](const Request&) { return Response{.body = std::string(2 << 20, 'x')}; });
  HttpOptions options = trusting_options();
  options.max_response_size = 1 << 20;
  auto response = perform(HttpRequest{.url = server->base_url() + "/big"}, options);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::invalid_data);
  EXPECT_FALSE(is_retryable(response));
}

TEST(Http, TotalTimeout) {
  auto server = start_https([](const Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return Response{};
  });
  HttpOptions options = trusting_options();
  options.total_timeout = std::chrono::milliseconds(300);
  auto response = perform(HttpRequest{.url = server->base_url() + "/slow"}, options);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::timed_out);
  EXPECT_TRUE(is_retryable(response));
}

TEST(Http, PlainHttpOnlyForLoopbackAndMetadata) {
  auto server = HttpServer::start(peers::ServerOptions{}, [](const Request&) { return Response{.body = "plain"}; });
  ASSERT_TRUE(server.has_value());
  auto response = perform(HttpRequest{.url = (*server)->base_url() + "/"}, HttpOptions{});
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  EXPECT_EQ(response->body, "plain");

  EXPECT_TRUE(is_loopback_url("http://127.0.0.1:8080/x"));
  EXPECT_TRUE(is_loopback_url("http://127.1.2.3/"));
  EXPECT_TRUE(is_loopback_url("http://localhost/"));
  EXPECT_TRUE(is_loopback_url("http://[::1]:99/"));
  EXPECT_FALSE(is_loopback_url("http://127.0.0.1.nip.io/"));
  EXPECT_FALSE(is_loopback_url("http://127.0.0.1@evil.example/"));
  EXPECT_FALSE(is_loopback_url("http://example.com/"));
  EXPECT_FALSE(is_loopback_url("http://169.254.169.254/"));
}

TEST(Http, RejectsOtherSchemes) {
  auto response = perform(HttpRequest{.url = "file:///etc/passwd"}, HttpOptions{});
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::invalid_argument);
}

struct RecordedRetries {
  std::vector<Attempt> attempts;
  std::vector<std::chrono::milliseconds> sleeps;

  RetryContext context() {
    return RetryContext{.observer = [this](const Attempt& attempt) { attempts.push_back(attempt); },
                        .sleep = [this](std::chrono::milliseconds delay) { sleeps.push_back(delay); },
                        .seed = 42};
  }
};

TEST(Retry, TransientStatusesAreRetriedUntilSuccess) {
  std::atomic<int> calls{0};
  auto server = start_https([&](const Request&) {
    int call = ++calls;
    if (call == 1) return Response{.status = 503};
    if (call == 2) return Response{.status = 408};
    return Response{.body = "ok"};
  });
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = server->base_url() + "/"}, trusting_options(),
                                     RetryPolicy{.max_attempts = 5}, recorded.context());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(recorded.attempts.size(), 3u);
  EXPECT_EQ(recorded.attempts[0].status, 503);
  EXPECT_EQ(recorded.attempts[1].status, 408);
  EXPECT_FALSE(recorded.attempts[2].next_delay.has_value());
  EXPECT_EQ(recorded.sleeps.size(), 2u);
}

TEST(Retry, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  auto server = start_https([&](const Request&) {
    ++calls;
    return Response{.status = 400, .body = "bad"};
  });
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = server->base_url() + "/"}, trusting_options(),
                                     RetryPolicy{}, recorded.context());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(calls.load(), 1);
}

TEST(Retry, RetryAfterIsHonoured) {
  std::atomic<int> calls{0};
  auto server = start_https([&](const Request&) {
    if (++calls == 1) {
      return Response{.status = 429, .headers = {{"Retry-After", "2"}}};
    }
    return Response{};
  });
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = server->base_url() + "/"}, trusting_options(),
                                     RetryPolicy{}, recorded.context());
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(recorded.sleeps.size(), 1u);
  EXPECT_EQ(recorded.sleeps[0], std::chrono::milliseconds(2000));
}

TEST(Retry, RetryAfterBeyondBudgetStops) {
  auto server = start_https([](const Request&) { return Response{.status = 503, .headers = {{"Retry-After", "600"}}}; });
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = server->base_url() + "/"}, trusting_options(),
                                     RetryPolicy{.total_budget = std::chrono::milliseconds(10000)},
                                     recorded.context());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(recorded.attempts.size(), 1u);
  EXPECT_TRUE(recorded.sleeps.empty());
}

TEST(Retry, AttemptsAreBounded) {
  std::atomic<int> calls{0};
  auto server = start_https([&](const Request&) {
    ++calls;
    return Response{.status = 500};
  });
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = server->base_url() + "/"}, trusting_options(),
                                     RetryPolicy{.max_attempts = 3}, recorded.context());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(calls.load(), 3);
}

TEST(Retry, ConnectionRefusedIsRetried) {
  std::uint16_t port = 0;
  {
    auto server = start_https([](const Request&) { return Response{}; });
    port = server->port();
  }
  RecordedRetries recorded;
  auto response = perform_with_retry(HttpRequest{.url = "https://127.0.0.1:" + std::to_string(port) + "/"},
                                     trusting_options(), RetryPolicy{.max_attempts = 2}, recorded.context());
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::unavailable);
  EXPECT_EQ(recorded.attempts.size(), 2u);
}

TEST(Retry, FullJitterStaysWithinTheCeiling) {
  RetryPolicy policy{.base_delay = std::chrono::milliseconds(100), .max_delay = std::chrono::milliseconds(1000)};
  std::mt19937_64 random(7);
  for (int attempt = 2; attempt < 12; ++attempt) {
    long long ceiling = std::min<long long>(100LL << (attempt - 2), 1000);
    for (int draw = 0; draw < 50; ++draw) {
      auto delay = backoff_delay(policy, attempt, std::nullopt, random);
      EXPECT_GE(delay.count(), 0);
      EXPECT_LE(delay.count(), ceiling) << "attempt " << attempt;
    }
  }
}

}  // namespace
}  // namespace cvm::client
