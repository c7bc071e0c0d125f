/*
 * layout_time.h: layout milliseconds <-> PostgreSQL timestamptz.
 *
 * Owns: the one conversion between the ID layout's clock (milliseconds since
 * 2024-01-01, src/core/layout.h) and TimestampTz (microseconds since
 * 2000-01-01). Pure inline functions; include after pg_headers.h.
 */
#ifndef SNOWFLAKE_PG_LAYOUT_TIME_H
#define SNOWFLAKE_PG_LAYOUT_TIME_H

#include "../core/layout.h"

/* Microseconds between the Unix epoch and PostgreSQL's 2000-01-01 epoch. */
constexpr int64 kUnixToPostgresEpochUs =
    int64{POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE} * USECS_PER_DAY;

inline TimestampTz LayoutMsToTimestampTz(int64 layout_ms) {
  return (layout_ms + snowflake::kEpochUnixMs) * 1000 - kUnixToPostgresEpochUs;
}

inline int64 TimestampTzToUnixMs(TimestampTz t) { return (t + kUnixToPostgresEpochUs) / 1000; }

/* For log messages: the layout millisecond as timestamptz text (a static buffer). */
inline const char* LayoutMsToText(int64 layout_ms) {
  return timestamptz_to_str(LayoutMsToTimestampTz(layout_ms));
}

#endif /* SNOWFLAKE_PG_LAYOUT_TIME_H */
