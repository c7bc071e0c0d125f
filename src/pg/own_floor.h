/*
 * own_floor.h: this server's own floor, kept where pg_rewind leaves it.
 *
 * Owns: the file pg_snowflake/own_floor.PG_VERSION, in the state file's
 * format (src/core/state_file.h): the highest reservation this data
 * directory made for IDs of its own, the node id they carry, and the
 * cluster's system identifier. Every renewal of this server writes it, right
 * after the state file and before the WAL record (reservation_wal.cpp); WAL
 * replay never does. Start-up reads it (LoadStateFile, shared_state.cpp).
 *
 * Why a second file. The state file holds the floor of every ID this server
 * must stay above, its own and those it replayed. pg_rewind replaces it with
 * the source's file and drops the target's WAL after the divergence, so
 * after a rewind neither holds what the old primary reserved after
 * replication was cut: a server whose IDs ran ahead of the true time (a clock
 * that was fast, then corrected; borrowing) would, promoted again, issue IDs
 * of its node id in milliseconds it had already used (issue 20, item 1).
 *
 * Why this name. pg_rewind makes the target a copy of the source
 * (src/bin/pg_rewind/filemap.c, decide_file_action(), PostgreSQL 9.5 to 18):
 * it removes every file of the target the source lacks, and every file
 * matching its exclusion lists (pg_replslot/, pg_stat_tmp/, pgsql_tmp,
 * pg_internal.init, postmaster.pid, ...) as well, so no name chosen from
 * those lists survives; it copies every other file the source has, except
 * global/pg_control and a file whose path ends in "PG_VERSION" that exists
 * on both sides, which it never overwrites. Hence the name, and every server
 * with a state directory creates the file at start-up when it is missing, so
 * that the source of a rewind has one.
 *
 * What a file says, and when it counts: a file of another cluster (system
 * identifier) or of another node id says nothing about this server's IDs
 * and is ignored; it is replaced at the server's first renewal. A standby
 * made by pg_basebackup starts with its primary's file, which names the
 * primary's node id: ignored by a standby with a node id of its own; for a
 * standby sharing its primary's node id it is a floor of that node id's
 * IDs, lower than what it replays, so harmless. A corrupt or unreadable file
 * makes the state unusable, as a corrupt state file does: it may be the only
 * record of IDs this server issued.
 *
 * What it does not cover: a re-clone (pg_basebackup, or a restore, over a
 * wiped data directory) keeps nothing of the old directory, so a server
 * re-cloned from another member knows only what that member replayed from
 * it. With etcd, the node id's high-water mark covers that case; without,
 * the promotion margin and the clock are all there is (README).
 *
 * Locking rules: written under the renewal lock (shared_state.h), like the
 * state file; read and created at start-up by the postmaster alone.
 */
#ifndef SNOWFLAKE_PG_OWN_FLOOR_H
#define SNOWFLAKE_PG_OWN_FLOOR_H

#include "../core/posix_state_store.h"
#include "../core/state_file.h"
#include "../core/status.h"

/* In the state directory; the name must end in "PG_VERSION" (see above). */
#define SNOWFLAKE_OWN_FLOOR_FILE "own_floor.PG_VERSION"

/* The own-floor file's store; every process uses its own copy of this object. */
extern snowflake::PosixStateStore snowflake_own_floor_store;

/*
 * A renewal of this server's own (under the renewal lock): own carries this
 * server's node id, system identifier and the new reserved_until. On failure
 * the status names the file (Status::path).
 */
snowflake::Status SaveOwnFloor(const snowflake::PersistedState& own);

/*
 * At start-up, in the postmaster, once the state file was read or created:
 * *own_floor_ms is this server's own floor for node_id (for any node id if
 * any_node_id, when etcd assigns one: the floor is the server's either way),
 * or -1 when the file holds none for it. A missing file is created for
 * node_id with create_floor_ms (the state file's floor when that is this
 * server's own, 0 when it says nothing about this server's IDs). On failure
 * the status names the file (Status::path).
 */
snowflake::Status LoadOwnFloor(int32_t node_id, bool any_node_id, int64_t create_floor_ms,
                               int64_t* own_floor_ms);

#endif /* SNOWFLAKE_PG_OWN_FLOOR_H */
