// cvm-loadgen: a closed-loop HTTP/1.1 load generator for Unix sockets. Each
// thread keeps one keep-alive connection and sends `GET PATH` back to back,
// so throughput and latency describe the server, not a request rate chosen
// here. Prints one JSON object with the request count, errors, throughput
// and latency percentiles in microseconds.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/fd.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// Response headers larger than this are treated as a protocol error.
constexpr std::size_t kMaxHeaderSize = 64 * 1024;
// Bodies larger than this are treated as a protocol error; tokens are a few KiB.
constexpr std::size_t kMaxBodySize = 16 * 1024 * 1024;

struct Options {
  std::string socket;
  std::string path = "/v1/token";
  unsigned connections = 1;
  double seconds = 10;
  double warmup_seconds = 1;
};

// What one connection thread measured inside the measured window.
struct ThreadResult {
  std::vector<std::uint32_t> latencies_us;  // successful and failed requests alike
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;        // non-200 responses and broken connections
  std::uint64_t reconnects = 0;
  std::size_t last_body_size = 0;  // of the last 200 response
  std::string first_error;
};

std::optional<cvm::UniqueFd> connect_unix(const std::string& path, std::string& error) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = "socket path '" + path + "' is longer than " + std::to_string(sizeof address.sun_path - 1) + " bytes";
    return std::nullopt;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  cvm::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = std::string("socket() failed: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    error = "cannot connect to '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

struct ResponseHead {
  int status = 0;
  std::size_t content_length = 0;
  bool close = false;  // the server closes the connection after this response
};

// Parses the status line and headers (the text before the blank line).
// Requires Content-Length, because the servers measured here send it and a
// response without it cannot be delimited on a keep-alive connection.
std::optional<ResponseHead> parse_head(std::string_view head, std::string& error) {
  std::size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK": the version, a space, three digits, then a space or the end.
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
    error = "invalid status line '" + std::string(status_line.substr(0, 80)) + "'";
    return std::nullopt;
  }
  ResponseHead parsed;
  std::string_view code = status_line.substr(9, 3);
  auto [end, result] = std::from_chars(code.data(), code.data() + code.size(), parsed.status);
  if (result != std::errc() || end != code.data() + code.size() || (status_line.size() > 12 && status_line[12] != ' ')) {
    error = "invalid status code in '" + std::string(status_line.substr(0, 80)) + "'";
    return std::nullopt;
  }
  parsed.close = status_line.starts_with("HTTP/1.0");

  bool have_length = false;
  std::size_t position = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (position < head.size()) {
    std::size_t next = head.find("\r\n", position);
    std::string_view line = head.substr(position, next == std::string_view::npos ? std::string_view::npos : next - position);
    position = next == std::string_view::npos ? head.size() : next + 2;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      error = "invalid header line '" + std::string(line.substr(0, 80)) + "'";
      return std::nullopt;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignore_case(name, "Content-Length")) {
      auto [value_end, value_result] = std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
      if (value_result != std::errc() || value_end != value.data() + value.size() || parsed.content_length > kMaxBodySize) {
        error = "invalid Content-Length '" + std::string(value.substr(0, 40)) + "'";
        return std::nullopt;
      }
      have_length = true;
    } else if (equals_ignore_case(name, "Transfer-Encoding")) {
      error = "Transfer-Encoding '" + std::string(value.substr(0, 40)) + "' is not supported";
      return std::nullopt;
    } else if (equals_ignore_case(name, "Connection")) {
      parsed.close = equals_ignore_case(value, "close");
    }
  }
  if (!have_length) {
    error = "the response has no Content-Length";
    return std::nullopt;
  }
  return parsed;
}

// One keep-alive connection and its receive buffer, which may hold bytes of
// the next response.
class Connection {
 public:
  explicit Connection(cvm::UniqueFd fd) : fd_(std::move(fd)) {}

  // Sends the request and reads one whole response. Returns its status and
  // sets `body_size`; on a transport or protocol error returns nothing and
  // sets `error`.
  std::optional<int> round_trip(std::string_view request, std::size_t& body_size, bool& close, std::string& error) {
    if (!write_all(fd_.get(), request)) {
      error = std::string("send failed: ") + std::strerror(errno);
      return std::nullopt;
    }
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHeaderSize) {
        error = "response headers exceed " + std::to_string(kMaxHeaderSize) + " bytes";
        return std::nullopt;
      }
      if (!fill(error)) return std::nullopt;
    }
    auto head = parse_head(std::string_view(buffer_).substr(0, head_end), error);
    if (!head) return std::nullopt;
    std::size_t total = head_end + 4 + head->content_length;
    while (buffer_.size() < total) {
      if (!fill(error)) return std::nullopt;
    }
    buffer_.erase(0, total);
    body_size = head->content_length;
    close = head->close;
    return head->status;
  }

 private:
  bool fill(std::string& error) {
    char chunk[16 * 1024];
    for (;;) {
      ssize_t received = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (received > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(received));
        return true;
      }
      if (received == 0) {
        error = "the server closed the connection";
        return false;
      }
      if (errno != EINTR) {
        error = std::string("recv failed: ") + std::strerror(errno);
        return false;
      }
    }
  }

  cvm::UniqueFd fd_;
  std::string buffer_;
};

void run_connection(const Options& options, SteadyClock::time_point measure_from, SteadyClock::time_point stop_at,
                    std::atomic<bool>& failed_to_connect, ThreadResult& result) {
  const std::string request = "GET " + options.path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::string error;
  std::optional<Connection> connection;
  result.latencies_us.reserve(1 << 16);
  while (SteadyClock::now() < stop_at) {
    if (!connection) {
      auto fd = connect_unix(options.socket, error);
      if (!fd) {
        // A failure on the first connect means a wrong path or a server that
        // is down: stop instead of spinning.
        if (result.requests == 0 && result.reconnects == 0) {
          failed_to_connect = true;
          result.first_error = error;
          return;
        }
        result.errors++;
        if (result.first_error.empty()) result.first_error = error;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      connection.emplace(std::move(*fd));
      result.reconnects++;
    }
    std::size_t body_size = 0;
    bool close = false;
    SteadyClock::time_point sent = SteadyClock::now();
    std::optional<int> status = connection->round_trip(request, body_size, close, error);
    SteadyClock::time_point received = SteadyClock::now();
    if (!status || close) {
      connection.reset();
    }
    // Only requests sent inside the measured window count.
    if (sent < measure_from || received > stop_at) {
      continue;
    }
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(received - sent).count();
    result.latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(latency, UINT32_MAX)));
    result.requests++;
    if (!status || *status != 200) {
      result.errors++;
      if (result.first_error.empty()) {
        result.first_error = status ? "HTTP status " + std::to_string(*status) : error;
      }
    } else {
      result.last_body_size = body_size;
    }
  }
}

// The nearest-rank percentile of sorted values.
std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int run(const Options& options) {
  std::atomic<bool> failed_to_connect{false};
  std::vector<ThreadResult> results(options.connections);
  std::vector<std::thread> threads;
  auto start = SteadyClock::now();
  auto measure_from = start + std::chrono::duration_cast<SteadyClock::duration>(
                                  std::chrono::duration<double>(options.warmup_seconds));
  auto stop_at = measure_from + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(options.seconds));
  threads.reserve(options.connections);
  for (unsigned i = 0; i < options.connections; ++i) {
    threads.emplace_back(run_connection, std::cref(options), measure_from, stop_at, std::ref(failed_to_connect),
                         std::ref(results[i]));
  }
  for (auto& thread : threads) {
    thread.join();
  }
  if (failed_to_connect) {
    for (const auto& result : results) {
      if (!result.first_error.empty()) {
        std::cerr << "cvm-loadgen: " << result.first_error << "\n";
        break;
      }
    }
    return kExitFailure;
  }

  std::vector<std::uint32_t> latencies;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t reconnects = 0;
  std::size_t body_size = 0;
  std::string first_error;
  for (auto& result : results) {
    latencies.insert(latencies.end(), result.latencies_us.begin(), result.latencies_us.end());
    requests += result.requests;
    errors += result.errors;
    reconnects += result.reconnects;
    body_size = std::max(body_size, result.last_body_size);
    if (first_error.empty()) first_error = result.first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  double throughput = static_cast<double>(requests) / options.seconds;

  std::printf(
      "{\"socket\": %s, \"path\": %s, \"connections\": %u, \"warmup_seconds\": %.3f, \"duration_seconds\": %.3f, "
      "\"requests\": %llu, \"errors\": %llu, \"connects\": %llu, \"body_bytes\": %zu, \"throughput_rps\": %.1f, "
      "\"latency_us\": {\"p50\": %u, \"p90\": %u, \"p99\": %u, \"max\": %u}, \"first_error\": %s}\n",
      json_string(options.socket).c_str(), json_string(options.path).c_str(), options.connections,
      options.warmup_seconds, options.seconds, static_cast<unsigned long long>(requests),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(reconnects), body_size, throughput,
      percentile(latencies, 0.50), percentile(latencies, 0.90), percentile(latencies, 0.99),
      latencies.empty() ? 0U : latencies.back(), first_error.empty() ? "null" : json_string(first_error).c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cvm-loadgen: sends GET requests back to back over keep-alive HTTP/1.1 connections to a Unix socket "
               "and prints throughput and latency percentiles as JSON",
               "cvm-loadgen"};
  Options options;
  app.add_option("--socket", options.socket, "Unix socket of the server")->required();
  app.add_option("--path", options.path, "request path")->capture_default_str();
  app.add_option("--connections", options.connections, "concurrent connections, one thread each")
      ->check(CLI::Range(1U, 4096U))
      ->capture_default_str();
  app.add_option("--seconds", options.seconds, "length of the measured window in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup-seconds", options.warmup_seconds,
                 "seconds of load before the measured window; their requests are not counted")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.footer("Exit status: 0 measured (errors are counted in the output), 1 cannot connect, 2 usage error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }
  if (!options.path.starts_with('/') || options.path.find_first_of(" \r\n") != std::string::npos) {
    std::cerr << "cvm-loadgen: --path must start with '/' and contain no spaces or line breaks, got '"
              << options.path << "'\n";
    return kExitUsage;
  }
  return run(options);
}
