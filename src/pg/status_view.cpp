/*
 * status_view.cpp: snowflake_status(), what a DBA sees of the generator.
 *
 * Owns: one SQL function returning one row. Reads shared memory without a
 * lock: each field is a single atomic load, so the row is a snapshot of each
 * value, not of all of them at one instant. Execution is granted to
 * pg_monitor by the install script.
 */
#include "pg_headers.h"

#include "../core/clock.h"
#include "../core/generator.h"
#include "errors.h"
#include "layout_time.h"
#include "settings.h"
#include "shared_state.h"

SNOWFLAKE_SQL_FUNCTION(snowflake_status)

static constexpr int kStatusColumns = 11;

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

Datum snowflake_status(PG_FUNCTION_ARGS) {
  SnowflakeShared* shared = snowflake_shared;
  if (shared == nullptr) ReportNotPreloaded("snowflake_status()");

  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "return type must be a row type");
  tupdesc = BlessTupleDesc(tupdesc);

  const snowflake::GeneratorState& gen = shared->generator;
  const int64 now_ms = snowflake_clock.NowMs();
  const uint64 last = gen.last_issued.load(std::memory_order_acquire);
  const int64 reserved = gen.reserved_until_ms.load(std::memory_order_acquire);
  /* Nothing is issued without a node id, but never compose an ID from -1. */
  const bool issued_since_start = last != gen.start_last_issued.load(std::memory_order_relaxed) &&
                                  snowflake::IsValidNodeId(gen.node_id.load());
  const int64 last_ms = snowflake::LastIssuedMs(last);

  Datum values[kStatusColumns];
  bool nulls[kStatusColumns] = {};
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
  values[i++] = Int64GetDatum((int64)gen.reservation_writes.load(std::memory_order_relaxed));
  values[i++] = Int64GetDatum((int64)gen.reservation_failures.load(std::memory_order_relaxed));
  values[i++] = CStringGetTextDatum(StateName(shared));
  Assert(i == kStatusColumns);

  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
