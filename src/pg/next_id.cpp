/*
 * next_id.cpp: snowflake_next_id() and snowflake_next_ids(n), the SQL entry
 * points that issue IDs.
 *
 * Owns: the checks before an ID may be issued (preloaded, node id set, state
 * usable, not in recovery), the wait for the next millisecond, and the
 * synchronous renewal when a call reaches the end of the reserved window.
 * Locking: none on the hot path (one compare-and-swap in the core, per ID for
 * snowflake_next_id(), per run of up to 4096 IDs for snowflake_next_ids());
 * the snowflake LWLock only around a synchronous renewal (shared_state.h).
 * No frame here owns an object with a destructor, so every ereport() and
 * CHECK_FOR_INTERRUPTS() may leave it.
 */
#include "pg_headers.h"

#include "next_id.h"

#include <ctime>

#include "../core/clock.h"
#include "../core/generator.h"
#include "errors.h"
#include "settings.h"

/*
 * A wait for the next millisecond normally lasts under a millisecond; one
 * that lasts a second means the wall clock is not moving. The bound is kept
 * with the monotonic clock, read every kSpinsPerCheck spins, so it does not
 * depend on what a wall-clock read costs.
 */
static constexpr int64 kMaxNextMsWaitNs = int64{1000} * 1000 * 1000;
static constexpr uint64 kSpinsPerCheck = 1024;

/*
 * snowflake_next_ids(n) refuses n above this. A call holds no lock, but it
 * takes n / 4096 milliseconds of this server's whole capacity (4096 IDs per
 * millisecond), which every other session shares meanwhile: a million IDs is
 * at least 245 ms. A loader that wants more calls it again; a call per
 * million IDs costs nothing next to generating them.
 */
static constexpr int32 kMaxIdsPerCall = 1000000;

static int64 MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64{ts.tv_sec} * 1000 * 1000 * 1000 + ts.tv_nsec;
}

/* State of one caller's wait for the next millisecond. */
struct NextMsWait {
  uint64 spins;
  int64 started_ns;
};

/*
 * Everything but kIssued: waits a spin for the next millisecond, renews the
 * reservation, or raises the outcome's error. Returns when the caller should
 * try again. Out of line: the common case never comes here.
 */
static pg_noinline void HandleNotIssued(SnowflakeShared* shared,
                                        const snowflake::NextIdResult& result, NextMsWait* wait) {
  switch (result.outcome) {
    case snowflake::NextIdOutcome::kIssued:
      return;

    case snowflake::NextIdOutcome::kSequenceExhausted:
      if (wait->spins == 0) shared->generator.next_ms_waits.fetch_add(1, std::memory_order_relaxed);
      ++wait->spins;
      if (wait->spins % kSpinsPerCheck == 0) {
        CHECK_FOR_INTERRUPTS();
        const int64 now_ns = MonotonicNs();
        if (wait->started_ns == 0)
          wait->started_ns = now_ns;
        else if (now_ns - wait->started_ns > kMaxNextMsWaitNs)
          ReportClockNotAdvancing();
      }
      return;

    case snowflake::NextIdOutcome::kNeedsReservation: {
      const snowflake::Status status =
          RenewReservationLocked(shared, result.now_ms, result.candidate_ms);
      if (!status.ok()) ReportReservationFailed(status);
      return;
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

SNOWFLAKE_SQL_FUNCTION(snowflake_next_id)

Datum snowflake_next_id(PG_FUNCTION_ARGS) {
  SnowflakeShared* shared = CheckCanIssueIds("snowflake_next_id()");
  NextMsWait wait{0, 0};
  for (;;) {
    const snowflake::NextIdResult result =
        snowflake::NextId(&shared->generator, &snowflake_clock, max_clock_drift_setting_ms);
    if (likely(result.outcome == snowflake::NextIdOutcome::kIssued)) {
      if (unlikely(result.condition_changed)) LogClockConditionChange(result);
      PG_RETURN_INT64(result.id);
    }
    HandleNotIssued(shared, result, &wait);
  }
}

/*
 * snowflake_next_ids(n): a set-returning function in value-per-call mode.
 * Each call returns the next ID of the current run; when the run is used up,
 * the next run is claimed with one compare-and-swap (NextIdRun), up to 4096
 * IDs at a time. The runs are claimed in order, so the set is strictly
 * increasing and above every ID issued before the first call. The state
 * between calls is a plain struct in the SRF's memory context.
 */
struct NextIdsState {
  int64 remaining; /* IDs still to return, the current run included */
  int64 next_id;   /* the next ID of the current run */
  int32 run_left;  /* IDs left in the current run */
};

SNOWFLAKE_SQL_FUNCTION(snowflake_next_ids)

Datum snowflake_next_ids(PG_FUNCTION_ARGS) {
  if (SRF_IS_FIRSTCALL()) {
    const int32 n = PG_GETARG_INT32(0);
    if (n < 1 || n > kMaxIdsPerCall)
      ereport(
          ERROR,
          (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
           errmsg("snowflake_next_ids() count must be between 1 and %d, not %d", kMaxIdsPerCall, n),
           errdetail("A call takes n / 4096 ms of this server's whole capacity of 4096 IDs "
                     "per millisecond."),
           errhint("Ask for at most %d IDs per call, and call again for more.", kMaxIdsPerCall)));
    CheckCanIssueIds("snowflake_next_ids()");
    FuncCallContext* funcctx = SRF_FIRSTCALL_INIT();
    NextIdsState* state = static_cast<NextIdsState*>(
        MemoryContextAllocZero(funcctx->multi_call_memory_ctx, sizeof(NextIdsState)));
    state->remaining = n;
    funcctx->user_fctx = state;
  }
  FuncCallContext* funcctx = SRF_PERCALL_SETUP();
  NextIdsState* state = static_cast<NextIdsState*>(funcctx->user_fctx);
  if (state->remaining == 0) SRF_RETURN_DONE(funcctx);

  if (state->run_left == 0) {
    /* The first call checked that IDs may be issued here; recovery only ends. */
    SnowflakeShared* shared = snowflake_shared;
    const int32 wanted = static_cast<int32>(
        state->remaining < snowflake::kIdsPerMs ? state->remaining : snowflake::kIdsPerMs);
    NextMsWait wait{0, 0};
    /* Each run: the node id is still held (a long set spans keep-alives). */
    CheckNodeLease(&shared->coordination);
    for (;;) {
      const snowflake::NextIdRunResult run = snowflake::NextIdRun(
          &shared->generator, &snowflake_clock, max_clock_drift_setting_ms, wanted);
      if (run.first.outcome == snowflake::NextIdOutcome::kIssued) {
        if (unlikely(run.first.condition_changed)) LogClockConditionChange(run.first);
        state->next_id = run.first.id;
        state->run_left = run.count;
        break;
      }
      HandleNotIssued(shared, run.first, &wait);
    }
  }
  const int64 id = state->next_id++;
  --state->run_left;
  --state->remaining;
  SRF_RETURN_NEXT(funcctx, Int64GetDatum(id));
}
