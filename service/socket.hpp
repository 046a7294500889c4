// The agent's listening Unix socket: created with a mode and group, or
// inherited through systemd socket activation.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace cvm::service {

struct SocketOptions {
  std::string path = "/run/cvm-attest/agent.sock";
  mode_t mode = 0660;
  std::optional<gid_t> group;  // nullopt keeps the process's group
  int backlog = 128;
};

struct ListeningSocket {
  UniqueFd fd;
  bool activated = false;  // inherited from systemd; never unlinked by the agent
  std::string path;
};

// Uses the first socket systemd passed (LISTEN_FDS) when there is one;
// otherwise binds `options.path`. A stale socket file (nothing listening) is
// replaced; a live socket is Errc::unavailable ("another agent is running")
// and a path that exists and is not a socket is Errc::invalid_argument.
[[nodiscard]] Result<ListeningSocket> open_listening_socket(const SocketOptions& options);

// Resolves a group name to its id.
[[nodiscard]] Result<gid_t> lookup_group(const std::string& name);

}  // namespace cvm::service
