// id_text.h: the text form of an ID, for the snowflake type's input and output.
//
// Owns: parsing and formatting the decimal text of a 64-bit ID. The syntax is
// bigint's (PostgreSQL 15's int8in): optional white space, an optional sign,
// one or more decimal digits, optional white space. The whole int64 range is
// accepted, negative values included, so that every value a snowflake column
// can hold (a bigint cast to snowflake is not checked) dumps and restores.
// Threading: pure functions, no state.
#ifndef SNOWFLAKE_CORE_ID_TEXT_H
#define SNOWFLAKE_CORE_ID_TEXT_H

#include <cstddef>
#include <cstdint>

namespace snowflake {

enum class ParseIdOutcome {
  kOk,
  kSyntax,      // not the syntax above (empty, stray characters, no digits)
  kOutOfRange,  // the syntax is right but the value does not fit 64 bits
};

// Parses text[0, length); on kOk stores the value in *id, else leaves it.
ParseIdOutcome ParseIdText(const char* text, size_t length, int64_t* id);

// "-9223372036854775808" is the longest text: 20 characters.
inline constexpr size_t kMaxIdTextLength = 20;

// Writes the decimal form of id and a terminating NUL into buffer, which has
// room for kMaxIdTextLength + 1 characters; returns the length without NUL.
size_t FormatIdText(int64_t id, char* buffer);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_ID_TEXT_H
