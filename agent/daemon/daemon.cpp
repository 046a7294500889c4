#include "agent/daemon/daemon.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "agent/attester.hpp"
#include "agent/config.hpp"
#include "agent/logging.hpp"
#include "common/fd.hpp"
#include "service/api.hpp"
#include "service/socket.hpp"

namespace cvm::agent {
namespace {

service::TokenCacheOptions cache_options(const TokenConfig& token) {
  return service::TokenCacheOptions{.refresh_from = token.refresh_from,
                                    .refresh_to = token.refresh_to,
                                    .retry_base = std::chrono::seconds(token.retry_base_seconds),
                                    .retry_max = std::chrono::seconds(token.retry_max_seconds),
                                    .max_in_flight = static_cast<int>(token.max_in_flight)};
}

void notify_status(const service::TokenCache& cache) {
  service::CacheStatus status = cache.status();
  std::string line;
  if (status.token && Clock::now() < status.token->expires_at) {
    line = "STATUS=token valid until " + format_rfc3339(status.token->expires_at);
  } else if (status.last_error) {
    line = "STATUS=no valid token; last error: " + status.last_error->message;
  } else {
    line = "STATUS=attesting";
  }
  sd_notify(0, line.c_str());
}

Result<UniqueFd> block_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return fail(errno_error(Errc::internal, "cannot block signals", errno));
  }
  UniqueFd fd(::signalfd(-1, &mask, SFD_CLOEXEC));
  if (!fd.valid()) {
    return fail(errno_error(Errc::internal, "cannot create a signalfd", errno));
  }
  return fd;
}

// The parts of the configuration SIGHUP may change without a restart.
bool reload(const DaemonOptions& options, Config& active, service::ApiServer& api, service::TokenCache& cache) {
  sd_notify(0, "RELOADING=1");
  auto fresh = load_config(options.config_path, options.config_explicit);
  if (!fresh) {
    spdlog::error("Failed to reload the configuration, keeping the old one: {}", describe(fresh.error()));
    sd_notify(0, "READY=1");
    return false;
  }
  bool endpoint_changed = fresh->attestation.endpoint != active.attestation.endpoint ||
                          fresh->attestation.protocol != active.attestation.protocol;
  api.set_policy(fresh->access);
  set_log_level(fresh->logging.level);
  if (endpoint_changed) {
    spdlog::info("Attestation endpoint changed; a restart applies it to the attestation client");
  }
  active.access = fresh->access;
  active.logging = fresh->logging;
  spdlog::info("Reloaded the configuration from {}", options.config_path);
  notify_status(cache);
  sd_notify(0, "READY=1");
  return true;
}

double milliseconds(std::chrono::microseconds duration) { return static_cast<double>(duration.count()) / 1000.0; }

// One line per successful attestation; scripts/bench parses it. The first is
// logged at info so the start-up cost is visible at the default level, the
// later refreshes at debug.
void log_stage_times(const StageTimes& times, bool first) {
  spdlog::log(first ? spdlog::level::info : spdlog::level::debug,
              "Attestation stages (ms): tpm {:.1f}, certificates {:.1f}, self_check {:.1f}, service {:.1f}, "
              "decrypt_and_verify {:.1f}",
              milliseconds(times.tpm), milliseconds(times.certificates), milliseconds(times.self_check),
              milliseconds(times.service), milliseconds(times.decrypt_and_verify));
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  auto loaded = load_config(options.config_path, options.config_explicit);
  if (!loaded) {
    setup_logging("auto", "info");
    spdlog::critical("Failed to load the configuration: {}", describe(loaded.error()));
    return 2;
  }
  Config config = std::move(*loaded);
  setup_logging(config.logging.target, config.logging.level);
  spdlog::info("cvm-attestd starting: configuration {}, TPM {}, socket {}", options.config_path, config.tpm.tcti,
               config.socket.path);

  auto signals = block_signals();
  if (!signals) {
    spdlog::critical("Failed to set up signal handling: {}", describe(signals.error()));
    return 1;
  }

  service::SocketOptions socket_options{.path = config.socket.path, .mode = config.socket.mode};
  if (!config.socket.group.empty()) {
    auto gid = service::lookup_group(config.socket.group);
    if (!gid) {
      spdlog::critical("Failed to resolve the socket group: {}", describe(gid.error()));
      return 1;
    }
    socket_options.group = *gid;
  }
  auto listening = service::open_listening_socket(socket_options);
  if (!listening) {
    spdlog::critical("Failed to open the socket: {}", describe(listening.error()));
    return 1;
  }
  spdlog::info("Listening on {}{}", listening->path, listening->activated ? " (socket activation)" : "");

  service::Metrics metrics;
  std::atomic<bool> first_stages_logged{false};
  Attester attester(config, AttesterEvents{
                                .info = [](const std::string& message) { spdlog::info("{}", message); },
                                .warning = [](const std::string& message) { spdlog::warn("{}", message); },
                                .stages = [&first_stages_logged](const StageTimes& times) {
                                  log_stage_times(times, !first_stages_logged.exchange(true));
                                },
                            });
  std::string protocol(client::protocol_name(config.attestation.protocol));
  service::TokenCache cache(
      [&attester](const std::optional<Bytes>& nonce) { return attester.attest(nonce); }, cache_options(config.token),
      [&metrics, protocol](bool default_token, std::chrono::milliseconds duration,
                           const Result<service::Token>& outcome) {
        metrics.record_attestation(protocol, outcome.has_value(), duration);
        const char* kind = default_token ? "default token" : "nonce-bound token";
        if (outcome) {
          spdlog::info("Attestation succeeded ({}, {} ms): token valid until {}", kind, duration.count(),
                       format_rfc3339(outcome->expires_at));
        } else {
          spdlog::error("Attestation failed ({}, {} ms): {}", kind, duration.count(), describe(outcome.error()));
        }
      });

  service::ApiCallbacks callbacks;
  callbacks.evidence = [&attester](const Bytes& nonce) { return attester.evidence(nonce); };
  callbacks.status = [&config, protocol] {
    Json::Value status(Json::objectValue);
    status["platform"] = "azure-sev-snp-vtpm";
    status["protocol"] = protocol;
    status["endpoint"] = config.attestation.endpoint;
    status["tcti"] = config.tpm.tcti;
    return status;
  };
  callbacks.on_refused = [](const service::Caller& caller, const std::string& path) {
    spdlog::warn("Refused {} for uid {} pid {}{}", path, caller.uid, caller.pid,
                 caller.unit ? " unit " + *caller.unit : std::string());
  };
  callbacks.on_error = [](const std::string& path, int status, const Error& error) {
    if (status >= 500) {
      spdlog::warn("{} returned HTTP {}: {}", path, status, describe(error));
    } else {
      spdlog::debug("{} returned HTTP {}: {}", path, status, describe(error));
    }
  };
  service::ApiServer api(cache, metrics, service::ApiOptions{}, std::move(callbacks), config.access);
  auto started = api.start(listening->fd.release());
  if (!started) {
    spdlog::critical("Failed to start the API: {}", describe(started.error()));
    return 1;
  }

  cache.start();
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  bool ready = false;
  if (!config.ready_after_first_token) {
    sd_notify(0, "READY=1\nSTATUS=serving; attesting");
    ready = true;
  }

  int exit_status = 0;
  for (;;) {
    int timeout_ms = 1000;
    if (watchdog) {
      timeout_ms = static_cast<int>(std::min<uint64_t>(watchdog_usec / 2000, 1000));
    }
    pollfd poll_fd{.fd = signals->get(), .events = POLLIN, .revents = 0};
    int polled = ::poll(&poll_fd, 1, timeout_ms);
    if (polled < 0 && errno != EINTR) {
      spdlog::error("poll failed: {}", std::strerror(errno));
    }
    if (watchdog) {
      sd_notify(0, "WATCHDOG=1");
    }
    if (!ready && cache.wait_first_outcome(std::chrono::milliseconds(0))) {
      sd_notify(0, "READY=1");
      ready = true;
    }
    if (ready) {
      notify_status(cache);
    }
    if (polled <= 0 || (poll_fd.revents & POLLIN) == 0) {
      continue;
    }
    signalfd_siginfo info{};
    if (::read(signals->get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
      continue;
    }
    if (info.ssi_signo == SIGHUP) {
      spdlog::info("SIGHUP received, reloading {}", options.config_path);
      reload(options, config, api, cache);
      continue;
    }
    spdlog::info("Signal {} received, stopping", info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }

  sd_notify(0, "STOPPING=1");
  api.stop();
  cache.stop();
  if (!listening->activated) {
    ::unlink(listening->path.c_str());
  }
  spdlog::info("cvm-attestd stopped");
  return exit_status;
}

}  // namespace cvm::agent
