// The local HTTP API on a real Unix socket: request size limits and
// keep-alive, with a token cache whose attester returns a fixed token.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "common/fd.hpp"
#include "service/api.hpp"
#include "service/socket.hpp"

namespace cvm::service {
namespace {

constexpr const char* kToken = "eyJhbGciOiJSUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ.c2lnbmF0dXJl";

struct HttpResponse {
  int status = 0;
  std::string body;
};

// A minimal HTTP/1.1 client over one Unix socket connection; it parses the
// status line and Content-Length, which libmicrohttpd always sends here.
class Client {
 public:
  explicit Client(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    connected_ = fd_.valid() && ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }

  [[nodiscard]] bool connected() const { return connected_; }

  std::optional<HttpResponse> send(const std::string& request) {
    std::string_view rest(request);
    while (!rest.empty()) {
      ssize_t written = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (written <= 0) return std::nullopt;
      rest.remove_prefix(static_cast<std::size_t>(written));
    }
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    HttpResponse response;
    if (buffer_.size() < 12 || !buffer_.starts_with("HTTP/1.1 ")) return std::nullopt;
    response.status = std::atoi(buffer_.substr(9, 3).c_str());
    std::string head = buffer_.substr(0, head_end);
    std::size_t length_at = head.find("Content-Length: ");
    if (length_at == std::string::npos) return std::nullopt;
    std::size_t length = std::strtoul(head.c_str() + length_at + 16, nullptr, 10);
    while (buffer_.size() < head_end + 4 + length) {
      if (!fill()) return std::nullopt;
    }
    response.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return response;
  }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t received = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(received));
    return true;
  }

  UniqueFd fd_;
  bool connected_ = false;
  std::string buffer_;
};

std::string get_request(const std::string& path, const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n";
}

std::string post_request(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cvm-api-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    socket_path_ = directory_ + "/agent.sock";
    auto listening = open_listening_socket(SocketOptions{.path = socket_path_, .mode = 0600});
    ASSERT_TRUE(listening.has_value()) << listening.error().to_string();
    cache_.start();
    ASSERT_TRUE(cache_.wait_first_outcome(std::chrono::seconds(10)));
    auto started = api_.start(listening->fd.release());
    ASSERT_TRUE(started.has_value()) << started.error().to_string();
  }

  void TearDown() override {
    api_.stop();
    cache_.stop();
    std::filesystem::remove_all(directory_);
  }

  std::string directory_;
  std::string socket_path_;
  Metrics metrics_;
  TokenCache cache_{[](const std::optional<Bytes>&) -> Result<Token> {
                      return Token{.jwt = kToken,
                                   .issued_at = Clock::now(),
                                   .expires_at = Clock::now() + std::chrono::hours(1)};
                    },
                    TokenCacheOptions{}};
  ApiServer api_{cache_, metrics_, ApiOptions{}, ApiCallbacks{}, AccessPolicy::defaults()};
};

TEST_F(ApiServerTest, ServesCachedToken) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  auto response = client.send(get_request("/v1/token"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, kToken);
}

TEST_F(ApiServerTest, KeepAliveConnectionServesManyRequests) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 200; ++i) {
    auto response = client.send(get_request("/v1/token"));
    ASSERT_TRUE(response.has_value()) << "request " << i;
    ASSERT_EQ(response->status, 200) << "request " << i;
    ASSERT_EQ(response->body, kToken) << "request " << i;
  }
}

TEST_F(ApiServerTest, HeadersWithinPoolAccepted) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  auto response = client.send(get_request("/v1/token", "X-Padding: " + std::string(5000, 'p') + "\r\n"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(ApiServerTest, HeadersBeyondPoolRejected) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  auto response =
      client.send(get_request("/v1/token", "X-Padding: " + std::string(ApiOptions{}.connection_memory_limit, 'p') + "\r\n"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
}

// A body larger than the connection pool still reaches the handler whole:
// here a 60000-character nonce, rejected for its decoded length.
TEST_F(ApiServerTest, BodyLargerThanPoolReachesHandler) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  auto response = client.send(post_request("/v1/token", R"({"nonce":")" + std::string(60000, 'A') + R"("})"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find(R"("code":"invalid_argument")"), std::string::npos) << response->body;
  // The decoded length shows that all 60000 characters arrived.
  EXPECT_NE(response->body.find("45000 bytes"), std::string::npos) << response->body;
}

TEST_F(ApiServerTest, BodyOver64KiBRejected) {
  Client client(socket_path_);
  ASSERT_TRUE(client.connected());
  auto response = client.send(post_request("/v1/token", std::string(70000, 'a')));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
}

}  // namespace
}  // namespace cvm::service
