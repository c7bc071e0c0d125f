/*
 * own_floor.cpp: this server's own floor, kept where pg_rewind leaves it.
 * See own_floor.h for why the file exists, its name, and the locking rules.
 */
#include "pg_headers.h"

#include "own_floor.h"

#include <algorithm>

#include "shared_state.h"

snowflake::PosixStateStore snowflake_own_floor_store(SNOWFLAKE_STATE_DIRECTORY,
                                                     SNOWFLAKE_OWN_FLOOR_FILE);

static snowflake::Status NamingTheFile(snowflake::Status status) {
  if (!status.ok()) status.path = snowflake_own_floor_store.file_path();
  return status;
}

snowflake::Status SaveOwnFloor(const snowflake::PersistedState& own) {
  return NamingTheFile(snowflake_own_floor_store.Save(own));
}

snowflake::Status LoadOwnFloor(int32_t node_id, bool any_node_id, int64_t create_floor_ms,
                               int64_t* own_floor_ms) {
  const uint64 system_identifier = GetSystemIdentifier();
  *own_floor_ms = -1;
  snowflake::PersistedState own{};
  const snowflake::Status loaded = snowflake_own_floor_store.Load(&own);
  if (loaded.code == snowflake::StatusCode::kNotFound) {
    /* Its first start with this version, or a new state directory. */
    own = snowflake::PersistedState{node_id >= 0 ? node_id : 0,
                                    std::max<int64_t>(create_floor_ms, 0), system_identifier, 0};
    return NamingTheFile(snowflake_own_floor_store.Save(own));
  }
  if (!loaded.ok()) return NamingTheFile(loaded);
  if (own.system_identifier != system_identifier) {
    ereport(
        LOG,
        (errmsg("snowflake: ignoring \"%s\": it was written by another database "
                "cluster (system identifier " UINT64_FORMAT ", this one is " UINT64_FORMAT ")",
                snowflake_own_floor_store.file_path(), own.system_identifier, system_identifier),
         errdetail("This server's next reservation replaces it.")));
    return snowflake::Status::Ok();
  }
  if (any_node_id || own.node_id == node_id) *own_floor_ms = own.reserved_until_ms;
  return snowflake::Status::Ok();
}
