// A small HTTP(S) server on loopback for the test peers, on libmicrohttpd.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cvm::peers {

struct Request {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // raw, without '?'
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  [[nodiscard]] std::string header(const std::string& lower_case_name) const;
  [[nodiscard]] std::string query_value(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string certificate_pem;  // empty serves plain http
  std::string key_pem;
  std::uint16_t port = 0;       // 0 picks a free port
  std::size_t max_body = 4 << 20;
};

// Serves on 127.0.0.1 with a thread per connection, so a handler that sleeps
// (to inject a delay) blocks only its own client.
class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(const ServerOptions& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string base_url() const;

  struct State;  // shared with libmicrohttpd's callbacks

 private:
  HttpServer() = default;
  std::unique_ptr<State> state_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace cvm::peers
