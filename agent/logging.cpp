#include "agent/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

namespace cvm::agent {
namespace {

// systemd sets JOURNAL_STREAM to "device:inode" of the stream connected to
// the journal; stderr is that stream when they match (systemd.exec(5)).
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) {
    return false;
  }
  struct stat info {};
  if (::fstat(2, &info) != 0) {
    return false;
  }
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) {
    return false;
  }
  return device == info.st_dev && inode == info.st_ino;
}

}  // namespace

void set_log_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

void setup_logging(const std::string& target, const std::string& level) {
  bool journal = target == "journal" || (target == "auto" && stderr_is_journal());
  std::shared_ptr<spdlog::logger> logger;
  if (journal) {
    // The systemd sink sends PRIORITY, CODE_FILE and friends as journal fields.
    logger = std::make_shared<spdlog::logger>("cvm-attest", std::make_shared<spdlog::sinks::systemd_sink_mt>("cvm-attestd"));
    logger->set_pattern("%v");
  } else {
    logger = std::make_shared<spdlog::logger>("cvm-attest", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  set_log_level(level);
  spdlog::flush_on(spdlog::level::info);
}

std::string describe(const Error& error) { return error.to_string() + " [" + std::string(errc_name(error.code)) + "]"; }

}  // namespace cvm::agent
