/*
 * decode.cpp: the SQL functions that take an ID apart or build the first ID
 * of a millisecond. Pure functions of their argument: IMMUTABLE STRICT
 * PARALLEL SAFE, and usable without the library being preloaded.
 */
#include "pg_headers.h"

#include "../core/layout.h"
#include "layout_time.h"

SNOWFLAKE_SQL_FUNCTION(snowflake_timestamp)
SNOWFLAKE_SQL_FUNCTION(snowflake_node_id)
SNOWFLAKE_SQL_FUNCTION(snowflake_sequence)
SNOWFLAKE_SQL_FUNCTION(snowflake_from_timestamp)

static snowflake::DecodedId DecodeOrError(int64 id) {
  snowflake::DecodedId decoded{};
  if (!snowflake::DecodeId(id, &decoded).ok())
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("snowflake ID %lld is out of range", (long long)id),
                    errdetail("A snowflake ID is never negative."),
                    errhint("Pass an ID made by snowflake_next_id().")));
  return decoded;
}

Datum snowflake_timestamp(PG_FUNCTION_ARGS) {
  PG_RETURN_TIMESTAMPTZ(LayoutMsToTimestampTz(DecodeOrError(PG_GETARG_INT64(0)).timestamp_ms));
}

Datum snowflake_node_id(PG_FUNCTION_ARGS) {
  PG_RETURN_INT32(DecodeOrError(PG_GETARG_INT64(0)).node_id);
}

Datum snowflake_sequence(PG_FUNCTION_ARGS) {
  PG_RETURN_INT32(DecodeOrError(PG_GETARG_INT64(0)).sequence);
}

Datum snowflake_from_timestamp(PG_FUNCTION_ARGS) {
  const TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
  int64 id = 0;
  bool in_range = !TIMESTAMP_NOT_FINITE(ts);
  if (in_range) {
    /* Floor to the millisecond, also before 1970 where / rounds towards 0. */
    const int64 unix_us = ts + kUnixToPostgresEpochUs;
    const int64 unix_ms = unix_us / 1000 - (unix_us % 1000 < 0 ? 1 : 0);
    in_range = snowflake::FirstIdOfMillisecond(unix_ms - snowflake::kEpochUnixMs, &id).ok();
  }
  if (!in_range)
    ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                    errmsg("timestamp out of range for a snowflake ID"),
                    errdetail("snowflake IDs cover 2024-01-01 00:00:00+00 to "
                              "2093-09-06 15:47:35.551+00."),
                    errhint("Clamp the timestamp to that range.")));
  PG_RETURN_INT64(id);
}
