/*
 * errors.h: every error snowflake_next_id() can raise, in one place.
 *
 * Owns: the mapping from a cause to its SQLSTATE, message, detail and hint
 * (docs/troubleshooting.md lists every message; make docs-check fails when
 * one is missing there). Each function raises an
 * ERROR and does not return; call them only from frames that own nothing
 * with a destructor.
 */
#ifndef SNOWFLAKE_PG_ERRORS_H
#define SNOWFLAKE_PG_ERRORS_H

#include "../core/generator.h"
#include "../core/status.h"

struct SnowflakeShared;

[[noreturn]] void ReportNotPreloaded(const char* function_name);
[[noreturn]] void ReportNodeIdUnset();
[[noreturn]] void ReportInRecovery();
[[noreturn]] void ReportStateUnusable(const SnowflakeShared* shared);
[[noreturn]] void ReportReservationFailed(const snowflake::Status& status);
[[noreturn]] void ReportClockTooFarBehind(const snowflake::NextIdResult& result);
[[noreturn]] void ReportTimeRangeExhausted();
[[noreturn]] void ReportClockBeforeEpoch(const snowflake::NextIdResult& result);
[[noreturn]] void ReportClockNotAdvancing();

/*
 * Logs a change of clock condition to the server log only (never to the
 * client); called by the one caller that saw it.
 */
void LogClockConditionChange(const snowflake::NextIdResult& result);

#endif /* SNOWFLAKE_PG_ERRORS_H */
