/*
 * settings.cpp: defines the snowflake.* settings. See settings.h.
 */
#include "pg_headers.h"

#include "settings.h"

#include <string>
#include <vector>

#include "../core/etcd_client.h"
#include "../core/layout.h"

int node_id_setting = kNodeIdUnset;
int max_clock_drift_setting_ms = 10000;
int promotion_margin_setting_ms = 3000;
int clock_jump_hold_setting_ms = 60000;
char* etcd_endpoints_setting = nullptr;
char* etcd_prefix_setting = nullptr;
int node_lease_ttl_setting_s = 30;
char* etcd_ssl_ca_file_setting = nullptr;
char* etcd_ssl_cert_file_setting = nullptr;
char* etcd_ssl_key_file_setting = nullptr;
char* etcd_user_setting = nullptr;
char* etcd_password_file_setting = nullptr;

/*
 * Whether list parses as etcd endpoints; the C++ objects live only in this
 * function, which reports through its return value, never ereport().
 */
static bool EndpointsValid(const char* list, char* error, size_t error_size) {
  std::vector<std::string> endpoints;
  std::string why;
  const bool ok = snowflake::ParseEtcdEndpoints(list, &endpoints, &why);
  if (!ok) strlcpy(error, why.c_str(), error_size);
  return ok;
}

static bool CheckEtcdEndpoints(char** newval, void**, GucSource) {
  if (*newval == nullptr || (*newval)[0] == '\0') return true;
  char error[256];
  if (EndpointsValid(*newval, error, sizeof error)) return true;
  GUC_check_errdetail("%s", error);
  return false;
}

/* A key prefix: starts with '/', no trailing '/', no NUL games. */
static bool CheckEtcdPrefix(char** newval, void**, GucSource) {
  const char* prefix = *newval;
  const size_t length = prefix == nullptr ? 0 : strlen(prefix);
  if (length >= 2 && prefix[0] == '/' && prefix[length - 1] != '/') return true;
  GUC_check_errdetail("The prefix must start with \"/\", not end with one, and name something.");
  return false;
}

/*
 * The smallest snowflake.max_clock_drift: a start continues after the stored
 * reservation, which can be up to the reservation window (1.5 s) ahead of a
 * correct clock; a smaller bound would refuse every call for that long after
 * each restart.
 */
static constexpr int kMinClockDriftMs = 2000;

void DefineSnowflakeSettings() {
  DefineCustomIntVariable(
      "snowflake.node_id", "Node id (0 to 1023) this server writes into every ID.",
      "Each server that issues IDs needs its own node id, distinct across the fleet. "
      "-1, the default, means unset: snowflake_next_id() then raises an error.",
      &node_id_setting, kNodeIdUnset, kNodeIdUnset, snowflake::kMaxNodeId, PGC_POSTMASTER, 0,
      nullptr, nullptr, nullptr);

  DefineCustomIntVariable(
      "snowflake.max_clock_drift", "How far IDs may run ahead of a wall clock that went backwards.",
      "While the clock is behind the last issued ID by at most this much, IDs continue from "
      "the last issued one; beyond it, snowflake_next_id() raises an error.",
      &max_clock_drift_setting_ms, 10000, kMinClockDriftMs, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);

  DefineCustomIntVariable(
      "snowflake.promotion_margin",
      "How far past the last replayed reservation a promoted standby starts its IDs.",
      "Covers reservations of the old primary that had not reached this standby when it "
      "was promoted (asynchronous replication lag). 0 trusts that every reservation arrived, "
      "which synchronous replication guarantees.",
      &promotion_margin_setting_ms, 3000, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);

  DefineCustomIntVariable(
      "snowflake.clock_jump_hold",
      "How long a forward jump of the system clock is held before IDs follow it.",
      "While a jump is held, IDs keep the pace of the monotonic clock from before it and "
      "nothing is reserved into it; if the clock comes back, the jump leaves no trace. "
      "0 follows jumps at once; -1 holds them until the clock comes back.",
      &clock_jump_hold_setting_ms, 60000, -1, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);

  DefineCustomStringVariable(
      "snowflake.etcd_endpoints",
      "etcd endpoints (comma-separated http:// or https:// URLs) that lease node ids.",
      "Empty, the default, means no coordination: snowflake.node_id is used as it is. "
      "Otherwise the server holds its node id under an etcd lease, or is assigned the lowest "
      "free one when snowflake.node_id is unset.",
      &etcd_endpoints_setting, "", PGC_POSTMASTER, 0, CheckEtcdEndpoints, nullptr, nullptr);

  DefineCustomStringVariable(
      "snowflake.etcd_prefix", "Where in etcd's key space the node-id registry lives.",
      "Servers that share a prefix share node ids: one prefix per fleet.", &etcd_prefix_setting,
      "/snowflake", PGC_POSTMASTER, 0, CheckEtcdPrefix, nullptr, nullptr);

  /*
   * 30 s (docs/fleets.md, "Capacity and scale"): after a holder dies, its
   * node id is free again within this long (a promoted standby with the
   * same node id waits for it, as Patroni waits its own 30 s TTL before it
   * promotes); the holder renews the lease every 14 s and stops issuing 6 s
   * before it could expire, so an etcd leader election or a lost member
   * costs nothing; and a busy server sends etcd about one request every
   * six seconds, an idle one every 14 s (NodeLease: KeepAliveIntervalMs,
   * HighWaterLeadMs). 10 s, the earlier default, meant 1.6 requests a second.
   */
  DefineCustomIntVariable(
      "snowflake.node_lease_ttl", "Time to live of the etcd lease a server holds its node id by.",
      "A node id whose holder stopped is free again after this long. The holder renews the "
      "lease well before it runs out and stops issuing a fifth of it (at least 1 s) before the "
      "lease could expire.",
      &node_lease_ttl_setting_s, 30, 3, 3600, PGC_POSTMASTER, GUC_UNIT_S, nullptr, nullptr,
      nullptr);

  DefineCustomStringVariable(
      "snowflake.etcd_ssl_ca_file",
      "Certificate authorities that etcd's server certificate must chain to.",
      "Empty uses the system's store. Only for https:// endpoints.", &etcd_ssl_ca_file_setting, "",
      PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("snowflake.etcd_ssl_cert_file",
                             "Client certificate presented to etcd.",
                             "For etcd run with --client-cert-auth. Only for https:// endpoints.",
                             &etcd_ssl_cert_file_setting, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
                             nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "snowflake.etcd_ssl_key_file", "Private key of snowflake.etcd_ssl_cert_file.",
      "Must be readable by the server's OS user only (mode 0600 or less), like ssl_key_file.",
      &etcd_ssl_key_file_setting, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr,
      nullptr);
  DefineCustomStringVariable("snowflake.etcd_user", "etcd user to authenticate as.",
                             "Empty: no etcd authentication.", &etcd_user_setting, "",
                             PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "snowflake.etcd_password_file", "File holding the password of snowflake.etcd_user.",
      "The password is never a setting. The file must be readable by the server's OS user "
      "only (mode 0600 or less); its first line is the password.",
      &etcd_password_file_setting, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr,
      nullptr);

  MarkGUCPrefixReserved("snowflake");
}
