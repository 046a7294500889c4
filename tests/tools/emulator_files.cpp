#include "tests/tools/emulator_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/fd.hpp"

namespace cvm::emulator {

Result<void> write_file_atomic(const std::string& path, ByteView data, mode_t mode) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) {
    return fail(errno_error(Errc::io, "cannot create " + temporary, errno));
  }
  if (::fchmod(fd.get(), mode) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return fail(errno_error(Errc::io, "cannot set the mode of " + temporary, saved));
  }
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t count = ::write(fd.get(), data.data() + written, data.size() - written);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      int saved = errno;
      ::unlink(temporary.c_str());
      return fail(errno_error(Errc::io, "cannot write " + temporary, saved));
    }
    written += static_cast<std::size_t>(count);
  }
  if (::close(fd.release()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return fail(errno_error(Errc::io, "cannot close " + temporary, saved));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return fail(errno_error(Errc::io, "cannot rename " + temporary + " to " + path, saved));
  }
  return {};
}

Result<void> make_directory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
    struct stat status {};
    if (::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode)) {
      return {};
    }
    return fail(Error{.code = Errc::invalid_argument, .message = path + " exists and is not a directory"});
  }
  return fail(errno_error(Errc::io, "cannot create directory " + path, errno));
}

}  // namespace cvm::emulator
