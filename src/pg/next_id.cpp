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

#include "../core/clock.h"
#include "../core/generator.h"
#include "errors.h"
#include "settings.h"
#include "shared_state.h"

/*
 * Spinning this many times while waiting for the next millisecond means the
 * clock is not moving: each spin reads the clock (20 ns or more), so this is
 * a second or more, against a normal wait of under a millisecond.
 */
static constexpr uint64 kMaxNextMsSpins = uint64{1} << 26;

SNOWFLAKE_SQL_FUNCTION(snowflake_next_id)

Datum snowflake_next_id(PG_FUNCTION_ARGS) {
  SnowflakeShared* shared = snowflake_shared;
  if (unlikely(shared == nullptr)) ReportNotPreloaded("snowflake_next_id()");
  if (unlikely(node_id_setting == kNodeIdUnset)) ReportNodeIdUnset();
  if (unlikely(shared->startup_status != StartupStatus::kReady)) ReportStateUnusable(shared);
  if (unlikely(RecoveryInProgress())) ReportInRecovery();

  uint64 spins = 0;
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
        if ((spins & 1023) == 0) {
          CHECK_FOR_INTERRUPTS();
          if (spins > kMaxNextMsSpins) ReportClockNotAdvancing();
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
