// state_store.h: where the reservation state is kept durably.
//
// Owns: the StateStore interface. Implementations: PosixStateStore (a file in
// the data directory) and the fakes in the unit tests.
// Threading: a store is not thread-safe; callers serialise Save() with their
// renewal lock. Load() runs when the server's shared state is set up (at
// start and after a crash restart), before any Save().
#ifndef SNOWFLAKE_CORE_STATE_STORE_H
#define SNOWFLAKE_CORE_STATE_STORE_H

#include "state_file.h"
#include "status.h"

namespace snowflake {

class StateStore {
 public:
  virtual ~StateStore() = default;
  // kOk and *state, kNotFound when nothing was ever saved, kCorrupt or
  // kIoError otherwise.
  virtual Status Load(PersistedState* state) = 0;
  // Returns kOk only once the new state survives a crash or power loss. On
  // an error the outcome is unknown: a later Load() returns the previously
  // saved state or this one (a step after the new state was in place
  // failed: PosixStateStore's fsync of the directory after its rename, or
  // the PostgreSQL glue's WAL record after the file), never anything else.
  // So a caller raises its bound only after kOk, and after an error assumes
  // neither that the new state was kept nor that it was not.
  virtual Status Save(const PersistedState& state) = 0;
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_STATE_STORE_H
