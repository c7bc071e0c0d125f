/*
 * status_view.cpp: snowflake_status(), what a DBA sees of the generator.
 *
 * Owns: one SQL function returning one row. Reads shared memory without a
 * lock: each field is a single atomic load, so the row is a snapshot of each
 * value, not of all of them at one instant. Execution is granted to
 * pg_monitor by the install script.
 *
 * One C entry point per row shape of the SQL API, as pg_stat_statements
 * does: snowflake_status for the row of 1.0 to 1.2, snowflake_status_1_3 for
 * 1.3's. A database keeps the SQL definition it was created or last updated
 * with, so a newer library still serves the older row until ALTER EXTENSION
 * snowflake UPDATE; each entry point checks that the row type it is called
 * with has its column count.
 */
#include "pg_headers.h"

#include "../core/clock.h"
#include "../core/generator.h"
#include "errors.h"
#include "layout_time.h"
#include "settings.h"
#include "shared_state.h"

SNOWFLAKE_SQL_FUNCTION(snowflake_status)
SNOWFLAKE_SQL_FUNCTION(snowflake_status_1_3)

/* The row shapes of the SQL API, and their column counts. */
enum class StatusApi { kV1_0, kV1_3 };
static constexpr int kStatusColumnsV1_0 = 11;
static constexpr int kStatusColumnsV1_3 = 15;
static constexpr int kStatusColumnsMax = kStatusColumnsV1_3;

/* Why snowflake_next_id() would fail right now, or "ready". */
static const char* StateName(const SnowflakeShared* shared) {
  if (shared->startup_status != StartupStatus::kReady) return "state file unusable";
  const CoordinationShared& coordination = shared->coordination;
  if (node_id_setting == kNodeIdUnset && !coordination.enabled) return "node id not set";
  if (RecoveryInProgress()) return "in recovery";
  if (coordination.enabled &&
      snowflake_monotonic_clock.NowMs() >= coordination.valid_until_ms.load()) {
    const LeaseStatus status = static_cast<LeaseStatus>(coordination.status.load());
    /* Held, but not confirmed within the fence: etcd did not answer in time. */
    return status == LeaseStatus::kHeld ? LeaseStatusName(LeaseStatus::kUnavailable)
                                        : LeaseStatusName(status);
  }
  return "ready";
}

static Datum StatusRow(FunctionCallInfo fcinfo, StatusApi api) {
  SnowflakeShared* shared = snowflake_shared;
  if (shared == nullptr) ReportNotPreloaded("snowflake_status()");

  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "return type must be a row type");
  const int columns = api == StatusApi::kV1_0 ? kStatusColumnsV1_0 : kStatusColumnsV1_3;
  if (tupdesc->natts != columns)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("snowflake_status(): the SQL definition has %d columns, this entry point %d",
                    tupdesc->natts, columns),
             errhint("The extension's SQL objects do not match the installed library: run ALTER "
                     "EXTENSION snowflake UPDATE, or install the matching build again.")));
  tupdesc = BlessTupleDesc(tupdesc);

  const snowflake::GeneratorState& gen = shared->generator;
  const CoordinationShared& coordination = shared->coordination;
  const int64 now_ms = snowflake_clock.NowMs();
  const uint64 last = gen.last_issued.load(std::memory_order_acquire);
  const int64 reserved = gen.reserved_until_ms.load(std::memory_order_acquire);
  /* Nothing is issued without a node id, but never compose an ID from -1. */
  const bool issued_since_start = last != gen.start_last_issued.load(std::memory_order_relaxed) &&
                                  snowflake::IsValidNodeId(gen.node_id.load());
  const int64 last_ms = snowflake::LastIssuedMs(last);
  const bool v1_3 = api == StatusApi::kV1_3;

  Datum values[kStatusColumnsMax];
  bool nulls[kStatusColumnsMax] = {};
  int i = 0;
  const int32 node_id = gen.node_id.load();
  if (!snowflake::IsValidNodeId(node_id))
    nulls[i++] = true;
  else
    values[i++] = Int32GetDatum(node_id);
  if (issued_since_start) {
    values[i++] = Int64GetDatum(
        snowflake::ComposeId(last_ms, gen.node_id.load(), snowflake::LastIssuedSequence(last)));
    values[i++] = TimestampTzGetDatum(LayoutMsToTimestampTz(last_ms));
  } else {
    nulls[i++] = true;
    nulls[i++] = true;
  }
  if (reserved >= 0)
    values[i++] = TimestampTzGetDatum(LayoutMsToTimestampTz(reserved));
  else
    nulls[i++] = true;
  /* How far the newest ID runs ahead of the wall clock; 0 when it does not. */
  values[i++] = Int64GetDatum(last_ms > now_ms ? last_ms - now_ms : 0);
  values[i++] = Int64GetDatum((int64)gen.borrow_events.load(std::memory_order_relaxed));
  values[i++] = Int64GetDatum((int64)gen.next_ms_waits.load(std::memory_order_relaxed));
  values[i++] = Int64GetDatum((int64)gen.clock_behind_errors.load(std::memory_order_relaxed));
  if (v1_3) values[i++] = Int64GetDatum((int64)gen.clock_warnings.load(std::memory_order_relaxed));
  values[i++] = Int64GetDatum((int64)gen.reservation_writes.load(std::memory_order_relaxed));
  values[i++] = Int64GetDatum((int64)gen.reservation_failures.load(std::memory_order_relaxed));
  if (v1_3) {
    values[i++] = Int64GetDatum((int64)coordination.claims.load(std::memory_order_relaxed));
    values[i++] = Int64GetDatum((int64)coordination.leases_lost.load(std::memory_order_relaxed));
    values[i++] =
        Int64GetDatum((int64)coordination.fence_expirations.load(std::memory_order_relaxed));
  }
  values[i++] = CStringGetTextDatum(StateName(shared));
  Assert(i == columns);

  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* The row of SQL API 1.0 to 1.2. */
Datum snowflake_status(PG_FUNCTION_ARGS) { return StatusRow(fcinfo, StatusApi::kV1_0); }

/* The row of SQL API 1.3: the clock-warning and node-id lease counters. */
Datum snowflake_status_1_3(PG_FUNCTION_ARGS) { return StatusRow(fcinfo, StatusApi::kV1_3); }
