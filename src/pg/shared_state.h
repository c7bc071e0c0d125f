/*
 * shared_state.h: snowflake's shared memory and what start-up puts in it.
 *
 * Owns: the SnowflakeShared struct ("snowflake" in shared memory), the
 * snowflake LWLock tranche, the state file store, and loading the state file
 * when shared memory is (re)initialised: at server start and after every
 * crash restart, in the postmaster.
 *
 * Locking rules:
 *   - generator: lock-free for issuing IDs (see src/core/generator.h).
 *   - lock (LW_EXCLUSIVE) serialises every write of the state file, so
 *     reserved_until has one writer at a time (src/core/reservation.h).
 *   - startup_status and the error fields are written once, by the
 *     postmaster, before any backend exists; afterwards they are read-only.
 */
#ifndef SNOWFLAKE_PG_SHARED_STATE_H
#define SNOWFLAKE_PG_SHARED_STATE_H

#include "../core/clock.h"
#include "../core/generator.h"
#include "../core/posix_state_store.h"
#include "../core/status.h"

/* The state file's directory, relative to the data directory. */
#define SNOWFLAKE_STATE_DIRECTORY "pg_snowflake"

enum class StartupStatus : int32_t {
  kReady = 0,
  kStateUnusable = 1,  // the state file is corrupt or unreadable
};

struct SnowflakeShared {
  snowflake::GeneratorState generator;
  LWLock* lock;
  StartupStatus startup_status;
  snowflake::StatusCode state_error_code;
  int state_error_errno;
  char state_error_what[128];
};

/* NULL unless the library was loaded through shared_preload_libraries. */
extern SnowflakeShared* snowflake_shared;

/* The wall clock, shared by all glue code: one object, so that no frame that
 * can reach ereport(ERROR) owns a Clock with a destructor. */
extern snowflake::SystemClock snowflake_clock;

/* The state file store; every process uses its own copy of this object. */
extern snowflake::PosixStateStore snowflake_state_store;

/* Called from _PG_init while preloading. */
void InstallSharedStateHooks();

/* Takes the lock, renews, releases; returns the store's status. */
snowflake::Status RenewReservationLocked(SnowflakeShared* shared, int64_t now_ms,
                                         int64_t needed_ms);

#endif /* SNOWFLAKE_PG_SHARED_STATE_H */
