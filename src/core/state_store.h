// state_store.h: where the reservation state is kept durably.
//
// Owns: the StateStore interface. Implementations: PosixStateStore (a file in
// the data directory) and the fakes in the unit tests.
// Threading: a store is not thread-safe; callers serialise Save() with their
// renewal lock. Load() runs once at server start.
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
  // Returns kOk only once the new state survives a crash or power loss; on
  // any error the previously saved state is still the one a Load() returns.
  virtual Status Save(const PersistedState& state) = 0;
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_STATE_STORE_H
