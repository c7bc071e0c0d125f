/*
 * next_id.h: what the functions that issue or reserve IDs share.
 * Include after pg_headers.h.
 */
#ifndef SNOWFLAKE_PG_NEXT_ID_H
#define SNOWFLAKE_PG_NEXT_ID_H

#include "errors.h"
#include "settings.h"
#include "shared_state.h"

/*
 * Raises the ERROR that stops function_name from issuing IDs here (not
 * preloaded, node id unset, state file unusable, in recovery, node id not
 * held in etcd), or returns
 * the shared state. Inline: it is on the hot path of snowflake_next_id().
 * Include after pg_headers.h.
 */
inline SnowflakeShared* CheckCanIssueIds(const char* function_name) {
  SnowflakeShared* shared = snowflake_shared;
  if (unlikely(shared == nullptr)) ReportNotPreloaded(function_name);
  if (unlikely(node_id_setting == kNodeIdUnset && !shared->coordination.enabled))
    ReportNodeIdUnset();
  if (unlikely(shared->startup_status != StartupStatus::kReady)) ReportStateUnusable(shared);
  if (unlikely(RecoveryInProgress())) ReportInRecovery();
  /* With etcd: the node id is held now (coordination.h). */
  CheckNodeLease(&shared->coordination);
  return shared;
}

#endif /* SNOWFLAKE_PG_NEXT_ID_H */
