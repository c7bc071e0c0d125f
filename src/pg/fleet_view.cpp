/*
 * fleet_view.cpp: snowflake_fleet(), the node-id registry in etcd as a DBA
 * sees it: who holds which node id, how long their leases have left, and
 * each node id's high-water mark.
 *
 * Owns: one set-returning SQL function. It reads etcd itself (one range
 * read, and one lease lookup per holder), with a client that lives only in
 * ReadFleetRows(), which never raises an error: the C++ objects are gone
 * before anything here can ereport(). Not on any hot path. A cancel or
 * statement_timeout abandons the etcd request in flight (curl's progress
 * callback watches InterruptPending), and is then reported as usual. Execution is
 * granted to pg_monitor by the install script (it shows host names and
 * data directories).
 */
#include "pg_headers.h"

#include <string>
#include <vector>

#include "../core/etcd_client.h"
#include "../core/node_lease.h"
#include "layout_time.h"
#include "settings.h"
#include "shared_state.h"

bool BuildEtcdClientConfig(snowflake::EtcdClientConfig* config, char* error, size_t size);

SNOWFLAKE_SQL_FUNCTION(snowflake_fleet)

/* One row, plain data. */
struct FleetRow {
  int32 node_id;
  bool held;
  char host[256];
  int32 port;
  uint64 system_identifier;
  char data_directory[MAXPGPATH];
  int64 started_at_ms;
  int64 lease_id;
  int64 lease_ttl_left_s;
  int64 high_water_ms;
};

static constexpr int kFleetColumns = 10;

/* Fills rows (room for every node id); false with *error. Never ereport()s. */
static bool ReadFleetRows(FleetRow* rows, int* count, char* error, size_t error_size) {
  snowflake::EtcdClientConfig config;
  if (!BuildEtcdClientConfig(&config, error, error_size)) return false;
  /* A cancel or statement_timeout abandons the request in flight. */
  config.interrupt_flag = &InterruptPending;
  if (!snowflake::EtcdGlobalInit()) {
    strlcpy(error, "libcurl could not be initialised", error_size);
    return false;
  }
  snowflake::CurlEtcdClient client(std::move(config));
  std::vector<snowflake::FleetEntry> fleet;
  const snowflake::Status status = snowflake::ReadFleet(&client, etcd_prefix_setting, &fleet);
  if (!status.ok()) {
    snprintf(error, error_size, "%s", client.LastErrorDetail().c_str());
    return false;
  }
  int n = 0;
  for (const snowflake::FleetEntry& entry : fleet) {
    if (n > snowflake::kMaxNodeId) break;
    FleetRow& row = rows[n++];
    row.node_id = entry.node_id;
    row.held = entry.held;
    strlcpy(row.host, entry.holder.host.c_str(), sizeof row.host);
    row.port = entry.holder.port;
    row.system_identifier = entry.holder.system_identifier;
    strlcpy(row.data_directory, entry.holder.data_directory.c_str(), sizeof row.data_directory);
    row.started_at_ms = entry.holder.started_at_ms;
    row.lease_id = entry.lease_id;
    row.lease_ttl_left_s = entry.lease_ttl_left_s;
    row.high_water_ms = entry.high_water_ms;
  }
  *count = n;
  return true;
}

Datum snowflake_fleet(PG_FUNCTION_ARGS) {
  if (!CoordinationConfigured())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("snowflake.etcd_endpoints is not set"),
                    errdetail("Without etcd there is no node-id registry: each server's node id is "
                              "what its snowflake.node_id says."),
                    errhint("See \"Leasing node ids from etcd\" in docs/fleets.md.")));

  FleetRow* rows = static_cast<FleetRow*>(palloc0(sizeof(FleetRow) * (snowflake::kMaxNodeId + 1)));
  int count = 0;
  char error[1024];
  const bool read = ReadFleetRows(rows, &count, error, sizeof error);
  /* The C++ objects are gone: a cancel that abandoned the read is reported as one. */
  CHECK_FOR_INTERRUPTS();
  if (!read)
    ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                    errmsg("snowflake could not read the node-id registry from etcd"),
                    errdetail("etcd: %s", error),
                    errhint("Check that etcd is reachable at snowflake.etcd_endpoints.")));

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  const int64 own_lease =
      snowflake_shared != nullptr ? snowflake_shared->coordination.lease_id.load() : 0;
  for (int r = 0; r < count; ++r) {
    const FleetRow& row = rows[r];
    Datum values[kFleetColumns];
    bool nulls[kFleetColumns] = {};
    int i = 0;
    values[i++] = Int32GetDatum(row.node_id);
    if (row.held) {
      values[i++] = CStringGetTextDatum(row.host);
      values[i++] = Int32GetDatum(row.port);
      values[i++] = Int64GetDatum(static_cast<int64>(row.system_identifier));
      values[i++] = CStringGetTextDatum(row.data_directory);
      /* From etcd: anyone with access to the prefix could have written it. */
      if (row.started_at_ms >= 0 && row.started_at_ms < int64{1} << 50)
        values[i++] = TimestampTzGetDatum(row.started_at_ms * 1000 - kUnixToPostgresEpochUs);
      else
        nulls[i++] = true;
      values[i++] = Int64GetDatum(row.lease_id);
      if (row.lease_ttl_left_s >= 0) {
        Interval* left = static_cast<Interval*>(palloc0(sizeof(Interval)));
        left->time = row.lease_ttl_left_s * USECS_PER_SEC;
        values[i++] = IntervalPGetDatum(left);
      } else {
        nulls[i++] = true;
      }
    } else {
      for (int k = 0; k < 7; ++k) nulls[i++] = true;
    }
    if (row.high_water_ms >= 0)
      values[i++] = TimestampTzGetDatum(LayoutMsToTimestampTz(row.high_water_ms));
    else
      nulls[i++] = true;
    values[i++] = BoolGetDatum(row.held && own_lease != 0 && row.lease_id == own_lease);
    Assert(i == kFleetColumns);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  pfree(rows);
  return (Datum)0;
}
