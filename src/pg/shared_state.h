/*
 * shared_state.h: snowflake's shared memory and what start-up puts in it.
 *
 * Owns: the SnowflakeShared struct ("snowflake" in shared memory), the
 * snowflake LWLock tranche, the state file store, loading the state file
 * when shared memory is (re)initialised (at server start and after every
 * crash restart, in the postmaster), and what WAL replay does to the floor
 * (ApplyReplayedReservation, called by redo in reservation_wal.cpp).
 *
 * Locking rules:
 *   - generator: lock-free for issuing IDs (see src/core/generator.h).
 *   - lock (LW_EXCLUSIVE) serialises every write of the state file and of
 *     the WAL record, so reserved_until has one writer at a time
 *     (src/core/reservation.h). A renewal can take long (a stalled disk, a
 *     synchronous standby that does not answer), so nobody waits for the
 *     lock itself: others try it without waiting and sleep on
 *     renewal_done, a condition variable, which is interruptible (cancel,
 *     statement_timeout, termination, shutdown).
 *   - startup_status and the error fields are written once, by the
 *     postmaster, before any backend exists; afterwards they are read-only.
 *     promotion_pending is set by the postmaster and cleared, under the
 *     renewal lock, by the first renewal after a promotion.
 *   - WAL replay (the startup process) raises the floor with the core's
 *     RaiseFloor (compare-and-swap) and writes the state file under lock.
 */
#ifndef SNOWFLAKE_PG_SHARED_STATE_H
#define SNOWFLAKE_PG_SHARED_STATE_H

#include "../core/clock.h"
#include "../core/clock_guard.h"
#include "../core/generator.h"
#include "../core/posix_state_store.h"
#include "../core/status.h"
#include "coordination.h"

/* The state file's directory, relative to the data directory. */
#define SNOWFLAKE_STATE_DIRECTORY "pg_snowflake"

enum class StartupStatus : int32_t {
  kReady = 0,
  kStateUnusable = 1,  // the state file is corrupt, unreadable or another cluster's
};

struct SnowflakeShared {
  snowflake::GeneratorState generator;
  snowflake::ClockGuardState clock_guard; /* read by every caller; logged by the writer */
  LWLock* lock;
  ConditionVariable renewal_done; /* broadcast after every renewal */
  StartupStatus startup_status;
  /*
   * The server is in archive recovery (a standby, or a point-in-time
   * restore), or was promoted from it and has not reserved since: replayed
   * floors get snowflake.promotion_margin added, so a promoted standby starts
   * that far past its old primary's last replayed reservation.
   */
  std::atomic<bool> promotion_pending; /* cleared by the first renewal after promotion */
  /* The highest reservation read from the state file or replayed (no margin). */
  std::atomic<int64_t> replayed_floor_ms;
  CoordinationShared coordination; /* node ids leased from etcd (coordination.h) */
  snowflake::StatusCode state_error_code;
  int state_error_errno;
  char state_error_what[128];
  char state_error_file[64]; /* relative to the data directory */
};

/* NULL unless the library was loaded through shared_preload_libraries. */
extern SnowflakeShared* snowflake_shared;

/*
 * The clock IDs are stamped with: the wall clock, guarded against forward
 * jumps (src/core/clock_guard.h; attached to shared memory at start-up,
 * held for snowflake.clock_jump_hold). One object shared by all glue code,
 * so that no frame that can reach ereport(ERROR) owns a Clock with a
 * destructor. snowflake_wall_clock and snowflake_monotonic_clock are its two
 * sources.
 */
extern snowflake::GuardedClock snowflake_clock;
extern snowflake::SystemClock snowflake_wall_clock;
extern snowflake::MonotonicClock snowflake_monotonic_clock;

/* The state file store; every process uses its own copy of this object. */
extern snowflake::PosixStateStore snowflake_state_store;

/* Called from _PG_init while preloading. */
void InstallSharedStateHooks();

/*
 * WAL replay of a reservation (redo, in the startup process): raises the
 * floor in shared memory and keeps the state file current.
 */
void ApplyReplayedReservation(int32_t record_node_id, int64_t reserved_until_ms);

/*
 * After a promotion (promotion_pending, out of recovery), raises the floor to
 * the replayed floor plus snowflake.promotion_margin as it is set now; called
 * under the renewal lock before every renewal (idempotent).
 */
void ApplyPromotionMargin(SnowflakeShared* shared);

/* The renewal lock (see the locking rules above): interruptible waits. */
void AcquireRenewalLock(SnowflakeShared* shared);
void ReleaseRenewalLock(SnowflakeShared* shared);

/*
 * Takes the lock, renews, releases; returns the store's status. With etcd,
 * no reservation goes past the node id's high-water mark: a caller that
 * needs more waits for the reservation writer to raise it (the writer
 * itself gets kBeyondHighWater back).
 */
snowflake::Status RenewReservationLocked(SnowflakeShared* shared, int64_t now_ms,
                                         int64_t needed_ms);

#endif /* SNOWFLAKE_PG_SHARED_STATE_H */
