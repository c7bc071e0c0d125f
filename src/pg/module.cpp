/*
 * module.cpp: the module's entry point, _PG_init().
 *
 * Owns: what happens when PostgreSQL loads snowflake.so. Everything is set
 * up only while shared_preload_libraries is processed; loaded any other way
 * (CREATE EXTENSION without the preload), the SQL functions that need shared
 * memory report how to fix it. Nothing is set up during binary upgrade.
 */
#include "pg_headers.h"

#include "own_floor.h"
#include "reservation_wal.h"
#include "reservation_worker.h"
#include "settings.h"
#include "shared_state.h"

extern "C" {
SNOWFLAKE_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
  if (!process_shared_preload_libraries_in_progress) return;
  if (IsBinaryUpgrade) return;

  DefineSnowflakeSettings();
  /*
   * The state directory and file follow the cluster's group-access setting
   * (initdb -g), as PostgreSQL's own files do; checkDataDir() has set these
   * from the data directory's mode before preloaded libraries are loaded.
   */
  snowflake_state_store.SetCreateModes(pg_dir_create_mode, pg_file_create_mode);
  snowflake_own_floor_store.SetCreateModes(pg_dir_create_mode, pg_file_create_mode);
  InstallSharedStateHooks();
  /* Also without a node id: a standby replays its primary's reservations. */
  RegisterReservationRmgr();
  /*
   * Without a node id nothing may be issued, so there is nothing to reserve;
   * with etcd, the writer also claims the node id (or is assigned one).
   */
  if (node_id_setting != kNodeIdUnset || CoordinationConfigured()) RegisterReservationWorker();
}
