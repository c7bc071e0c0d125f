/*
 * reservation_wal.cpp: the snowflake WAL resource manager and the store that
 * renewals write through. See reservation_wal.h for what it owns and its
 * locking rules.
 *
 * Why WAL: a standby is a copy of its primary made and kept by WAL. A floor
 * that lives only in the primary's state file does not reach the standby,
 * so a promoted standby would start from the floor its base backup copied.
 * With every renewal in WAL, a standby's floor follows its primary's, as
 * PostgreSQL's own sequences do, and crash recovery replays it too.
 */
#include "pg_headers.h"

#include "reservation_wal.h"

#include <cstring>

#include "../core/posix_state_store.h"
#include "layout_time.h"
#include "own_floor.h"
#include "settings.h"
#include "shared_state.h"

/* The record's op code (the high bits of xl_info). */
static constexpr uint8 kXlogSnowflakeReservation = 0x00;

/* The record: fixed size, no block references. */
struct xl_snowflake_reservation {
  uint64 system_identifier;  // of the cluster that wrote it
  int64 reserved_until_ms;   // layout milliseconds
  int32 node_id;             // of the server that wrote it
  uint32 flags;              // zero; for later versions
};

/* ---- writing ---------------------------------------------------------- */

/*
 * Waits until the synchronous standbys have flushed WAL up to lsn, when
 * synchronous_standby_names names any. A renewal must reach them before IDs
 * of the new window are issued, whatever the session's synchronous_commit
 * says (a session with synchronous_commit = off must not be able to skip it),
 * so the wait runs with at least remote_flush. Returns false if the wait was
 * cancelled (query cancel or termination) before they confirmed.
 */
static bool WaitForSynchronousStandbys(XLogRecPtr lsn) {
  if (max_wal_senders == 0) return true; /* no standby can be attached */
  LWLockAcquire(SyncRepLock, LW_SHARED);
  const bool defined = SnowflakeSyncStandbysDefined();
  LWLockRelease(SyncRepLock);
  if (!defined) return true;

  int nest_level = -1;
  if (synchronous_commit < SYNCHRONOUS_COMMIT_REMOTE_FLUSH) {
    nest_level = NewGUCNestLevel();
    (void)set_config_option("synchronous_commit", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                            true, 0, false);
  }
  /* SyncRepWaitForLSN expects held interrupts; it checks cancel and die itself. */
  HOLD_INTERRUPTS();
  SyncRepWaitForLSN(lsn, false);
  RESUME_INTERRUPTS();
  if (nest_level >= 0) AtEOXact_GUC(true, nest_level);

  LWLockAcquire(SyncRepLock, LW_SHARED);
  const bool confirmed =
      !SnowflakeSyncStandbysDefined() || WalSndCtl->lsn[SYNC_REP_WAIT_FLUSH] >= lsn;
  LWLockRelease(SyncRepLock);
  return confirmed;
}

/* Writes one reservation record and waits until it is as durable as IDs need. */
static snowflake::Status LogReservation(const snowflake::PersistedState& state) {
  xl_snowflake_reservation record = {};
  record.system_identifier = state.system_identifier;
  record.reserved_until_ms = state.reserved_until_ms;
  record.node_id = state.node_id;

  XLogBeginInsert();
  XLogRegisterData(reinterpret_cast<char*>(&record), sizeof record);
  const XLogRecPtr lsn = XLogInsert(SNOWFLAKE_RMGR_ID, kXlogSnowflakeReservation);
  XLogFlush(lsn);
  if (!WaitForSynchronousStandbys(lsn))
    return snowflake::Status::Error(snowflake::StatusCode::kNotReplicated,
                                    "the synchronous standbys did not confirm the reservation");
  return snowflake::Status::Ok();
}

namespace {

/*
 * The state file first (this server's own floor, as before), then the
 * own-floor file (the copy a pg_rewind leaves, own_floor.h), then WAL (the
 * floor its standbys and its own crash recovery replay). If a later step
 * fails, the files already hold the higher floor, which is only safer.
 */
class WalLoggedStateStore final : public snowflake::StateStore {
 public:
  snowflake::Status Load(snowflake::PersistedState* state) override {
    return snowflake_state_store.Load(state);
  }
  snowflake::Status Save(const snowflake::PersistedState& state) override {
    snowflake::PersistedState own = state;
    own.system_identifier = GetSystemIdentifier();
    own.flags = 0; /* this server's own IDs; any promotion margin is inside the value */
    snowflake::Status saved = snowflake_state_store.Save(own);
    if (saved.ok()) saved = SaveOwnFloor(own);
    if (!saved.ok()) return saved;
    return LogReservation(own);
  }
};

WalLoggedStateStore wal_logged_store;

}  // namespace

snowflake::StateStore* snowflake_reservation_store = &wal_logged_store;

/* ---- redo and description --------------------------------------------- */

static xl_snowflake_reservation ReadRecord(XLogReaderState* reader) {
  const uint8 info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;
  if (info != kXlogSnowflakeReservation ||
      XLogRecGetDataLen(reader) != sizeof(xl_snowflake_reservation))
    elog(PANIC, "snowflake: unknown WAL record (info 0x%02X, %u bytes)", info,
         (unsigned)XLogRecGetDataLen(reader));
  xl_snowflake_reservation record;
  memcpy(&record, XLogRecGetData(reader), sizeof record);
  return record;
}

static void SnowflakeRedo(XLogReaderState* reader) {
  const xl_snowflake_reservation record = ReadRecord(reader);
  ApplyReplayedReservation(record.node_id, record.reserved_until_ms);
}

static void SnowflakeDesc(StringInfo buf, XLogReaderState* reader) {
  const uint8 info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;
  if (info != kXlogSnowflakeReservation ||
      XLogRecGetDataLen(reader) != sizeof(xl_snowflake_reservation)) {
    appendStringInfo(buf, "unknown snowflake record (info 0x%02X)", info);
    return;
  }
  xl_snowflake_reservation record;
  memcpy(&record, XLogRecGetData(reader), sizeof record);
  appendStringInfo(buf, "node_id %d; system_identifier " UINT64_FORMAT "; reserved_until %lld (%s)",
                   record.node_id, record.system_identifier, (long long)record.reserved_until_ms,
                   timestamptz_to_str(LayoutMsToTimestampTz(record.reserved_until_ms)));
}

static const char* SnowflakeIdentify(uint8 info) {
  if ((info & ~XLR_INFO_MASK) == kXlogSnowflakeReservation) return "RESERVATION";
  return nullptr;
}

static RmgrData snowflake_rmgr = {
    .rm_name = SNOWFLAKE_RMGR_NAME,
    .rm_redo = SnowflakeRedo,
    .rm_desc = SnowflakeDesc,
    .rm_identify = SnowflakeIdentify,
    .rm_startup = nullptr,
    .rm_cleanup = nullptr,
    .rm_mask = nullptr,
    .rm_decode = nullptr, /* logical decoding skips the records */
};

void RegisterReservationRmgr() { RegisterCustomRmgr(SNOWFLAKE_RMGR_ID, &snowflake_rmgr); }
