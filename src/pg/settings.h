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

void DefineSnowflakeSettings();

#endif /* SNOWFLAKE_PG_SETTINGS_H */
