/*
 * snowflake_type.cpp: text input and output of the snowflake type.
 *
 * Owns: snowflake_in and snowflake_out. The type is a bigint underneath
 * (8 bytes, by value, binary-compatible casts both ways); the binary
 * send/receive functions and every operator are bigint's own built-in
 * functions, declared in the install script. The text form is the decimal
 * number with bigint's syntax (src/core/id_text.h), so dumps, COPY and
 * drivers that do not know the type all see the same digits. It is a type of
 * its own so that to_json() and friends render it as a JSON string.
 * Pure functions: IMMUTABLE STRICT PARALLEL SAFE, no preload needed.
 */
#include "pg_headers.h"

#include "../core/id_text.h"

SNOWFLAKE_SQL_FUNCTION(snowflake_in)
SNOWFLAKE_SQL_FUNCTION(snowflake_out)

Datum snowflake_in(PG_FUNCTION_ARGS) {
  const char* text = PG_GETARG_CSTRING(0);
  int64_t id = 0;
  switch (snowflake::ParseIdText(text, strlen(text), &id)) {
    case snowflake::ParseIdOutcome::kOk:
      break;
    case snowflake::ParseIdOutcome::kSyntax:
      ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                      errmsg("invalid input syntax for type %s: \"%s\"", "snowflake", text),
                      errhint("A snowflake ID is written as a decimal integer, "
                              "such as 384714070210670592.")));
    case snowflake::ParseIdOutcome::kOutOfRange:
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("value \"%s\" is out of range for type %s", text, "snowflake"),
                      errhint("A snowflake ID fits a bigint.")));
  }
  PG_RETURN_INT64(id);
}

Datum snowflake_out(PG_FUNCTION_ARGS) {
  char* buffer = static_cast<char*>(palloc(snowflake::kMaxIdTextLength + 1));
  snowflake::FormatIdText(PG_GETARG_INT64(0), buffer);
  PG_RETURN_CSTRING(buffer);
}
