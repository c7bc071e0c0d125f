/*
 * settings.cpp: defines the snowflake.* settings. See settings.h.
 */
#include "pg_headers.h"

#include "settings.h"

#include "../core/layout.h"

int node_id_setting = kNodeIdUnset;
int max_clock_drift_setting_ms = 10000;
int promotion_margin_setting_ms = 3000;
int clock_jump_hold_setting_ms = 60000;

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

  MarkGUCPrefixReserved("snowflake");
}
