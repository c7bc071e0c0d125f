// id_text_test.cpp: the text form of IDs (ParseIdText, FormatIdText).
// The fuzz target tests/fuzz/id_text_fuzz.cpp checks the same contract on
// generated input; these are the cases a reader should see spelled out.
#include "id_text.h"

#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace snowflake {
namespace {

ParseIdOutcome Parse(const std::string& text, int64_t* id) {
  return ParseIdText(text.data(), text.size(), id);
}

TEST(IdTextTest, ParsesWhatBigintAccepts) {
  const struct {
    const char* text;
    int64_t value;
  } cases[] = {
      {"0", 0},
      {"42", 42},
      {"  42  ", 42},
      {"\t\n\v\f\r42\n", 42},
      {"+42", 42},
      {"-42", -42},
      {"-0", 0},
      {"000000000000000000000000042", 42},
      {"384714070210670592", 384714070210670592},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
  };
  for (const auto& c : cases) {
    int64_t id = 12345;
    EXPECT_EQ(Parse(c.text, &id), ParseIdOutcome::kOk) << c.text;
    EXPECT_EQ(id, c.value) << c.text;
  }
}

TEST(IdTextTest, RefusesBadSyntaxAndLeavesTheOutputAlone) {
  for (const char* text : {"", " ", "+", "-", "+-1", "--1", "1 2", "1a", "a1", "0x10", "1e3", "1.0",
                           "1_000", "١٢", "12\x01"}) {
    int64_t id = 777;
    EXPECT_EQ(Parse(text, &id), ParseIdOutcome::kSyntax) << text;
    EXPECT_EQ(id, 777) << text;
  }
  int64_t id = 777;
  const char embedded_nul[] = {'1', '\0', '2'};
  EXPECT_EQ(ParseIdText(embedded_nul, 3, &id), ParseIdOutcome::kSyntax);
}

TEST(IdTextTest, RefusesValuesOutsideSixtyFourBits) {
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "99999999999999999999999",
                           "18446744073709551616"}) {
    int64_t id = 777;
    EXPECT_EQ(Parse(text, &id), ParseIdOutcome::kOutOfRange) << text;
    EXPECT_EQ(id, 777) << text;
  }
  // A syntax error after an overflowing number is a syntax error.
  int64_t id = 0;
  EXPECT_EQ(Parse("99999999999999999999x", &id), ParseIdOutcome::kSyntax);
}

TEST(IdTextTest, FormatsAndRoundTrips) {
  for (int64_t v :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{384714070210670592}, INT64_MAX, INT64_MIN}) {
    char buffer[kMaxIdTextLength + 1];
    const size_t n = FormatIdText(v, buffer);
    EXPECT_EQ(n, std::strlen(buffer));
    EXPECT_EQ(std::string(buffer), std::to_string(v));
    int64_t back = 0;
    ASSERT_EQ(ParseIdText(buffer, n, &back), ParseIdOutcome::kOk);
    EXPECT_EQ(back, v);
  }
}

}  // namespace
}  // namespace snowflake
