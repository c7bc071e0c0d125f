/*
 * shared_state.cpp: shared memory set-up and the start-up read of the state
 * file. See shared_state.h for the locking rules.
 */
#include "pg_headers.h"

#include "shared_state.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "../core/clock.h"
#include "../core/reservation.h"
#include "own_floor.h"
#include "reservation_wal.h"
#include "settings.h"

SnowflakeShared* snowflake_shared = nullptr;
snowflake::PosixStateStore snowflake_state_store(SNOWFLAKE_STATE_DIRECTORY);
snowflake::SystemClock snowflake_wall_clock;
snowflake::MonotonicClock snowflake_monotonic_clock;
snowflake::GuardedClock snowflake_clock(&snowflake_wall_clock, &snowflake_monotonic_clock,
                                        &clock_jump_hold_setting_ms);

/*
 * The postmaster's memory of the floor across crash restarts. Shared memory
 * is made anew at a crash restart, so just before the old segment goes
 * (shmem_exit in the postmaster), RememberFloor() copies the floor out of
 * it; the next LoadStateFile() starts no lower, whatever happened to the
 * state file meanwhile (removed, replaced by an older one). Only a floor
 * that came from a usable state is remembered: after a start whose state
 * was unusable (nothing was issued), shared memory holds no floor, and
 * remembering its zero would pass for a known floor and skip the bound of
 * the latest checkpoint at the next start. -1: none. Postmaster only.
 */
static int64_t remembered_floor_ms = -1;
/* Whether the current segment's floor came from a usable state (LoadStateFile). */
static bool floor_from_usable_state = false;
/*
 * Likewise the etcd lease the reservation writer held: after a crash
 * restart the new writer takes it over instead of waiting for it to expire.
 */
static int64_t remembered_lease_id = 0;

/*
 * And the clock guard's trust (clock_guard.h): CLOCK_BOOTTIME runs on across
 * a crash restart, so where the wall clock has been stays true. A guard made
 * from the wall clock as it reads at the restart would trust a forward jump
 * that was being held, and hold a correction back to where the clock had
 * been (after it was set back). Postmaster only; INT64_MIN: none yet.
 */
static int64_t remembered_clock_offset_ms = INT64_MIN;

static shmem_request_hook_type prev_shmem_request_hook = nullptr;
static shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

static void SnowflakeShmemRequest() {
  if (prev_shmem_request_hook) prev_shmem_request_hook();
  RequestAddinShmemSpace(sizeof(SnowflakeShared) + snowflake::kCacheLine);
  RequestNamedLWLockTranche("snowflake", 1);
}

/* The file a start-up status is about: the state file unless it names another. */
static const char* StatusFile(const snowflake::Status& status) {
  return status.path != nullptr ? status.path : snowflake_state_store.file_path();
}

static void MarkStateUnusable(SnowflakeShared* shared, const snowflake::Status& status) {
  shared->startup_status = StartupStatus::kStateUnusable;
  shared->state_error_code = status.code;
  shared->state_error_errno = status.sys_errno;
  strlcpy(shared->state_error_what, status.what, sizeof shared->state_error_what);
  strlcpy(shared->state_error_file, StatusFile(status), sizeof shared->state_error_file);
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
 * Whether this start is an archive recovery: a standby (standby.signal) or a
 * point-in-time restore (recovery.signal). The postmaster decides it the way
 * the startup process will, from the same signal files.
 */
static bool ArchiveRecoveryRequestedAtStart() {
  struct stat st;
  return stat(STANDBY_SIGNAL_FILE, &st) == 0 || stat(RECOVERY_SIGNAL_FILE, &st) == 0;
}

/*
 * The floor of a cold start that finds no state directory. It cannot know
 * what an earlier life of this data directory issued (the directory was
 * lost, or left behind by pg_upgrade or a restore tool), but pg_control can
 * bound it, with the same clock that stamped the IDs (to the second, so
 * + 999 ms): every ID issued up to the latest checkpoint carried a
 * millisecond at most the reservation window (1.5 s) past that clock, and
 * IDs issued after it (after a crash) are under a reservation made before
 * it, equally bounded, or under one renewed since, which crash recovery
 * replays from WAL. So the first ID goes past checkpoint + 1 s + 1.5 s.
 * Assumes the earlier server was not borrowing further ahead of its clock
 * than the window at that checkpoint (docs/backup-restore.md, "Why").
 * -1 if pg_control cannot be read.
 */
static int64_t FloorFromLatestCheckpoint() {
  bool crc_ok = false;
  ControlFileData* control = get_controlfile(DataDir, &crc_ok);
  if (control == nullptr || !crc_ok) return -1;
  const int64_t checkpoint_unix_ms = int64_t{control->checkPointCopy.time} * 1000 + 999;
  pfree(control);
  const int64_t floor_ms =
      checkpoint_unix_ms - snowflake::kEpochUnixMs + snowflake::kReserveAheadMs;
  return std::clamp<int64_t>(floor_ms, 0, snowflake::kMaxTimestampMs);
}

static void RememberFloor(int, Datum arg) {
  const SnowflakeShared* shared = reinterpret_cast<const SnowflakeShared*>(DatumGetPointer(arg));
  remembered_lease_id = shared->coordination.lease_id.load();
  /* Decided by this process (not read from a segment a backend may have scribbled on). */
  if (!floor_from_usable_state) return;
  const int64_t reserved = shared->generator.reserved_until_ms.load(std::memory_order_acquire);
  const int64_t last_ms =
      snowflake::LastIssuedMs(shared->generator.last_issued.load(std::memory_order_acquire));
  /* Read from a segment a crashed backend may have scribbled on: range-check. */
  const int64_t floor_ms = std::max(reserved, last_ms);
  if (floor_ms >= 0 && floor_ms <= snowflake::kMaxTimestampMs)
    remembered_floor_ms = std::max(remembered_floor_ms, floor_ms);
}

static void RememberClockGuard(int, Datum arg) {
  const SnowflakeShared* shared = reinterpret_cast<const SnowflakeShared*>(DatumGetPointer(arg));
  const int64_t offset_ms = shared->clock_guard.max_offset_ms.load(std::memory_order_relaxed);
  /* Range-checked like the floor: wall (layout ms) - monotonic (ms since boot). */
  if (offset_ms >= -snowflake::kMaxTimestampMs && offset_ms <= snowflake::kMaxTimestampMs)
    remembered_clock_offset_ms = offset_ms;
  /*
   * The segment goes next: until the new guard is attached, the postmaster
   * reads the wall clock as at its first start (LoadStateFile does), not a
   * guard at an address that is no longer mapped.
   */
  snowflake_clock.Attach(nullptr);
}

/*
 * This server's own floor (own_floor.h), once the state file was read or
 * created: raises *floor_ms to it (it is above the state file's when
 * pg_rewind replaced that file with another member's), and creates the file
 * when it is missing, with create_floor_ms.
 */
static snowflake::Status ApplyOwnFloor(int32_t node_id, bool assigned, int64_t create_floor_ms,
                                       int64_t* floor_ms) {
  int64_t own_floor_ms = -1;
  const snowflake::Status status = LoadOwnFloor(node_id, assigned, create_floor_ms, &own_floor_ms);
  if (status.ok() && own_floor_ms > *floor_ms) {
    ereport(LOG,
            (errmsg("snowflake: \"%s\" holds a lower reservation than this server's own floor "
                    "in \"%s\"; continuing after the own floor",
                    snowflake_state_store.file_path(), snowflake_own_floor_store.file_path()),
             errdetail("The state file was replaced (by pg_rewind, say) after this server last "
                       "reserved IDs; the own floor is %lld ms past it.",
                       (long long)(own_floor_ms - *floor_ms))));
    *floor_ms = own_floor_ms;
  }
  return status;
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

 * In archive recovery the file is marked "promotion pending" before anything
 * else happens, so that a crash right after a promotion, before this server
 * reserved anything of its own, still adds the promotion margin at the next
 * start (the signal files are gone by then).
 *
 * Beside the state file, the own-floor file (own_floor.h) raises the floor
 * to what this server reserved for its own IDs, which a pg_rewind does not
 * take away; it is created when missing.
 */
static void LoadStateFile(SnowflakeShared* shared) {
  const int32_t node_id = node_id_setting;
  const uint64 system_identifier = GetSystemIdentifier();
  const bool archive_recovery = ArchiveRecoveryRequestedAtStart();
  int64_t floor_ms = -1;
  snowflake::ClockCondition condition = snowflake::ClockCondition::kNormal;
  bool borrowing_event = false;
  bool promotion_pending = archive_recovery;

  /*
   * Without a node id nothing is issued, so the disk is not touched; but a
   * standby keeps the floor it replays whatever its node id (it may be given
   * one before it is promoted), so in archive recovery the file is used.
   * Its node id field then names the IDs the floor covers: 0 until replay
   * writes the primary's.
   */
  const bool coordinated = CoordinationConfigured();
  /* etcd assigns the node id: the file keeps the one assigned last, and the floor. */
  const bool assigned = coordinated && node_id == kNodeIdUnset;
  int32_t preferred_node_id = -1;
  const bool use_state = node_id != kNodeIdUnset || archive_recovery || assigned;
  const int32_t file_node_id = node_id != kNodeIdUnset ? node_id : 0;
  bool created = false;
  snowflake::Status status = snowflake::Status::Ok();
  snowflake::PersistedState persisted{};
  if (use_state) {
    /*
     * A missing directory is created with its file in one step (all or
     * nothing), with the floor the postmaster remembers (a crash restart
     * after the directory went missing) or, with no state at all (a first
     * start, or a directory lost while the server was down), the bound of
     * the latest checkpoint: no earlier ID lies past it.
     */
    struct stat st;
    int64_t new_floor_ms = remembered_floor_ms;
    if (new_floor_ms < 0 && lstat(SNOWFLAKE_STATE_DIRECTORY, &st) != 0)
      new_floor_ms = FloorFromLatestCheckpoint();
    persisted = snowflake::PersistedState{
        file_node_id, std::max<int64_t>(new_floor_ms, 0), system_identifier,
        archive_recovery ? snowflake::kStatePromotionPending : 0u};
    if (new_floor_ms < 0 && lstat(SNOWFLAKE_STATE_DIRECTORY, &st) != 0)
      status = snowflake::Status::Error(snowflake::StatusCode::kIoError,
                                        "pg_control could not be read to bound earlier IDs", EIO);
    else
      status = snowflake_state_store.CreateDirectoryWithState(persisted, &created);
  }

  if (!use_state) {
    /* nothing to load */
  } else if (status.ok() && created && remembered_floor_ms >= 0) {
    /*
     * The directory went missing while the server ran, and this is a crash
     * restart: not a first start. The postmaster still knows the floor.
     */
    floor_ms = remembered_floor_ms;
    ereport(WARNING,
            (errmsg("snowflake: \"%s\" was missing at a crash restart; recreated it with the "
                    "reservation this server held before the crash",
                    snowflake_state_store.file_path()),
             errhint("Find out what removed it; a state directory must survive as long as the "
                     "data directory.")));
    status = ApplyOwnFloor(node_id, assigned, floor_ms, &floor_ms);
    condition = ClassifyStartLead(floor_ms, &borrowing_event);
  } else if (status.ok() && created) {
    /*
     * No state: a first start, or a state directory lost while the server
     * was down. Either way no earlier ID lies past the latest checkpoint's
     * bound, so the new file starts there.
     */
    floor_ms = persisted.reserved_until_ms;
    /* The bound is not a reservation of this server's own IDs. */
    status = ApplyOwnFloor(node_id, assigned, 0, &floor_ms);
    ereport(LOG, (errmsg("snowflake: created \"%s\"; no state was found, so this is the first "
                         "start of snowflake on this server, or its state directory was lost",
                         snowflake_state_store.file_path()),
                  errdetail("IDs start after the latest checkpoint (plus the reservation "
                            "window), past every ID an earlier start could have issued.")));
    /* Up to 2.5 s ahead right after a checkpoint: expected, not a clock event. */
    const int64_t lead_ms = floor_ms - snowflake_clock.NowMs();
    if (lead_ms > max_clock_drift_setting_ms)
      condition = ClassifyStartLead(floor_ms, &borrowing_event);
    else if (lead_ms > 0)
      condition = snowflake::ClockCondition::kBorrowing;
  } else if (status.ok()) {
    status = snowflake_state_store.Load(&persisted);
    if (status.ok() && persisted.system_identifier != 0 &&
        persisted.system_identifier != system_identifier) {
      /*
       * Copied in from another cluster: its floor belongs to that cluster's
       * IDs, and this data directory may be a copy serving beside it.
       */
      ereport(WARNING,
              (errmsg("snowflake: state file \"%s\" was written by another database cluster "
                      "(system identifier " UINT64_FORMAT ", this one is " UINT64_FORMAT ")",
                      snowflake_state_store.file_path(), persisted.system_identifier,
                      system_identifier),
               errdetail("Its reservation is %lld ms after the snowflake epoch.",
                         (long long)persisted.reserved_until_ms)));
      status = snowflake::Status::Error(snowflake::StatusCode::kOtherSystem,
                                        "it was written by another database cluster");
    } else if (status.ok()) {
      floor_ms = persisted.reserved_until_ms;
      /*
       * Format 1 (snowflake 1.0) names no cluster, so a copy from another
       * cluster cannot be told from this cluster's own file: it is taken as
       * ours (pg_upgrade from a 1.0 server needs exactly that), and the first
       * reservation rewrites it in format 2. Said once, for the DBA.
       */
      if (persisted.system_identifier == 0)
        ereport(LOG, (errmsg("snowflake: state file \"%s\" is in format 1 (snowflake 1.0), which "
                             "names no database cluster; it is taken as this cluster's own",
                             snowflake_state_store.file_path()),
                      errdetail("The next reservation rewrites it in format 2, with this "
                                "cluster's system identifier.")));
      if (remembered_floor_ms > floor_ms) {
        /* A crash restart with a state file older than what this server held. */
        ereport(WARNING, (errmsg("snowflake: state file \"%s\" holds an older reservation than "
                                 "this server held before the crash restart; continuing after "
                                 "the one it held",
                                 snowflake_state_store.file_path())));
        floor_ms = remembered_floor_ms;
        /* On disk before anything else: a power loss now must not lose it. */
        snowflake::PersistedState raised = persisted;
        raised.reserved_until_ms = floor_ms;
        raised.system_identifier = system_identifier;
        status = snowflake_state_store.Save(raised);
        if (status.ok()) persisted = raised;
      }
      promotion_pending = archive_recovery || (persisted.flags & snowflake::kStatePromotionPending);
      /*
       * A file that replay wrote carries the primary's node id, and a
       * standby's file comes from its primary (base backup, pg_rewind): a
       * standby with a node id of its own is a supported set-up. Only a
       * server's own file with another node id means the setting changed.
       */
      const bool own_file = !(persisted.flags & snowflake::kStateReplayed) && !archive_recovery;
      if (assigned && own_file) preferred_node_id = persisted.node_id;
      if (status.ok())
        status = ApplyOwnFloor(
            node_id, assigned,
            own_file && (assigned || persisted.node_id == node_id) ? floor_ms : 0, &floor_ms);
      if (status.ok() && own_file && !assigned && persisted.node_id != node_id)
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
      if (archive_recovery && !(persisted.flags & snowflake::kStatePromotionPending)) {
        persisted.flags |= snowflake::kStatePromotionPending;
        persisted.system_identifier = system_identifier;
        status = snowflake_state_store.Save(persisted);
      }
      if (status.ok() && !archive_recovery)
        condition = ClassifyStartLead(
            floor_ms + (promotion_pending ? promotion_margin_setting_ms : 0), &borrowing_event);
    } else if (status.code == snowflake::StatusCode::kNotFound) {
      status = snowflake::Status::Error(snowflake::StatusCode::kNotFound,
                                        "the state file is missing from its directory", ENOENT);
    }
  }

  if (!status.ok()) {
    MarkStateUnusable(shared, status);
    errno = status.sys_errno;
    ereport(WARNING, (errmsg("snowflake: cannot use state file \"%s\": %s%s%s", StatusFile(status),
                             status.what, status.sys_errno ? ": " : "",
                             status.sys_errno ? strerror(status.sys_errno) : ""),
                      errhint("snowflake_next_id() raises an error until this is repaired; follow "
                              "\"A lost or damaged state file\" in docs/backup-restore.md.")));
  }

  /* A failed load leaves floor_ms at -1, or at a floor nothing was issued from. */
  floor_from_usable_state = use_state && status.ok() && floor_ms >= 0;
  snowflake::InitGeneratorState(&shared->generator, node_id, floor_ms, condition);
  InitCoordinationShared(&shared->coordination, preferred_node_id, remembered_lease_id);
  shared->promotion_pending = promotion_pending;
  shared->replayed_floor_ms.store(std::max<int64_t>(floor_ms, 0), std::memory_order_relaxed);
  if (status.ok() && floor_ms >= 0 && shared->promotion_pending.load())
    snowflake::RaiseFloor(&shared->generator, floor_ms, floor_ms + promotion_margin_setting_ms);
  if (borrowing_event) shared->generator.borrow_events.store(1, std::memory_order_relaxed);
  /* ClassifyStartLead's WARNINGs are clock warnings as the calls' are. */
  if (borrowing_event || condition == snowflake::ClockCondition::kTooFarBehind)
    shared->generator.clock_warnings.store(1, std::memory_order_relaxed);
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
    if (remembered_clock_offset_ms != INT64_MIN)
      snowflake::RestoreClockGuard(&shared->clock_guard, remembered_clock_offset_ms);
    else
      snowflake::InitClockGuard(&shared->clock_guard, snowflake_wall_clock.NowMs(),
                                snowflake_monotonic_clock.NowMs());
    /*
     * The postmaster (not a backend under EXEC_BACKEND) keeps the floor and
     * the clock guard's trust across crash restarts.
     */
    if (!IsUnderPostmaster) {
      on_shmem_exit(RememberFloor, PointerGetDatum(shared));
      on_shmem_exit(RememberClockGuard, PointerGetDatum(shared));
    }
    ConditionVariableInit(&shared->renewal_done);
    shared->startup_status = StartupStatus::kReady;
    LoadStateFile(shared);
  }
  LWLockRelease(AddinShmemInitLock);
  snowflake_shared = shared;
  snowflake_clock.Attach(&shared->clock_guard);
}

void InstallSharedStateHooks() {
  prev_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = SnowflakeShmemRequest;
  prev_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = SnowflakeShmemStartup;
}

/*
 * Takes the renewal lock without an uninterruptible wait: while another
 * process renews, sleep on the condition variable (woken when it is done,
 * and every 10 ms regardless, since a lock released without a broadcast, by
 * an error, must not strand us). The sleep runs CHECK_FOR_INTERRUPTS().
 */
void AcquireRenewalLock(SnowflakeShared* shared) {
  if (LWLockConditionalAcquire(shared->lock, LW_EXCLUSIVE)) return;
  for (;;) {
    (void)ConditionVariableTimedSleep(&shared->renewal_done, 10, PG_WAIT_EXTENSION);
    if (LWLockConditionalAcquire(shared->lock, LW_EXCLUSIVE)) break;
  }
  ConditionVariableCancelSleep();
}

void ReleaseRenewalLock(SnowflakeShared* shared) {
  LWLockRelease(shared->lock);
  ConditionVariableBroadcast(&shared->renewal_done);
}

void ApplyReplayedReservation(int32_t record_node_id, int64_t reserved_until_ms) {
  SnowflakeShared* shared = snowflake_shared;
  if (shared == nullptr) return;
  const int64_t start_after_ms =
      reserved_until_ms + (shared->promotion_pending.load() ? promotion_margin_setting_ms : 0);
  snowflake::RaiseFloor(&shared->generator, reserved_until_ms, start_after_ms);
  int64_t seen = shared->replayed_floor_ms.load(std::memory_order_relaxed);
  while (seen < reserved_until_ms &&
         !shared->replayed_floor_ms.compare_exchange_weak(seen, reserved_until_ms)) {
  }

  /* An unusable or never-loaded file is never rewritten by replay. */
  if (shared->startup_status != StartupStatus::kReady) return;
  if (node_id_setting == kNodeIdUnset && !shared->coordination.enabled &&
      !shared->promotion_pending.load())
    return; /* not loaded */

  /* Keep the file current, so that a restarted standby keeps the floor too. */
  AcquireRenewalLock(shared);
  const snowflake::PersistedState replayed{
      record_node_id, shared->generator.reserved_until_ms.load(std::memory_order_acquire),
      GetSystemIdentifier(),
      /* Replayed: another server's floor (a primary's); our own records (crash
         recovery) keep the file this server's own. */
      (record_node_id != node_id_setting &&
               record_node_id != shared->coordination.preferred_node_id.load()
           ? snowflake::kStateReplayed
           : 0u) |
          (shared->promotion_pending.load() ? snowflake::kStatePromotionPending : 0u)};
  const snowflake::Status status = snowflake_state_store.Save(replayed);
  ReleaseRenewalLock(shared);
  if (!status.ok()) {
    /*
     * Fail closed: a standby that goes on without the floor on disk could
     * let a restartpoint recycle the WAL that holds it, and forget it at its
     * next start. Stopping replay here keeps the record for the next try.
     */
    errno = status.sys_errno;
    ereport(FATAL,
            (errcode_for_file_access(),
             errmsg("snowflake: could not write the replayed reservation to \"%s\": %s: %m",
                    snowflake_state_store.file_path(), status.what),
             errdetail("Replay stops so that the WAL holding the reservation is kept."),
             errhint("Free space on, or restore write access to, that file system, and start "
                     "the server again.")));
  }
}

static snowflake::Status RenewUpToHighWater(SnowflakeShared* shared, int64_t now_ms,
                                            int64_t needed_ms);

void ApplyPromotionMargin(SnowflakeShared* shared) {
  if (!shared->promotion_pending.load() || RecoveryInProgress()) return;
  const int64_t replayed = shared->replayed_floor_ms.load(std::memory_order_relaxed);
  snowflake::RaiseFloor(&shared->generator, replayed, replayed + promotion_margin_setting_ms);
}

snowflake::Status RenewReservationLocked(SnowflakeShared* shared, int64_t now_ms,
                                         int64_t needed_ms) {
  for (;;) {
    const snowflake::Status status = RenewUpToHighWater(shared, now_ms, needed_ms);
    if (status.code != snowflake::StatusCode::kBeyondHighWater) return status;
    /* The writer raises the mark itself; others ask it to. */
    if (shared->coordination.writer_latch.load() == MyLatch || !WaitForHighWater(shared, needed_ms))
      return status;
  }
}

static snowflake::Status RenewUpToHighWater(SnowflakeShared* shared, int64_t now_ms,
                                            int64_t needed_ms) {
  AcquireRenewalLock(shared);
  /*
   * Under the lock: the writer changes the node id and its mark under it
   * too, so the cap always belongs to the node id IDs are stamped with.
   */
  const int64_t cap_ms = shared->coordination.enabled ? shared->coordination.high_water_ms.load()
                                                      : snowflake::kMaxTimestampMs;
  /* After a promotion: the margin as configured now (it may have been raised for it). */
  ApplyPromotionMargin(shared);
  /* Visible in pg_stat_activity while the file is written and synced. */
  pgstat_report_wait_start(PG_WAIT_EXTENSION);
  snowflake::Status status = snowflake::RenewReservation(
      &shared->generator, snowflake_reservation_store, now_ms, needed_ms, cap_ms);
  /* The margin is durable now (the file's pending mark is cleared with it). */
  if (status.ok() && shared->promotion_pending.load() && !RecoveryInProgress() &&
      shared->generator.reserved_until_ms.load() >=
          snowflake::LastIssuedMs(shared->generator.last_issued.load()))
    shared->promotion_pending.store(false);
  pgstat_report_wait_end();
  ReleaseRenewalLock(shared);
  return status;
}
