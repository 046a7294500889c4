// Byte buffers, a bounds-checked reader, and text encodings of bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace cvm {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Reads fixed-width fields from a buffer front to back. Every read checks the
// remaining length first and fails with the field's name and offset, so a
// truncated input never reads past its end.
class ByteReader {
 public:
  explicit ByteReader(ByteView data, std::size_t base_offset = 0)
      : data_(data), base_(base_offset) {}

  [[nodiscard]] std::size_t offset() const { return base_ + position_; }
  [[nodiscard]] std::size_t remaining() const { return data_.size() - position_; }
  [[nodiscard]] bool empty() const { return position_ == data_.size(); }

  [[nodiscard]] Result<std::uint8_t> u8(std::string_view field);
  [[nodiscard]] Result<std::uint16_t> u16le(std::string_view field);
  [[nodiscard]] Result<std::uint32_t> u32le(std::string_view field);
  [[nodiscard]] Result<std::uint64_t> u64le(std::string_view field);
  [[nodiscard]] Result<std::uint16_t> u16be(std::string_view field);
  [[nodiscard]] Result<std::uint32_t> u32be(std::string_view field);
  [[nodiscard]] Result<std::uint64_t> u64be(std::string_view field);

  // Returns a view of the next `size` bytes; it stays valid as long as the input does.
  [[nodiscard]] Result<ByteView> bytes(std::size_t size, std::string_view field);

  template <std::size_t N>
  [[nodiscard]] Result<std::array<std::uint8_t, N>> array(std::string_view field) {
    auto view = bytes(N, field);
    if (!view) {
      return std::unexpected(std::move(view).error());
    }
    std::array<std::uint8_t, N> out{};
    std::copy(view->begin(), view->end(), out.begin());
    return out;
  }

  [[nodiscard]] Result<void> skip(std::size_t size, std::string_view field);

 private:
  [[nodiscard]] Result<ByteView> take(std::size_t size, std::string_view field);

  ByteView data_;
  std::size_t base_;
  std::size_t position_ = 0;
};

// The error a reader returns when fewer than `wanted` bytes remain.
[[nodiscard]] Error truncated_error(std::string_view field, std::size_t offset,
                                    std::size_t wanted, std::size_t available);

[[nodiscard]] bool all_zero(ByteView data);

[[nodiscard]] std::string hex_encode(ByteView data);
// Accepts either case; rejects odd lengths and non-hex characters.
[[nodiscard]] Result<Bytes> hex_decode(std::string_view text);

[[nodiscard]] std::string base64_encode(ByteView data);
[[nodiscard]] std::string base64url_encode(ByteView data);  // unpadded
// Accepts the standard and the URL-safe alphabet, padded or not, and no whitespace.
[[nodiscard]] Result<Bytes> base64_decode(std::string_view text);

[[nodiscard]] inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
[[nodiscard]] inline std::string_view as_text(ByteView data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// Reads a whole file, rejecting one larger than `max_size` bytes.
[[nodiscard]] Result<Bytes> read_file(const std::string& path, std::size_t max_size);

}  // namespace cvm
