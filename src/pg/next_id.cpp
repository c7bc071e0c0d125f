/*
 * next_id.cpp: snowflake_next_id(), the SQL entry point of the hot path.
 *
 * Owns: the checks before an ID may be issued (preloaded, node id set, state
 * usable, not in recovery), the wait for the next millisecond, and the
 * synchronous renewal when a call reaches the end of the reserved window.
 * Locking: none on the hot path (one compare-and-swap in the core); the
 * snowflake LWLock only around a synchronous renewal (shared_state.h).
 */
#include "pg_headers.h"

#include <ctime>

#include "../core/clock.h"
#include "../core/generator.h"
#include "errors.h"
#include "settings.h"
#include "shared_state.h"

/*
 * A wait for the next millisecond normally lasts under a millisecond; one
 * that lasts a second means the wall clock is not moving. The bound is kept
 * with the monotonic clock, read every kSpinsPerCheck spins, so it does not
 * depend on what a wall-clock read costs.
 */
static constexpr int64 kMaxNextMsWaitNs = int64{1000} * 1000 * 1000;
static constexpr uint64 kSpinsPerCheck = 1024;

static int64 MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64{ts.tv_sec} * 1000 * 1000 * 1000 + ts.tv_nsec;
}

SNOWFLAKE_SQL_FUNCTION(snowflake_next_id)

Datum snowflake_next_id(PG_FUNCTION_ARGS) {
  SnowflakeShared* shared = snowflake_shared;
  if (unlikely(shared == nullptr)) ReportNotPreloaded("snowflake_next_id()");
  if (unlikely(node_id_setting == kNodeIdUnset)) ReportNodeIdUnset();
  if (unlikely(shared->startup_status != StartupStatus::kReady)) ReportStateUnusable(shared);
  if (unlikely(RecoveryInProgress())) ReportInRecovery();

  uint64 spins = 0;
  int64 wait_started_ns = 0;
  for (;;) {
    const snowflake::NextIdResult result =
        snowflake::NextId(&shared->generator, &snowflake_clock, max_clock_drift_setting_ms);
    switch (result.outcome) {
      case snowflake::NextIdOutcome::kIssued:
        if (unlikely(result.condition_changed)) LogClockConditionChange(result);
        PG_RETURN_INT64(result.id);

      case snowflake::NextIdOutcome::kSequenceExhausted:
        if (spins == 0) shared->generator.next_ms_waits.fetch_add(1, std::memory_order_relaxed);
        ++spins;
        if (spins % kSpinsPerCheck == 0) {
          CHECK_FOR_INTERRUPTS();
          const int64 now_ns = MonotonicNs();
          if (wait_started_ns == 0)
            wait_started_ns = now_ns;
          else if (now_ns - wait_started_ns > kMaxNextMsWaitNs)
            ReportClockNotAdvancing();
        }
        continue;

      case snowflake::NextIdOutcome::kNeedsReservation: {
        const snowflake::Status status =
            RenewReservationLocked(shared, result.now_ms, result.candidate_ms);
        if (!status.ok()) ReportReservationFailed(status);
        continue;
      }

      case snowflake::NextIdOutcome::kClockTooFarBehind:
        if (result.condition_changed) LogClockConditionChange(result);
        ReportClockTooFarBehind(result);

      case snowflake::NextIdOutcome::kTimeRangeExhausted:
        ReportTimeRangeExhausted();

      case snowflake::NextIdOutcome::kClockBeforeEpoch:
        ReportClockBeforeEpoch(result);
    }
  }
}
