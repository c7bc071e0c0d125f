/*
 * advance_past.cpp: snowflake_advance_past(id), what setval() is to a
 * sequence: after a restore, or a state file recovered by hand, it makes
 * every later ID of this server greater than id.
 *
 * Owns: the order of the two steps that make that durable. First the
 * reservation is raised to cover id's millisecond through the one renewal
 * path (RenewReservationLocked: the state file, fsynced, under the snowflake
 * LWLock), so a restart starts past it; only then is last_issued raised by
 * compare-and-swap (RaiseFloor, as WAL replay does), so the running server's
 * next ID is past it. A raised floor is not an issued ID: snowflake_status()
 * does not show it as last_id. It never writes the state file itself and never lowers anything.
 * No frame here owns an object with a destructor.
 */
#include "pg_headers.h"

#include "../core/generator.h"
#include "../core/layout.h"
#include "errors.h"
#include "next_id.h"
#include "settings.h"
#include "shared_state.h"

SNOWFLAKE_SQL_FUNCTION(snowflake_advance_past)

Datum snowflake_advance_past(PG_FUNCTION_ARGS) {
  const int64 id = PG_GETARG_INT64(0);
  /* Also revoked from PUBLIC in SQL; this holds should someone grant it. */
  if (!superuser())
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("only superusers may call snowflake_advance_past()"),
                    errdetail("It moves the floor of every ID this server issues."),
                    errhint("Connect as a superuser to raise the floor.")));
  SnowflakeShared* shared = CheckCanIssueIds("snowflake_advance_past()");

  snowflake::DecodedId decoded{};
  if (!snowflake::DecodeId(id, &decoded).ok())
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("snowflake ID %lld is out of range", (long long)id),
                    errdetail("A snowflake ID is never negative."),
                    errhint("Pass the greatest ID that later IDs must exceed.")));
  const int64 floor_ms = decoded.timestamp_ms;
  if (floor_ms >= snowflake::kMaxTimestampMs)
    ereport(ERROR,
            (errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
             errmsg("no snowflake ID can be greater than %lld", (long long)id),
             errdetail("Its millisecond is the last of the layout, 2093-09-06 15:47:35.551+00."),
             errhint("Check where this ID came from: IDs of this layout cannot pass it.")));

  const int64 now_ms = snowflake_clock.NowMs();
  /* The next ID's millisecond will be floor_ms + 1, or the clock if later. */
  const int64 lead_ms = floor_ms + 1 - now_ms;
  if (lead_ms > max_clock_drift_setting_ms)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
             errmsg("snowflake_advance_past(%lld) would put IDs %lld ms ahead of the system "
                    "clock",
                    (long long)id, (long long)lead_ms),
             errdetail("snowflake.max_clock_drift allows %d ms. Nothing was changed.",
                       max_clock_drift_setting_ms),
             errhint("Check the system clock. To continue ahead of it, raise "
                     "snowflake.max_clock_drift to at least %lld ms, reload the configuration, "
                     "and call again; or wait until the clock is that close to the ID's time.",
                     (long long)lead_ms)));

  /* Durable first: after a crash, the next start begins past floor_ms. */
  const snowflake::Status status = RenewReservationLocked(shared, now_ms, floor_ms);
  if (!status.ok()) ReportReservationFailed(status);
  snowflake::RaiseFloor(&shared->generator, floor_ms, floor_ms);
  PG_RETURN_VOID();
}
