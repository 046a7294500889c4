// Error values shared by every library of the agent.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace cvm {

// Canonical error codes. The code decides what a caller does next, and the
// message describes to a person what failed.
enum class Errc {
  invalid_argument,     // a caller-supplied value is malformed; fix the input
  invalid_data,         // bytes from a file, device or peer do not parse
  unsupported,          // well-formed, but a format or variant this agent does not handle
  verification_failed,  // parsed, but a signature, binding or policy check failed
  not_found,            // a file, NV index, key or object is absent
  not_ready,            // exists but is not yet usable; retrying later may succeed
  permission_denied,    // the OS or TPM refused access
  unavailable,          // a transient failure; retrying the same call may succeed
  timed_out,            // a bounded wait ran out
  io,                   // a read or write on a file or socket failed
  internal,             // a library call failed in a way the input cannot explain
};

std::string_view errc_name(Errc code);

// The failure underneath an error, kept so nothing about it is lost.
struct Cause {
  enum class Source { none, errno_value, openssl, tpm, curl, http };
  Source source = Source::none;
  std::int64_t code = 0;
  std::string text;  // decoded form of the code, e.g. strerror or Tss2_RC_Decode
};

struct Error {
  Errc code = Errc::internal;
  std::string message;                // what failed, naming the value
  std::string hint;                   // what to do about it; may be empty
  std::optional<std::string> field;   // binary field or JSON key involved
  std::optional<std::size_t> offset;  // byte offset of that field
  Cause cause;

  // One line: message, field and offset, cause, hint.
  [[nodiscard]] std::string to_string() const;

  Error&& with_hint(std::string text) && {
    hint = std::move(text);
    return std::move(*this);
  }
  Error&& at(std::string name, std::size_t byte_offset) && {
    field = std::move(name);
    offset = byte_offset;
    return std::move(*this);
  }
  Error&& prefixed(std::string_view context) && {
    message = std::string(context) + ": " + message;
    return std::move(*this);
  }
};

template <typename T>
using Result = std::expected<T, Error>;

// Shorthand for `return std::unexpected(Error{...})`.
[[nodiscard]] inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected(Error{.code = code, .message = std::move(message)});
}
[[nodiscard]] inline std::unexpected<Error> fail(Error error) {
  return std::unexpected(std::move(error));
}

// An error carrying errno; `what` names the operation and the path.
[[nodiscard]] Error errno_error(Errc code, std::string what, int errno_value);

}  // namespace cvm

// Propagates the error of a Result-returning expression, otherwise yields its value.
// The only control-flow macro of the project; it uses a GNU statement expression,
// which both GCC and clang support.
#define CVM_TRY(expr)                                       \
  __extension__({                                           \
    auto&& cvm_try_result_ = (expr);                        \
    if (!cvm_try_result_) {                                 \
      return std::unexpected(std::move(cvm_try_result_).error()); \
    }                                                       \
    std::move(cvm_try_result_).value();                     \
  })
