// File output for the emulated confidential VM tools.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/bytes.hpp"

namespace cvm::emulator {

// Writes `data` to `path` through a temporary file in the same directory and
// a rename, so a reader sees either the old or the whole new content. The
// file gets `mode` whatever the umask.
[[nodiscard]] Result<void> write_file_atomic(const std::string& path, ByteView data, mode_t mode = 0644);

// Creates a directory (one level) unless it exists.
[[nodiscard]] Result<void> make_directory(const std::string& path, mode_t mode = 0755);

}  // namespace cvm::emulator
