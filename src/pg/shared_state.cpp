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

/* Logs where IDs continue after a start whose stored floor is ahead of the clock. */
static snowflake::ClockCondition ClassifyStartLead(int64_t floor_ms, bool* borrowing_event) {
  const int64_t lead_ms = floor_ms - snowflake_clock.NowMs();
  *borrowing_event = false;
  if (lead_ms > max_clock_drift_setting_ms) {
    /* The clock was set back while the server was down, too far to borrow. */
    ereport(WARNING, (errmsg("snowflake: system clock is %lld ms behind the reservation stored in "
                             "\"%s\", more than snowflake.max_clock_drift allows",
                             (long long)lead_ms, snowflake_state_store.file_path()),
                      errdetail("snowflake_next_id() raises an error until the clock catches up."),
                      errhint("Correct the system clock, or raise snowflake.max_clock_drift.")));
    return snowflake::ClockCondition::kTooFarBehind;
  }
  if (lead_ms > snowflake::kReserveAheadMs) {
    /* Set back while down, within the bound: a borrowing event. */
    *borrowing_event = true;
    ereport(WARNING,
            (errmsg("snowflake: system clock is %lld ms behind the reservation stored in \"%s\"",
                    (long long)lead_ms, snowflake_state_store.file_path()),
             errdetail("IDs continue after the stored reservation, ahead of the clock."),
             errhint("Check the system clock and its time synchronisation.")));
    return snowflake::ClockCondition::kBorrowing;
  }
  if (lead_ms > 0) {
    /* A restart within the reservation window: expected, not a clock event. */
    ereport(LOG, (errmsg("snowflake: continuing %lld ms ahead of the clock, after the "
                         "reservation stored in \"%s\"",
                         (long long)lead_ms, snowflake_state_store.file_path())));
    return snowflake::ClockCondition::kBorrowing;
  }
  return snowflake::ClockCondition::kNormal;
}

/*
 * Reads the floor from the state file. Runs in the postmaster, so problems
 * are logged here and turned into an ERROR for every later call; the
 * postmaster itself must not fail.
 *
 * A first start is told from a lost file by the directory: the first start
 * creates pg_snowflake/ with its file in one step (prepared as
 * pg_snowflake.tmp/ and renamed into place), so a directory without the file
 * means the file was lost, and that is an error, never a quiet new beginning
 * (the floor it held is unknown).
 */
static void LoadStateFile(SnowflakeShared* shared) {
  const int32_t node_id = node_id_setting;
  int64_t floor_ms = -1;
  snowflake::ClockCondition condition = snowflake::ClockCondition::kNormal;
  bool borrowing_event = false;

  /* Without a node id nothing is issued, so the disk is not touched. */
  bool created = false;
  snowflake::Status status = snowflake::Status::Ok();
  if (node_id != kNodeIdUnset)
    status = snowflake_state_store.CreateDirectoryWithState(snowflake::PersistedState{node_id, 0},
                                                            &created);

  if (node_id == kNodeIdUnset) {
    /* nothing to load */
  } else if (status.ok() && created) {
    /* Nothing was ever issued: the floor is the start of the layout. */
    floor_ms = 0;
    ereport(LOG, (errmsg("snowflake: created \"%s\"; this is the first start of snowflake "
                         "on this server",
                         snowflake_state_store.file_path())));
  } else if (status.ok()) {
    snowflake::PersistedState persisted{};
    status = snowflake_state_store.Load(&persisted);
    if (status.ok()) {
      floor_ms = persisted.reserved_until_ms;
      if (persisted.node_id != node_id)
        ereport(WARNING,
                (errmsg("snowflake: state file \"%s\" was written with node id %d, now running "
                        "as node id %d",
                        snowflake_state_store.file_path(), persisted.node_id, node_id),
                 errdetail("IDs continue after the stored reservation, so this server repeats "
                           "none of its own; but if another server used node id %d, IDs of that "
                           "server issued after this one's stored reservation may repeat.",
                           node_id),
                 errhint("Give every server its own node id, and never reuse one that another "
                         "server has issued IDs with.")));
      condition = ClassifyStartLead(floor_ms, &borrowing_event);
    } else if (status.code == snowflake::StatusCode::kNotFound) {
      status = snowflake::Status::Error(snowflake::StatusCode::kNotFound,
                                        "the state file is missing from its directory", ENOENT);
    }
  }

  if (!status.ok()) {
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
  if (borrowing_event) shared->generator.borrow_events.store(1, std::memory_order_relaxed);
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
  /* Visible in pg_stat_activity while the file is written and synced. */
  pgstat_report_wait_start(PG_WAIT_EXTENSION);
  snowflake::Status status =
      snowflake::RenewReservation(&shared->generator, &snowflake_state_store, now_ms, needed_ms);
  pgstat_report_wait_end();
  LWLockRelease(shared->lock);
  return status;
}
