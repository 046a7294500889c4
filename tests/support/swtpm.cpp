#include "tests/support/swtpm.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "common/bytes.hpp"
#include "common/fd.hpp"

namespace cvm::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopTimeout = std::chrono::seconds(3);
constexpr int kPortAttempts = 8;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Binds a loopback socket to `port` (0 picks one) and returns the bound port.
std::optional<std::uint16_t> try_bind(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return std::nullopt;
  }
  sockaddr_in address = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return std::nullopt;
  }
  socklen_t length = sizeof address;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return std::nullopt;
  }
  return ntohs(address.sin_port);
}

// A port P such that P and P + 1 were both free a moment ago.
std::optional<std::uint16_t> free_port_pair() {
  for (int attempt = 0; attempt < 32; ++attempt) {
    auto port = try_bind(0);
    if (port && *port < 65535 && try_bind(static_cast<std::uint16_t>(*port + 1))) {
      return port;
    }
  }
  return std::nullopt;
}

bool accepts(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(port);
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& item : argv) {
    out.push_back(item.data());
  }
  out.push_back(nullptr);
  return out;
}

// Stops a child: SIGTERM, then SIGKILL when it outlives kStopTimeout.
void stop_child(pid_t pid) {
  ::kill(pid, SIGTERM);
  Clock::time_point deadline = Clock::now() + kStopTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  (void)::waitpid(pid, &status, 0);
}

std::string read_text(const std::string& path) {
  auto data = read_file(path, 1 << 20);
  return data ? std::string(as_text(*data)) : std::string();
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& extra_env) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return fail(errno_error(Errc::io, "pipe2 failed", errno));
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  std::vector<std::string> arguments = argv;
  std::vector<char*> raw = c_argv(arguments);

  pid_t pid = ::fork();
  if (pid < 0) {
    return fail(errno_error(Errc::io, "fork failed", errno));
  }
  if (pid == 0) {
    ::dup2(write_end.get(), STDOUT_FILENO);
    ::dup2(write_end.get(), STDERR_FILENO);
    for (const auto& [name, value] : extra_env) {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }
  write_end.reset();
  ProcessResult result;
  char buffer[4096];
  for (;;) {
    ssize_t count = ::read(read_end.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      break;
    }
    result.output.append(buffer, static_cast<std::size_t>(count));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result<std::unique_ptr<Swtpm>> Swtpm::start(Options options) {
  std::unique_ptr<Swtpm> swtpm(new Swtpm());
  std::string pattern = (std::filesystem::temp_directory_path() / "cvm-swtpm-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(errno_error(Errc::io, "mkdtemp " + pattern + " failed", errno));
  }
  swtpm->state_dir_ = pattern;
  const std::string log_path = swtpm->state_dir_ + "/swtpm.log";

  std::string last_failure = "no free loopback port pair";
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    auto port = free_port_pair();
    if (!port) {
      continue;
    }
    std::string flags = options.startup_clear ? "not-need-init,startup-clear" : "not-need-init";
    std::vector<std::string> argv = {
        "swtpm", "socket", "--tpm2",
        "--server", "type=tcp,port=" + std::to_string(*port) + ",bindaddr=127.0.0.1",
        "--ctrl", "type=tcp,port=" + std::to_string(*port + 1) + ",bindaddr=127.0.0.1",
        "--tpmstate", "dir=" + swtpm->state_dir_,
        "--flags", flags,
        "--log", "file=" + log_path + ",level=1",
    };
    std::vector<char*> raw = c_argv(argv);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      return fail(errno_error(Errc::io, "fork failed", errno));
    }
    if (pid == 0) {
      // The emulator dies with the test process, even when that one crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(1);
      }
      int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(null_fd, STDOUT_FILENO);
      }
      ::execvp(raw[0], raw.data());
      ::_exit(127);
    }

    Clock::time_point deadline = Clock::now() + kStartTimeout;
    bool exited = false;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        last_failure = WIFEXITED(status) && WEXITSTATUS(status) == 127
                           ? std::string("swtpm could not be executed; install the swtpm package")
                           : "swtpm exited at start: " + read_text(log_path);
        break;
      }
      if (accepts(*port)) {
        swtpm->pid_ = pid;
        swtpm->port_ = *port;
        swtpm->tcti_ = "swtpm:host=127.0.0.1,port=" + std::to_string(*port);
        return swtpm;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!exited) {
      stop_child(pid);
      last_failure = "swtpm did not accept connections within 10 s";
    }
    if (last_failure.find("could not be executed") != std::string::npos) {
      break;
    }
  }
  return fail(Errc::unavailable, "cannot start swtpm: " + last_failure);
}

Swtpm::~Swtpm() {
  if (pid_ > 0) {
    stop_child(pid_);
  }
  if (!state_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(state_dir_, ignored);
  }
}

Result<ProcessResult> Swtpm::run_tool(const std::vector<std::string>& argv) const {
  return run_process(argv, {{"TPM2TOOLS_TCTI", tcti_}});
}

}  // namespace cvm::testing
