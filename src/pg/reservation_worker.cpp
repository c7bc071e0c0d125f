/*
 * reservation_worker.cpp: the background worker that renews reservations
 * ahead of need, so that snowflake_next_id() never waits on the disk in
 * steady state.
 *
 * Owns: the worker's registration and main loop. It wakes every
 * kWakeIntervalMs, and when IDs were issued in the current window and less
 * than kRenewBelowMs of it is left, it takes the snowflake LWLock and writes
 * the next window (src/core/reservation.h): about one fsync per second under
 * load, none when idle. It runs only on a primary
 * (BgWorkerStart_RecoveryFinished); a standby issues no IDs.
 *
 * With snowflake.etcd_endpoints set, it is also the one process that talks
 * to etcd (coordination.h): it claims the node id, keeps its lease alive and
 * raises the node id's high-water mark before each renewal, every round
 * before it renews.
 */
#include "pg_headers.h"

#include "reservation_worker.h"

#include "../core/clock.h"
#include "../core/clock_guard.h"
#include "../core/reservation.h"
#include "settings.h"
#include "shared_state.h"

static constexpr long kWakeIntervalMs = 50;

extern "C" {
PGDLLEXPORT void snowflake_reservation_worker_main(Datum main_arg);
}

void RegisterReservationWorker() {
  BackgroundWorker worker = {};
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 1;
  strlcpy(worker.bgw_library_name, "snowflake", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "snowflake_reservation_worker_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "snowflake reservation writer", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "snowflake reservation writer", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

/*
 * Reports what the clock guard did since the last look (clock_guard.h):
 * every caller reads the guarded clock and may hold a forward jump, follow
 * it after snowflake.clock_jump_hold, or see the clock come back; the
 * counters in shared memory say which, and this worker logs it.
 */
static void LogClockGuardChanges(const SnowflakeShared* shared) {
  const snowflake::ClockGuardState& guard = shared->clock_guard;
  const uint64 held = guard.jumps_held.load(std::memory_order_relaxed);
  const uint64 followed = guard.jumps_followed.load(std::memory_order_relaxed);
  const uint64 reverted = guard.jumps_reverted.load(std::memory_order_relaxed);
  /* A restarted worker starts from what is already counted, not from zero. */
  static bool started = false;
  static uint64 seen_held, seen_followed, seen_reverted;
  if (!started) {
    started = true;
    seen_held = held;
    seen_followed = followed;
    seen_reverted = reverted;
  }
  if (held != seen_held)
    ereport(WARNING,
            (errmsg("snowflake: system clock jumped %lld ms forward; IDs do not follow it yet",
                    (long long)guard.held_jump_ms.load(std::memory_order_relaxed)),
             errdetail("IDs keep the pace of the monotonic clock from before the jump, and "
                       "nothing is reserved into it. If the clock comes back, nothing happened; "
                       "if it stays for snowflake.clock_jump_hold (%d ms), IDs follow it.",
                       clock_jump_hold_setting_ms),
             errhint("Check the system clock and its time synchronisation.")));
  if (followed != seen_followed)
    ereport(LOG, (errmsg("snowflake: IDs follow the system clock's forward jump after it held "
                         "for snowflake.clock_jump_hold")));
  if (reverted != seen_reverted)
    ereport(LOG, (errmsg("snowflake: the system clock came back from its forward jump; IDs "
                         "follow it again")));
  seen_held = held;
  seen_followed = followed;
  seen_reverted = reverted;
}

void snowflake_reservation_worker_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  /*
   * die(), not a flag: a renewal waiting for synchronous standbys that are
   * gone notices only ProcDiePending, and a shutdown must not hang on it.
   */
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  /*
   * Renewals wait for the synchronous standbys to flush, even where the
   * configuration sets synchronous_commit below that for transactions.
   */
  if (synchronous_commit < SYNCHRONOUS_COMMIT_REMOTE_FLUSH)
    SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);

  SnowflakeShared* shared = snowflake_shared;
  /* With etcd: this worker claims the node id and keeps its lease (coordination.h). */
  if (shared != nullptr) CoordinationWriterStart(shared);
  bool failing = false;
  for (;;) {
    if (shared != nullptr) LogClockGuardChanges(shared);
    /* Peek: calls decide about clock jumps; renewing ahead never reserves into one. */
    const int64 now_ms = snowflake_clock.PeekMs();
    /* Before renewing: the renewal may not go past the node id's high-water mark. */
    if (shared != nullptr) CoordinationWriterStep(shared, now_ms);
    /* With an unusable state file nothing is issued, so nothing is renewed. */
    if (shared != nullptr && shared->startup_status == StartupStatus::kReady &&
        snowflake::ShouldRenewAhead(shared->generator, now_ms)) {
      const snowflake::Status status = RenewReservationLocked(shared, now_ms, -1);
      if (status.code == snowflake::StatusCode::kBeyondHighWater) {
        /* etcd did not confirm the mark: CoordinationWriterStep logged why. */
      } else if (!status.ok() && !failing && status.code == snowflake::StatusCode::kNotReplicated) {
        ereport(WARNING,
                (errmsg("snowflake: could not renew the reservation: %s", status.what),
                 errdetail("snowflake_next_id() fails once the current window is used up.")));
      } else if (!status.ok() && !failing) {
        errno = status.sys_errno;
        ereport(WARNING,
                (errcode_for_file_access(),
                 errmsg("snowflake: could not renew the reservation: %s \"%s/%s\": %m", status.what,
                        DataDir,
                        status.path != nullptr ? status.path : snowflake_state_store.file_path()),
                 errdetail("snowflake_next_id() fails once the current window is used up."),
                 errhint("Free space on, or restore write access to, that file system.")));
      } else if (status.ok() && failing) {
        ereport(LOG, (errmsg("snowflake: reservations are being written again")));
      }
      failing = !status.ok() && status.code != snowflake::StatusCode::kBeyondHighWater;
    }

    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kWakeIntervalMs,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    /* SIGTERM (shutdown, pg_terminate_backend): FATAL, exit code 1, see below. */
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
  }
  /*
   * Not reached: SIGTERM ends the worker through die() with FATAL, exit code
   * 1, not 0: a static worker that exits with 0 is never started again, so a
   * pg_terminate_backend() would silently leave only synchronous renewals.
   * At shutdown the postmaster restarts nothing either way.
   */
}
