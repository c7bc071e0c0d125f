// id_text.cpp: the text form of an ID. See id_text.h.
#include "id_text.h"

namespace snowflake {

namespace {

// The white space PostgreSQL's integer input skips (isspace() in the C locale).
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

ParseIdOutcome ParseIdText(const char* text, size_t length, int64_t* id) {
  size_t i = 0;
  while (i < length && IsSpace(text[i])) ++i;
  bool negative = false;
  if (i < length && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  // Accumulate as a negative number: its range is one larger, so
  // -9223372036854775808 parses without overflow.
  int64_t value = 0;
  bool overflow = false;
  const size_t first_digit = i;
  for (; i < length && text[i] >= '0' && text[i] <= '9'; ++i) {
    const int digit = text[i] - '0';
    if (value < (INT64_MIN + digit) / 10) {
      overflow = true;  // keep scanning: a syntax error still wins
    } else {
      value = value * 10 - digit;
    }
  }
  if (i == first_digit) return ParseIdOutcome::kSyntax;
  while (i < length && IsSpace(text[i])) ++i;
  if (i != length) return ParseIdOutcome::kSyntax;
  if (overflow) return ParseIdOutcome::kOutOfRange;
  if (!negative) {
    if (value == INT64_MIN) return ParseIdOutcome::kOutOfRange;
    value = -value;
  }
  *id = value;
  return ParseIdOutcome::kOk;
}

size_t FormatIdText(int64_t id, char* buffer) {
  char digits[kMaxIdTextLength];
  size_t n = 0;
  // Work on the magnitude as unsigned: -INT64_MIN does not fit int64_t.
  uint64_t magnitude = id < 0 ? 0 - static_cast<uint64_t>(id) : static_cast<uint64_t>(id);
  do {
    digits[n++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  size_t length = 0;
  if (id < 0) buffer[length++] = '-';
  while (n > 0) buffer[length++] = digits[--n];
  buffer[length] = '\0';
  return length;
}

}  // namespace snowflake
