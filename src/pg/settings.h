/*
 * settings.h: the snowflake.* configuration parameters.
 *
 * Owns: snowflake.node_id (PGC_POSTMASTER), snowflake.max_clock_drift,
 * snowflake.promotion_margin and snowflake.clock_jump_hold (PGC_SIGHUP). Each backend reads its own
 * copy; PostgreSQL's GUC machinery validates ranges and refuses SET or a reload of node_id.
 */
#ifndef SNOWFLAKE_PG_SETTINGS_H
#define SNOWFLAKE_PG_SETTINGS_H

/* -1 means "not set": an unset node id must never silently mean 0. */
constexpr int kNodeIdUnset = -1;

extern int node_id_setting;
extern int max_clock_drift_setting_ms;
extern int promotion_margin_setting_ms;
extern int clock_jump_hold_setting_ms;

/*
 * Coordination through etcd (docs/fleets.md), all
 * PGC_POSTMASTER. An empty snowflake.etcd_endpoints means none: the server
 * issues with snowflake.node_id as it is, and none of the rest is used.
 * The TLS and authentication settings are GUC_SUPERUSER_ONLY; the password
 * itself is only ever in a file that the server's OS user alone may read.
 */
extern char* etcd_endpoints_setting;
extern char* etcd_prefix_setting;
extern int node_lease_ttl_setting_s;
extern char* etcd_ssl_ca_file_setting;
extern char* etcd_ssl_cert_file_setting;
extern char* etcd_ssl_key_file_setting;
extern char* etcd_user_setting;
extern char* etcd_password_file_setting;

inline bool CoordinationConfigured() {
  return etcd_endpoints_setting != nullptr && etcd_endpoints_setting[0] != '\0';
}

void DefineSnowflakeSettings();

#endif /* SNOWFLAKE_PG_SETTINGS_H */
