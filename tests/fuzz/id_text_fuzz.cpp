// id_text_fuzz.cpp: libFuzzer target for the snowflake type's text input and
// the decoders (src/core/id_text.h, src/core/layout.h).
//
// For any input bytes:
//   - ParseIdText() accepts exactly what an independent reference accepts
//     (bigint's syntax, the int64 range), with the same value, and leaves its
//     output alone otherwise;
//   - an accepted value formats back to canonical text that parses to itself;
//   - the decoders: a negative value is kOutOfRange, any other decodes into
//     parts inside the layout that compose back to the same value, and the
//     first ID of its millisecond is not above it.
// A failed check aborts, which libFuzzer reports as a crash with the input.
// Run by `make fuzz` (scripts/fuzz.sh) for a bounded time, on the corpus in
// tests/fuzz/corpus/id_text/.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "id_text.h"
#include "layout.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "check failed: %s\n", what);
    std::abort();
  }
}

bool IsSpace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The reference: trims, splits off the sign, and compares the digits as
// text against the limits, then converts with std::from_chars.
snowflake::ParseIdOutcome Reference(const std::string& input, int64_t* value) {
  size_t b = 0, e = input.size();
  while (b < e && IsSpace(static_cast<unsigned char>(input[b]))) ++b;
  while (e > b && IsSpace(static_cast<unsigned char>(input[e - 1]))) --e;
  std::string body = input.substr(b, e - b);
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.erase(0, 1);
  }
  if (body.empty()) return snowflake::ParseIdOutcome::kSyntax;
  for (char c : body)
    if (c < '0' || c > '9') return snowflake::ParseIdOutcome::kSyntax;
  const size_t nonzero = body.find_first_not_of('0');
  const std::string digits = nonzero == std::string::npos ? "0" : body.substr(nonzero);
  const std::string limit = negative ? "9223372036854775808" : "9223372036854775807";
  if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit))
    return snowflake::ParseIdOutcome::kOutOfRange;
  const std::string text = (negative ? "-" : "") + digits;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  Check(ec == std::errc() && end == text.data() + text.size(), "reference conversion");
  return snowflake::ParseIdOutcome::kOk;
}

void CheckDecoders(int64_t id) {
  snowflake::DecodedId d{};
  const snowflake::Status s = snowflake::DecodeId(id, &d);
  if (id < 0) {
    Check(s.code == snowflake::StatusCode::kOutOfRange, "negative ID decodes as out of range");
    return;
  }
  Check(s.ok(), "non-negative ID decodes");
  Check(d.timestamp_ms >= 0 && d.timestamp_ms <= snowflake::kMaxTimestampMs, "time in layout");
  Check(snowflake::IsValidNodeId(d.node_id), "node id in layout");
  Check(d.sequence >= 0 && d.sequence <= snowflake::kMaxSequence, "sequence in layout");
  int64_t again = -1;
  Check(snowflake::EncodeId(d.timestamp_ms, d.node_id, d.sequence, &again).ok(), "re-encodes");
  Check(again == id, "decode then encode gives the same ID");
  int64_t first = -1;
  Check(snowflake::FirstIdOfMillisecond(d.timestamp_ms, &first).ok(), "first ID of its ms");
  Check(first <= id && id - first < (int64_t{1} << snowflake::kTimestampShift),
        "first ID of the millisecond is not above it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const std::string input(text, size);

  int64_t parsed = 0x5eed;
  const snowflake::ParseIdOutcome outcome = snowflake::ParseIdText(text, size, &parsed);
  int64_t expected = 0;
  const snowflake::ParseIdOutcome want = Reference(input, &expected);
  Check(outcome == want, "ParseIdText agrees with the reference on the outcome");
  if (outcome != snowflake::ParseIdOutcome::kOk) {
    Check(parsed == 0x5eed, "a refused input leaves the output alone");
  } else {
    Check(parsed == expected, "ParseIdText agrees with the reference on the value");
    char buffer[snowflake::kMaxIdTextLength + 1];
    const size_t n = snowflake::FormatIdText(parsed, buffer);
    Check(n <= snowflake::kMaxIdTextLength && buffer[n] == '\0', "formatted length");
    Check(std::string(buffer) == std::to_string(parsed), "canonical decimal text");
    int64_t back = 0;
    Check(snowflake::ParseIdText(buffer, n, &back) == snowflake::ParseIdOutcome::kOk &&
              back == parsed,
          "format then parse gives the same value");
    CheckDecoders(parsed);
  }
  // The raw bytes as an ID too, so the decoders see every bit pattern.
  if (size >= 8) {
    uint64_t raw = 0;
    for (int i = 0; i < 8; ++i) raw = (raw << 8) | data[i];
    CheckDecoders(static_cast<int64_t>(raw));
  }
  return 0;
}
