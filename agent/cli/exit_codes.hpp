// Exit statuses of the cvm-attest command, documented in docs/cli.md.
#pragma once

#include "common/error.hpp"

namespace cvm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerificationFailed = 1;  // input parsed, but a check failed
inline constexpr int kExitUsage = 2;               // bad options or arguments
inline constexpr int kExitInvalidInput = 3;        // a file or blob does not parse
inline constexpr int kExitEnvironment = 4;         // TPM, file system, network or service failure

[[nodiscard]] int exit_code_for(Errc code);

}  // namespace cvm::cli
