#include "common/bytes.hpp"

#include "common/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace cvm {
namespace {

template <typename T>
T load_le(ByteView view) {
  T value = 0;
  for (std::size_t i = view.size(); i-- > 0;) {
    value = static_cast<T>((value << 8) | view[i]);
  }
  return value;
}

template <typename T>
T load_be(ByteView view) {
  T value = 0;
  for (std::uint8_t byte : view) {
    value = static_cast<T>((value << 8) | byte);
  }
  return value;
}

std::string hex_offset(std::size_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", value);
  return buffer;
}

}  // namespace

Error truncated_error(std::string_view field, std::size_t offset, std::size_t wanted,
                      std::size_t available) {
  Error error{.code = Errc::invalid_data,
              .message = "input truncated: " + std::string(field) + " needs " +
                         std::to_string(wanted) + " bytes at offset " + hex_offset(offset) +
                         ", only " + std::to_string(available) + " remain"};
  return std::move(error).at(std::string(field), offset);
}

Result<ByteView> ByteReader::take(std::size_t size, std::string_view field) {
  if (size > remaining()) {
    return std::unexpected(truncated_error(field, offset(), size, remaining()));
  }
  ByteView view = data_.subspan(position_, size);
  position_ += size;
  return view;
}

Result<std::uint8_t> ByteReader::u8(std::string_view field) {
  auto view = CVM_TRY(take(1, field));
  return view[0];
}
Result<std::uint16_t> ByteReader::u16le(std::string_view field) {
  return load_le<std::uint16_t>(CVM_TRY(take(2, field)));
}
Result<std::uint32_t> ByteReader::u32le(std::string_view field) {
  return load_le<std::uint32_t>(CVM_TRY(take(4, field)));
}
Result<std::uint64_t> ByteReader::u64le(std::string_view field) {
  return load_le<std::uint64_t>(CVM_TRY(take(8, field)));
}
Result<std::uint16_t> ByteReader::u16be(std::string_view field) {
  return load_be<std::uint16_t>(CVM_TRY(take(2, field)));
}
Result<std::uint32_t> ByteReader::u32be(std::string_view field) {
  return load_be<std::uint32_t>(CVM_TRY(take(4, field)));
}
Result<std::uint64_t> ByteReader::u64be(std::string_view field) {
  return load_be<std::uint64_t>(CVM_TRY(take(8, field)));
}
Result<ByteView> ByteReader::bytes(std::size_t size, std::string_view field) {
  return take(size, field);
}
Result<void> ByteReader::skip(std::size_t size, std::string_view field) {
  CVM_TRY(take(size, field));
  return {};
}

bool all_zero(ByteView data) {
  for (std::uint8_t byte : data) {
    if (byte != 0) {
      return false;
    }
  }
  return true;
}

std::string hex_encode(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t byte : data) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return fail(Errc::invalid_argument,
                "invalid hex: odd number of digits (" + std::to_string(text.size()) + ")");
  }
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int high = hex_value(text[i]);
    int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      return fail(Errc::invalid_argument,
                  "invalid hex: non-hex character at position " + std::to_string(high < 0 ? i : i + 1));
    }
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

namespace {

std::string base64_with(ByteView data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t group = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    out.push_back(alphabet[group & 63]);
  }
  std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{data[i]} << 16;
    if (rest == 2) {
      group |= std::uint32_t{data[i + 1]} << 8;
    }
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    if (rest == 2) {
      out.push_back(alphabet[(group >> 6) & 63]);
    }
    if (pad) {
      out.append(3 - rest, '=');
    }
  }
  return out;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(ByteView data) {
  return base64_with(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

std::string base64url_encode(ByteView data) {
  return base64_with(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

Result<Bytes> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return fail(Errc::invalid_argument,
                "invalid base64: length " + std::to_string(text.size()) + " cannot encode whole bytes");
  }
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t group = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int value = base64_value(text[i]);
    if (value < 0) {
      return fail(Errc::invalid_argument,
                  "invalid base64: unexpected character at position " + std::to_string(i));
    }
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((group >> bits) & 0xff));
    }
  }
  return out;
}

Result<Bytes> read_file(const std::string& path, std::size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int saved = errno;
    Errc code = saved == ENOENT   ? Errc::not_found
                : saved == EACCES ? Errc::permission_denied
                                  : Errc::io;
    return fail(errno_error(code, "cannot open " + path, saved));
  }
  Bytes out;
  std::uint8_t buffer[65536];
  for (;;) {
    ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(errno_error(Errc::io, "cannot read " + path, errno));
    }
    if (count == 0) {
      break;
    }
    if (static_cast<std::size_t>(count) > max_size - out.size()) {
      return fail(Errc::invalid_data,
                  path + " is larger than the limit of " + std::to_string(max_size) + " bytes");
    }
    out.insert(out.end(), buffer, buffer + count);
  }
  return out;
}

}  // namespace cvm
