/*
 * pg_compat.h: every difference between the PostgreSQL majors snowflake is
 * built against (15 and later), in one place.
 *
 * pg_headers.h includes it after PostgreSQL's own headers. Glue code uses
 * the names defined here and never tests PG_VERSION_NUM itself, so
 * supporting a new major means reading this file, not the whole glue.
 * Tested on 15, 17 and 18 (make test-all-versions). Include it only
 * through pg_headers.h: it uses PostgreSQL's declarations.
 */
#ifndef SNOWFLAKE_PG_COMPAT_H
#define SNOWFLAKE_PG_COMPAT_H

/*
 * 15 is the oldest major with shmem_request_hook (shared memory and the
 * LWLock tranche are requested there) and MarkGUCPrefixReserved().
 */
#if PG_VERSION_NUM < 150000
#error "snowflake needs PostgreSQL 15 or later"
#endif

/*
 * The module is built with -fvisibility=hidden so that only what PostgreSQL
 * looks up is exported. PG15 defines PGDLLEXPORT as empty outside Windows;
 * PG16 and later define it like this.
 */
#undef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))

/*
 * The module's magic block. From PG18 on it also carries the module's name
 * and version, which pg_get_loaded_modules() shows; SNOWFLAKE_VERSION comes
 * from default_version in snowflake.control (see the Makefile).
 */
#if PG_VERSION_NUM >= 180000
#define SNOWFLAKE_MODULE_MAGIC \
  PG_MODULE_MAGIC_EXT(.name = "snowflake", .version = SNOWFLAKE_VERSION)
#else
#define SNOWFLAKE_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/*
 * Whether synchronous_standby_names names standbys, as the walsenders see it
 * (read under SyncRepLock). The minor releases 15.13, 16.9 and 17.5 replaced
 * the flag WalSndCtl->sync_standbys_defined with the bit field
 * sync_standbys_status, so this tests the macro that came with the field,
 * not PG_VERSION_NUM.
 */
static inline bool SnowflakeSyncStandbysDefined() {
#ifdef SYNC_STANDBY_DEFINED
  return (WalSndCtl->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0;
#else
  return WalSndCtl->sync_standbys_defined;
#endif
}

#endif /* SNOWFLAKE_PG_COMPAT_H */
