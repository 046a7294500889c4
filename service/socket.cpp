#include "service/socket.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace cvm::service {
namespace {

Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "socket path '" + path + "' is empty or longer than " +
                                 std::to_string(sizeof(address.sun_path) - 1) + " bytes"});
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// True when something accepts connections on the socket at `path`.
bool socket_is_live(const sockaddr_un& address) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) {
    return false;
  }
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

Result<gid_t> lookup_group(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  int result = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (result != 0) {
    return fail(errno_error(Errc::io, "cannot look up group '" + name + "'", result));
  }
  if (found == nullptr) {
    return fail(Error{.code = Errc::not_found,
                      .message = "group '" + name + "' does not exist",
                      .hint = "create it (the package's sysusers file does) or set socket.group"});
  }
  return found->gr_gid;
}

Result<ListeningSocket> open_listening_socket(const SocketOptions& options) {
  int passed = sd_listen_fds(1);
  if (passed < 0) {
    return fail(errno_error(Errc::io, "cannot read the sockets passed by systemd", -passed));
  }
  if (passed > 0) {
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
      return fail(Error{.code = Errc::invalid_argument,
                        .message = "the socket passed by systemd is not a listening Unix stream socket",
                        .hint = "set ListenStream= to a path in the socket unit"});
    }
    return ListeningSocket{.fd = UniqueFd(fd), .activated = true, .path = options.path};
  }

  sockaddr_un address = CVM_TRY(socket_address(options.path));
  struct stat info {};
  if (::lstat(options.path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return fail(Error{.code = Errc::invalid_argument,
                        .message = "socket path " + options.path + " exists and is not a socket",
                        .hint = "remove it or choose another socket.path"});
    }
    if (socket_is_live(address)) {
      return fail(Error{.code = Errc::unavailable,
                        .message = "another process is already serving on " + options.path,
                        .hint = "stop the other agent or choose another socket.path"});
    }
    if (::unlink(options.path.c_str()) != 0) {
      return fail(errno_error(Errc::io, "cannot remove the stale socket " + options.path, errno));
    }
  }

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return fail(errno_error(Errc::io, "cannot create a Unix socket", errno));
  }
  // Bind with a restrictive umask so the socket is never briefly wider than requested.
  mode_t previous = ::umask(0177);
  int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int bind_errno = errno;
  ::umask(previous);
  if (bound != 0) {
    return fail(errno_error(bind_errno == EACCES ? Errc::permission_denied : Errc::io,
                            "cannot bind " + options.path, bind_errno));
  }
  if (options.group && ::chown(options.path.c_str(), static_cast<uid_t>(-1), *options.group) != 0) {
    return fail(errno_error(Errc::permission_denied,
                            "cannot set group " + std::to_string(*options.group) + " on " + options.path, errno));
  }
  if (::chmod(options.path.c_str(), options.mode) != 0) {
    return fail(errno_error(Errc::io, "cannot set the mode of " + options.path, errno));
  }
  if (::listen(fd.get(), options.backlog) != 0) {
    return fail(errno_error(Errc::io, "cannot listen on " + options.path, errno));
  }
  return ListeningSocket{.fd = std::move(fd), .activated = false, .path = options.path};
}

}  // namespace cvm::service
