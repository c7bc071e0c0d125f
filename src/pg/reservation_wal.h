/*
 * reservation_wal.h: reservations carried through WAL (DESIGN.md 3a).
 *
 * Owns: snowflake's custom WAL resource manager ("snowflake"), its one record
 * type (a reservation: node id, system identifier, reserved_until), the
 * store that renewals write through (the state file, then the WAL record,
 * flushed and confirmed by the synchronous standbys), and redo, which raises
 * the floor in shared memory and keeps the state file current on a standby
 * and in crash recovery.
 *
 * Locking rules: renewals call the store under the snowflake LWLock (one
 * renewer at a time, shared_state.h). Redo runs only in the startup process,
 * while no renewal can run (nothing is issued during recovery).
 */
#ifndef SNOWFLAKE_PG_RESERVATION_WAL_H
#define SNOWFLAKE_PG_RESERVATION_WAL_H

#include "../core/state_store.h"

/*
 * The resource manager id. Custom resource managers share the id space
 * 128..255; RM_EXPERIMENTAL_ID (128) is the one PostgreSQL sets aside for
 * development. A release must reserve its own id on the PostgreSQL wiki page
 * "CustomWALResourceManagers" (docs/high-availability.md).
 */
#define SNOWFLAKE_RMGR_ID RM_EXPERIMENTAL_ID
#define SNOWFLAKE_RMGR_NAME "snowflake"

/* Registers the resource manager; from _PG_init, while preloading. */
void RegisterReservationRmgr();

/*
 * The store every renewal writes through: the state file and the own-floor
 * file (own_floor.h), each made durable, then a WAL record, flushed, and
 * confirmed by the synchronous standbys when synchronous_standby_names
 * names any, whatever synchronous_commit says in the session. Save()
 * returns kNotReplicated when that wait was cancelled.
 */
extern snowflake::StateStore* snowflake_reservation_store;

#endif /* SNOWFLAKE_PG_RESERVATION_WAL_H */
