// Authorization of local callers by their peer credentials.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cvm::service {

// The peer of a connection: its SO_PEERCRED credentials plus the groups and unit from /proc.
struct Caller {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;        // supplementary groups from /proc/PID/status
  std::optional<std::string> unit;  // systemd unit from /proc/PID/cgroup, e.g. "app.service"
};

// Reads the peer credentials of a connected Unix socket.
[[nodiscard]] Result<Caller> identify_caller(int connection_fd);

// Extracts the innermost systemd unit (".service" or ".scope") from the
// contents of /proc/PID/cgroup.
[[nodiscard]] std::optional<std::string> unit_from_cgroup(std::string_view cgroup_file);

// A caller matches a rule when any listed uid, gid (primary or
// supplementary) or unit matches, or when the rule allows everyone.
struct AccessRule {
  bool everyone = false;
  std::vector<uid_t> uids;
  std::vector<gid_t> gids;
  std::vector<std::string> units;

  [[nodiscard]] bool allows(const Caller& caller) const;
};

// Rules per endpoint name: "token" (GET /v1/token), "token_nonce"
// (POST /v1/token), "evidence", "keys", "status", "metrics". An endpoint
// without a rule is refused.
struct AccessPolicy {
  std::map<std::string, AccessRule> rules;

  [[nodiscard]] bool allows(const std::string& endpoint, const Caller& caller) const;
  // Everyone who can open the socket may use every endpoint but "keys",
  // which only root may use; the socket's mode and group do the rest.
  [[nodiscard]] static AccessPolicy defaults();
};

}  // namespace cvm::service
