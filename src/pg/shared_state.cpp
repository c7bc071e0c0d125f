/*
 * shared_state.cpp: shared memory set-up and the start-up read of the state
 * file. See shared_state.h for the locking rules.
 */
#include "pg_headers.h"

#include "shared_state.h"

#include <cstring>
#include <new>

#include "../core/clock.h"
#include "../core/reservation.h"
#include "settings.h"

SnowflakeShared* snowflake_shared = nullptr;
snowflake::PosixStateStore snowflake_state_store(SNOWFLAKE_STATE_DIRECTORY);
snowflake::SystemClock snowflake_clock;

static shmem_request_hook_type prev_shmem_request_hook = nullptr;
static shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

static void SnowflakeShmemRequest() {
  if (prev_shmem_request_hook) prev_shmem_request_hook();
  RequestAddinShmemSpace(sizeof(SnowflakeShared) + snowflake::kCacheLine);
  RequestNamedLWLockTranche("snowflake", 1);
}

static void MarkStateUnusable(SnowflakeShared* shared, const snowflake::Status& status) {
  shared->startup_status = StartupStatus::kStateUnusable;
  shared->state_error_code = status.code;
  shared->state_error_errno = status.sys_errno;
  strlcpy(shared->state_error_what, status.what, sizeof shared->state_error_what);
}

/*
 * Reads the floor from the state file. Runs in the postmaster, so problems
 * are logged here and turned into an ERROR for every later call; the
 * postmaster itself must not fail.
 */
static void LoadStateFile(SnowflakeShared* shared) {
  const int32_t node_id = node_id_setting;
  int64_t floor_ms = -1;
  snowflake::ClockCondition condition = snowflake::ClockCondition::kNormal;
  bool borrowing_at_start = false;

  snowflake::Status status = snowflake_state_store.EnsureDirectory();
  snowflake::PersistedState persisted{};
  if (status.ok()) status = snowflake_state_store.Load(&persisted);

  if (status.ok()) {
    floor_ms = persisted.reserved_until_ms;
    if (node_id != kNodeIdUnset && persisted.node_id != node_id)
      ereport(LOG, (errmsg("snowflake: state file \"%s\" was written with node id %d, "
                           "now running as node id %d",
                           snowflake_state_store.file_path(), persisted.node_id, node_id)));
    const int64_t lead_ms = floor_ms - snowflake_clock.NowMs();
    if (lead_ms > max_clock_drift_setting_ms) {
      /* The clock was set back while the server was down, too far to borrow. */
      condition = snowflake::ClockCondition::kTooFarBehind;
      ereport(WARNING,
              (errmsg("snowflake: system clock is %lld ms behind the reservation stored in "
                      "\"%s\", more than snowflake.max_clock_drift allows",
                      (long long)lead_ms, snowflake_state_store.file_path()),
               errdetail("snowflake_next_id() raises an error until the clock catches up."),
               errhint("Correct the system clock, or raise snowflake.max_clock_drift.")));
    } else if (lead_ms > snowflake::kReserveAheadMs) {
      /* Set back while down, within the bound: a borrowing event. */
      condition = snowflake::ClockCondition::kBorrowing;
      borrowing_at_start = true;
      ereport(WARNING,
              (errmsg("snowflake: system clock is %lld ms behind the reservation stored in \"%s\"",
                      (long long)lead_ms, snowflake_state_store.file_path()),
               errdetail("IDs continue after the stored reservation, ahead of the clock."),
               errhint("Check the system clock and its time synchronisation.")));
    } else if (lead_ms > 0) {
      /* A restart within the reservation window: expected, not a clock event. */
      condition = snowflake::ClockCondition::kBorrowing;
      ereport(LOG, (errmsg("snowflake: continuing %lld ms ahead of the clock, after the "
                           "reservation stored in \"%s\"",
                           (long long)lead_ms, snowflake_state_store.file_path())));
    }
  } else if (status.code == snowflake::StatusCode::kNotFound) {
    ereport(LOG, (errmsg("snowflake: no state file \"%s\"; this is the first start of "
                         "snowflake on this server",
                         snowflake_state_store.file_path())));
  } else {
    MarkStateUnusable(shared, status);
    errno = status.sys_errno;
    ereport(WARNING,
            (errmsg("snowflake: cannot use state file \"%s\": %s%s%s",
                    snowflake_state_store.file_path(), status.what, status.sys_errno ? ": " : "",
                    status.sys_errno ? strerror(status.sys_errno) : ""),
             errhint("snowflake_next_id() raises an error until this is repaired; see "
                     "\"Recovering the state file\" in the snowflake README.")));
  }

  snowflake::InitGeneratorState(&shared->generator, node_id, floor_ms, condition);
  if (borrowing_at_start) shared->generator.borrow_events.store(1, std::memory_order_relaxed);
  shared->initial_last_issued = shared->generator.last_issued.load(std::memory_order_relaxed);
}

static void SnowflakeShmemStartup() {
  if (prev_shmem_startup_hook) prev_shmem_startup_hook();

  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  void* raw = ShmemInitStruct("snowflake", sizeof(SnowflakeShared) + snowflake::kCacheLine, &found);
  /* ShmemInitStruct aligns to a cache line on PG15 already; be explicit. */
  void* aligned = (void*)TYPEALIGN(snowflake::kCacheLine, raw);
  SnowflakeShared* shared = static_cast<SnowflakeShared*>(aligned);
  if (!found) {
    new (shared) SnowflakeShared();
    shared->lock = &(GetNamedLWLockTranche("snowflake"))->lock;
    shared->startup_status = StartupStatus::kReady;
    LoadStateFile(shared);
  }
  LWLockRelease(AddinShmemInitLock);
  snowflake_shared = shared;
}

void InstallSharedStateHooks() {
  prev_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = SnowflakeShmemRequest;
  prev_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = SnowflakeShmemStartup;
}

snowflake::Status RenewReservationLocked(SnowflakeShared* shared, int64_t now_ms,
                                         int64_t needed_ms) {
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  snowflake::Status status =
      snowflake::RenewReservation(&shared->generator, &snowflake_state_store, now_ms, needed_ms);
  LWLockRelease(shared->lock);
  return status;
}
