#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

#include "common/bytes.hpp"
#include "common/fd.hpp"
#include "common/openssl.hpp"
#include "common/time.hpp"

namespace cvm {
namespace {

TEST(ByteReader, ReadsLittleAndBigEndian) {
  const Bytes data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
  ByteReader reader(data);
  EXPECT_EQ(reader.u16le("a").value(), 0x0201);
  EXPECT_EQ(reader.u32be("b").value(), 0x03040506u);
  EXPECT_TRUE(reader.empty());
}

TEST(ByteReader, TruncationNamesFieldAndOffset) {
  const Bytes data{0x01, 0x02, 0x03};
  ByteReader reader(data, 0x100);
  ASSERT_TRUE(reader.u16le("first").has_value());
  auto second = reader.u32le("second");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::invalid_data);
  EXPECT_EQ(second.error().field, "second");
  EXPECT_EQ(second.error().offset, 0x102u);
  EXPECT_EQ(reader.offset(), 0x102u);
}

TEST(ByteReader, HugeSizeDoesNotWrap) {
  const Bytes data{0x01};
  ByteReader reader(data);
  ASSERT_TRUE(reader.u8("x").has_value());
  EXPECT_FALSE(reader.bytes(SIZE_MAX, "huge").has_value());
}

TEST(Hex, RoundTripAndCase) {
  EXPECT_EQ(hex_encode(Bytes{0xab, 0x01}), "ab01");
  EXPECT_EQ(hex_decode("AB01").value(), (Bytes{0xab, 0x01}));
  EXPECT_FALSE(hex_decode("abc").has_value());
  EXPECT_FALSE(hex_decode("zz").has_value());
}

TEST(Base64, BothAlphabetsAndPadding) {
  const Bytes data{0xfb, 0xff, 0x01};
  EXPECT_EQ(base64_encode(data), "+/8B");
  EXPECT_EQ(base64url_encode(data), "-_8B");
  EXPECT_EQ(base64_decode("+/8B").value(), data);
  EXPECT_EQ(base64_decode("-_8B").value(), data);
  EXPECT_EQ(base64_encode(Bytes{0x61}), "YQ==");
  EXPECT_EQ(base64_decode("YQ==").value(), Bytes{0x61});
  EXPECT_EQ(base64_decode("YQ").value(), Bytes{0x61});
  EXPECT_FALSE(base64_decode("Y").has_value());
  EXPECT_FALSE(base64_decode("YQ=*").has_value());
}

TEST(Rfc3339, ParsesZoneOffsets) {
  auto utc = parse_rfc3339("2026-01-31T12:00:00Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(format_rfc3339(*utc), "2026-01-31T12:00:00Z");
  auto shifted = parse_rfc3339("2026-01-31T14:00:00.123+02:00");
  ASSERT_TRUE(shifted.has_value());
  EXPECT_EQ(*shifted, *utc);
  EXPECT_FALSE(parse_rfc3339("2026-01-31").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-01-31T12:00:00Zjunk").has_value());
}

TEST(ReadFile, MissingAndOversized) {
  auto missing = read_file("/nonexistent/cvm-attest-test", 10);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().cause.source, Cause::Source::errno_value);
  auto oversized = read_file("/proc/self/exe", 16);
  ASSERT_FALSE(oversized.has_value());
  EXPECT_EQ(oversized.error().code, Errc::invalid_data);
}

// Owning wrappers are move-only; checked at compile time.
static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(!std::is_copy_constructible_v<ossl::UniqueX509>);
static_assert(std::is_nothrow_move_constructible_v<ossl::UniquePkey>);

TEST(UniqueFd, ClosesOnReset) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  UniqueFd moved(std::move(read_end));
  EXPECT_FALSE(read_end.valid());
  moved.reset();
  EXPECT_FALSE(moved.valid());
  EXPECT_EQ(::fcntl(pipe_fds[0], F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(OpensslError, KeepsTheQueue) {
  const Bytes garbage{0x30, 0x03, 0x02, 0x01};
  auto parsed = ossl::parse_der_certificate(garbage);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().cause.source, Cause::Source::openssl);
  EXPECT_FALSE(parsed.error().cause.text.empty());
}

}  // namespace
}  // namespace cvm
