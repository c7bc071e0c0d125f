/*
 * errors.cpp: the ereport() calls behind errors.h.
 */
#include "pg_headers.h"

#include "errors.h"

#include "settings.h"
#include "shared_state.h"

void ReportNotPreloaded(const char* function_name) {
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("snowflake must be loaded via \"shared_preload_libraries\" to use %s",
                         function_name),
                  errhint("Add snowflake to shared_preload_libraries in postgresql.conf, set "
                          "snowflake.node_id, and restart the server.")));
  pg_unreachable();
}

void ReportNodeIdUnset() {
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("snowflake.node_id is not set"),
                  errdetail("Without a node id an ID cannot be proven unique across servers. "
                            "A value outside 0..1023 in postgresql.conf is rejected at start-up "
                            "with a WARNING in the server log and leaves it unset."),
                  errhint("Set snowflake.node_id to a value from 0 to 1023 that no other server "
                          "in the fleet uses, in postgresql.conf, and restart the server.")));
  pg_unreachable();
}

void ReportInRecovery() {
  ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                  errmsg("cannot generate snowflake IDs during recovery"),
                  errdetail("A standby shares its primary's node id, so IDs it issued could "
                            "collide with the primary's."),
                  errhint("Call snowflake_next_id() on the primary server.")));
  pg_unreachable();
}

/*
 * The SQLSTATE for a failed file operation. errcode_for_file_access() would
 * say "internal error" for EDQUOT, EIO and others; these are all specific.
 */
static int SqlStateForErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return ERRCODE_DISK_FULL;
    case EACCES:
    case EPERM:
    case EROFS:
      return ERRCODE_INSUFFICIENT_PRIVILEGE;
    case ENOENT:
    case ENOTDIR:
      return ERRCODE_UNDEFINED_FILE;
    default:
      return ERRCODE_IO_ERROR;
  }
}

/*
 * Clients see the state file's path relative to the data directory: the
 * absolute data directory is not for every role that may call
 * snowflake_next_id(). The server log gets the full path, through
 * errdetail_log() (which replaces the detail there, so it repeats it).
 */
void ReportStateUnusable(const SnowflakeShared* shared) {
  const char* detail =
      "Without the stored reservation, IDs issued before the last shutdown could be issued "
      "again.";
  const char* hint =
      "Follow \"A lost or damaged state file\" in docs/backup-restore.md. A copy of the file "
      "from a backup is not enough by itself: it holds an older floor than the IDs issued since.";
  const char* path = shared->state_error_file;
  if (shared->state_error_code == snowflake::StatusCode::kCorrupt)
    ereport(
        ERROR,
        (errcode(ERRCODE_DATA_CORRUPTED),
         errmsg("snowflake state file \"%s\" is corrupt: %s", path, shared->state_error_what),
         errdetail("%s", detail), errdetail_log("%s The file is \"%s/%s\".", detail, DataDir, path),
         errhint("%s", hint)));
  if (shared->state_error_code == snowflake::StatusCode::kOtherSystem)
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("snowflake state file \"%s\" was written by another database cluster", path),
             errdetail("Its system identifier is not this cluster's (see the server log). A state "
                       "file copied from another server says nothing about the IDs of this one, "
                       "and this data directory may be a copy running beside that server."),
             errdetail_log("Its system identifier is not this cluster's. A state file copied "
                           "from another server says nothing about the IDs of this one, and this "
                           "data directory may be a copy running beside that server. The file is "
                           "\"%s/%s\".",
                           DataDir, path),
             errhint("If this cluster replaces that one, see \"pg_upgrade\" in "
                     "docs/backup-restore.md; otherwise follow \"A lost or damaged state file\" "
                     "in docs/backup-restore.md.")));
  if (shared->state_error_code == snowflake::StatusCode::kNotFound)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FILE),
                    errmsg("snowflake state file \"%s\" is missing", path),
                    errdetail("Its directory exists, so this is not a first start: the file was "
                              "deleted or lost. %s",
                              detail),
                    errdetail_log("Its directory exists, so this is not a first start: the file "
                                  "was deleted or lost. %s The file is \"%s/%s\".",
                                  detail, DataDir, path),
                    errhint("%s", hint)));
  errno = shared->state_error_errno;
  ereport(
      ERROR,
      (errcode(SqlStateForErrno(shared->state_error_errno)),
       errmsg("snowflake state file \"%s\" is unreadable: %s: %m", path, shared->state_error_what),
       errdetail("%s", detail), errdetail_log("%s The file is \"%s/%s\".", detail, DataDir, path),
       errhint("%s", hint)));
  pg_unreachable();
}

void ReportReservationFailed(const snowflake::Status& status) {
  if (status.code == snowflake::StatusCode::kBeyondHighWater) {
    const CoordinationShared* coordination = &snowflake_shared->coordination;
    /* The lease went while waiting: say that. */
    if (snowflake_monotonic_clock.NowMs() >= coordination->valid_until_ms.load())
      ReportNodeLeaseNotHeld(coordination);
    ereport(ERROR,
            (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
             errmsg("snowflake could not reserve IDs: %s", status.what),
             errdetail("With etcd, IDs are reserved only up to the node id's high-water mark, "
                       "which the reservation writer raises in etcd; it did not in time."),
             errhint("Check that etcd is reachable at snowflake.etcd_endpoints and that the "
                     "\"snowflake reservation writer\" process runs.")));
  }
  if (status.code == snowflake::StatusCode::kNotReplicated)
    ereport(ERROR,
            (errcode(ERRCODE_QUERY_CANCELED),
             errmsg("snowflake could not reserve IDs: %s", status.what),
             errdetail("The reservation is written to WAL; IDs of the new window are issued only "
                       "once the synchronous standbys confirm it, so that a promoted standby "
                       "never issues them again. The wait was cancelled."),
             errhint("Check that the standbys named in synchronous_standby_names are connected "
                     "(pg_stat_replication), or remove them from that setting.")));
  const char* detail = "No ID is issued until the reservation is durable on disk.";
  errno = status.sys_errno;
  if (status.sys_errno == ENOENT || status.sys_errno == ENOTDIR)
    ereport(ERROR, (errcode(SqlStateForErrno(status.sys_errno)),
                    errmsg("snowflake could not reserve IDs: %s in \"%s\": %m", status.what,
                           SNOWFLAKE_STATE_DIRECTORY),
                    errdetail("%s", detail),
                    errdetail_log("%s The directory is \"%s/%s\".", detail, DataDir,
                                  SNOWFLAKE_STATE_DIRECTORY),
                    errhint("The directory \"%s\" in the data directory was removed while the "
                            "server ran. Create it again (mode 0700, or 0750 when the cluster "
                            "allows group access; owned by the server's user); generation "
                            "resumes by itself once a write succeeds.",
                            SNOWFLAKE_STATE_DIRECTORY)));
  const char* path = status.path != nullptr ? status.path : snowflake_state_store.file_path();
  ereport(ERROR, (errcode(SqlStateForErrno(status.sys_errno)),
                  errmsg("snowflake could not reserve IDs: %s \"%s\": %m", status.what, path),
                  errdetail("%s", detail),
                  errdetail_log("%s The file is \"%s/%s\".", detail, DataDir, path),
                  errhint("Free space on, or restore write access to, the file system that holds "
                          "\"%s\" in the data directory. Generation resumes by itself once a write "
                          "succeeds.",
                          SNOWFLAKE_STATE_DIRECTORY)));
  pg_unreachable();
}

void ReportClockTooFarBehind(const snowflake::NextIdResult& result) {
  ereport(
      ERROR,
      (errcode(ERRCODE_SYSTEM_ERROR),
       errmsg("system clock is %lld ms behind the last snowflake ID", (long long)result.lead_ms),
       errdetail("snowflake.max_clock_drift allows %d ms.", max_clock_drift_setting_ms),
       errhint("Correct the system clock, or raise snowflake.max_clock_drift to at least "
               "%lld ms and reload the configuration.",
               (long long)result.lead_ms)));
  pg_unreachable();
}

void ReportTimeRangeExhausted() {
  ereport(ERROR,
          (errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
           errmsg("snowflake ID time range is exhausted"),
           errdetail("The layout holds milliseconds up to 2093-09-06 15:47:35.551+00."),
           errhint("Check the system clock; if it is right, IDs of this layout can no longer be "
                   "issued.")));
  pg_unreachable();
}

void ReportClockBeforeEpoch(const snowflake::NextIdResult& result) {
  ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR),
                  errmsg("system clock reads %lld ms before the snowflake epoch",
                         (long long)-result.now_ms),
                  errdetail("IDs count milliseconds from 2024-01-01 00:00:00+00."),
                  errhint("Correct the system clock.")));
  pg_unreachable();
}

void ReportClockNotAdvancing() {
  ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR),
                  errmsg("system clock did not advance while waiting for the next millisecond"),
                  errdetail("All 4096 IDs of the current millisecond are used."),
                  errhint("Check that the system clock is running.")));
  pg_unreachable();
}

/*
 * LOG_SERVER_ONLY, as PostgreSQL reports what a backend finds about itself
 * for the DBA (pg_log_backend_memory_contexts()): the server log gets it at
 * LOG, which log_min_messages keeps up to its "error" setting, and no client
 * gets it, whatever its client_min_messages. The clock belongs to the DBA;
 * the statement whose call happened to notice it (an application's INSERT)
 * must not carry a WARNING back to a driver or an ORM. The statement and the
 * context are left out of the log line for the same reason: they are
 * incidental, and the application's data is in them. The change is counted
 * in snowflake_status().clock_warnings (the core's NoteClockCondition).
 */
void LogClockConditionChange(const snowflake::NextIdResult& result) {
  switch (result.condition) {
    case snowflake::ClockCondition::kBorrowing:
      ereport(LOG_SERVER_ONLY,
              (errhidestmt(true), errhidecontext(true),
               errmsg("snowflake: system clock is %lld ms behind the last issued ID",
                      (long long)result.lead_ms),
               errdetail("IDs continue from the last issued one, ahead of the clock, for as "
                         "long as the gap stays within snowflake.max_clock_drift."),
               errhint("Check the system clock and its time synchronisation.")));
      break;
    case snowflake::ClockCondition::kTooFarBehind:
      ereport(LOG_SERVER_ONLY,
              (errhidestmt(true), errhidecontext(true),
               errmsg("snowflake: system clock is %lld ms behind the last issued ID, more than "
                      "snowflake.max_clock_drift allows",
                      (long long)result.lead_ms),
               errhint("Correct the system clock, or raise snowflake.max_clock_drift.")));
      break;
    case snowflake::ClockCondition::kNormal:
      ereport(LOG_SERVER_ONLY, (errhidestmt(true), errhidecontext(true),
                                errmsg("snowflake: IDs follow the system clock again")));
      break;
  }
}
