#include "common/time.hpp"

#include <charconv>
#include <ctime>

namespace cvm {
namespace {

bool read_number(std::string_view text, std::size_t position, std::size_t digits, int& out) {
  if (position + digits > text.size()) {
    return false;
  }
  for (std::size_t i = position; i < position + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
  }
  auto [end, error] = std::from_chars(text.data() + position, text.data() + position + digits, out);
  return error == std::errc{};
}

}  // namespace

Result<Clock::time_point> parse_rfc3339(std::string_view text) {
  auto invalid = [&] {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "invalid RFC 3339 time '" + std::string(text) + "'",
                      .hint = "use the form 2026-01-31T12:00:00Z"});
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_number(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !read_number(text, 5, 2, month) || text[7] != '-' || !read_number(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_number(text, 11, 2, hour) ||
      text[13] != ':' || !read_number(text, 14, 2, minute) || text[16] != ':' ||
      !read_number(text, 17, 2, second)) {
    return invalid();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return invalid();
  }
  std::size_t position = 19;
  if (position < text.size() && text[position] == '.') {
    ++position;
    std::size_t digits_start = position;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
      ++position;
    }
    if (position == digits_start) {
      return invalid();
    }
  }
  long offset_seconds = 0;
  if (position < text.size() && (text[position] == 'Z' || text[position] == 'z')) {
    ++position;
  } else if (position < text.size() && (text[position] == '+' || text[position] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    if (!read_number(text, position + 1, 2, offset_hours) || position + 3 >= text.size() ||
        text[position + 3] != ':' || !read_number(text, position + 4, 2, offset_minutes) ||
        offset_hours > 23 || offset_minutes > 59) {
      return invalid();
    }
    offset_seconds = (offset_hours * 3600L + offset_minutes * 60L) * (text[position] == '-' ? -1 : 1);
    position += 6;
  } else {
    return invalid();
  }
  if (position != text.size()) {
    return invalid();
  }
  std::tm fields{};
  fields.tm_year = year - 1900;
  fields.tm_mon = month - 1;
  fields.tm_mday = day;
  fields.tm_hour = hour;
  fields.tm_min = minute;
  fields.tm_sec = second;
  std::time_t seconds = timegm(&fields);
  return Clock::from_time_t(seconds - offset_seconds);
}

std::string format_rfc3339(Clock::time_point time) {
  std::time_t seconds = Clock::to_time_t(time);
  std::tm fields{};
  gmtime_r(&seconds, &fields);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &fields);
  return buffer;
}

}  // namespace cvm
