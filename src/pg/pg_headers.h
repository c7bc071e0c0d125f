/*
 * pg_headers.h: the one way glue code includes PostgreSQL.
 *
 * postgres.h comes first, and every PostgreSQL header sits inside
 * extern "C", so the C++ glue links against PostgreSQL's C symbols. Only
 * files in src/pg/ include this; src/core/ is compiled without the server's
 * include path at all, so a PostgreSQL header there fails the build.
 *
 * Rule for every glue function: no object with a destructor lives in a frame
 * that can reach ereport(ERROR) or CHECK_FOR_INTERRUPTS(), because their
 * longjmp would skip it. The core never throws (-fno-exceptions).
 */
#ifndef SNOWFLAKE_PG_HEADERS_H
#define SNOWFLAKE_PG_HEADERS_H

extern "C" {
#include "postgres.h"

#include "access/rmgr.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "common/file_perm.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

/* Differences between PostgreSQL majors: PGDLLEXPORT, the magic block. */
#include "pg_compat.h"

/* PG_FUNCTION_INFO_V1 with C linkage and an exported symbol, as PG16 does. */
#define SNOWFLAKE_SQL_FUNCTION(name)        \
  extern "C" {                              \
  PG_FUNCTION_INFO_V1(name);                \
  PGDLLEXPORT Datum name(PG_FUNCTION_ARGS); \
  }

#endif /* SNOWFLAKE_PG_HEADERS_H */
