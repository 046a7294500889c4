#include "service/access.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "common/bytes.hpp"

namespace cvm::service {
namespace {

std::vector<gid_t> supplementary_groups(pid_t pid) {
  auto status = read_file("/proc/" + std::to_string(pid) + "/status", 1 << 16);
  if (!status) {
    return {};
  }
  std::istringstream lines{std::string(as_text(*status))};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("Groups:")) {
      std::istringstream values(line.substr(7));
      std::vector<gid_t> groups;
      unsigned long gid = 0;
      while (values >> gid) {
        groups.push_back(static_cast<gid_t>(gid));
      }
      return groups;
    }
  }
  return {};
}

}  // namespace

std::optional<std::string> unit_from_cgroup(std::string_view cgroup_file) {
  std::optional<std::string> unit;
  std::size_t start = 0;
  while (start < cgroup_file.size()) {
    std::size_t end = cgroup_file.find('\n', start);
    std::string_view line = cgroup_file.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? cgroup_file.size() : end + 1;
    // cgroup v2: "0::/system.slice/app.service"; on v1 the name=systemd hierarchy carries it.
    if (!line.starts_with("0::") && line.find(":name=systemd:") == std::string_view::npos) {
      continue;
    }
    std::string_view path = line.substr(line.rfind(':') + 1);
    std::size_t position = 0;
    while (position < path.size()) {
      std::size_t next = path.find('/', position);
      std::string_view component = path.substr(position, next == std::string_view::npos ? std::string_view::npos : next - position);
      if (component.ends_with(".service") || component.ends_with(".scope")) {
        unit = std::string(component);
      }
      if (next == std::string_view::npos) {
        break;
      }
      position = next + 1;
    }
  }
  return unit;
}

Result<Caller> identify_caller(int connection_fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(connection_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return fail(errno_error(Errc::permission_denied, "cannot read the caller's peer credentials", errno));
  }
  Caller caller{.pid = credentials.pid, .uid = credentials.uid, .gid = credentials.gid};
  caller.groups = supplementary_groups(credentials.pid);
  if (auto cgroup = read_file("/proc/" + std::to_string(credentials.pid) + "/cgroup", 1 << 16)) {
    caller.unit = unit_from_cgroup(as_text(*cgroup));
  }
  return caller;
}

bool AccessRule::allows(const Caller& caller) const {
  if (everyone) {
    return true;
  }
  if (std::find(uids.begin(), uids.end(), caller.uid) != uids.end()) {
    return true;
  }
  for (gid_t gid : gids) {
    if (gid == caller.gid || std::find(caller.groups.begin(), caller.groups.end(), gid) != caller.groups.end()) {
      return true;
    }
  }
  return caller.unit && std::find(units.begin(), units.end(), *caller.unit) != units.end();
}

bool AccessPolicy::allows(const std::string& endpoint, const Caller& caller) const {
  auto found = rules.find(endpoint);
  return found != rules.end() && found->second.allows(caller);
}

AccessPolicy AccessPolicy::defaults() {
  AccessPolicy policy;
  for (const char* endpoint : {"token", "token_nonce", "evidence", "status", "metrics"}) {
    policy.rules[endpoint] = AccessRule{.everyone = true};
  }
  policy.rules["keys"] = AccessRule{.uids = {0}};
  return policy;
}

}  // namespace cvm::service
