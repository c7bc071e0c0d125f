// printers.h: readable gtest output for the core's enums (found by ADL).
#ifndef SNOWFLAKE_TESTS_CORE_PRINTERS_H
#define SNOWFLAKE_TESTS_CORE_PRINTERS_H

#include <ostream>

#include "generator.h"
#include "status.h"

namespace snowflake {

inline const char* Name(StatusCode c) {
  switch (c) {
    case StatusCode::kOk:
      return "kOk";
    case StatusCode::kOutOfRange:
      return "kOutOfRange";
    case StatusCode::kNotFound:
      return "kNotFound";
    case StatusCode::kCorrupt:
      return "kCorrupt";
    case StatusCode::kIoError:
      return "kIoError";
    case StatusCode::kOtherSystem:
      return "kOtherSystem";
    case StatusCode::kNotReplicated:
      return "kNotReplicated";
    case StatusCode::kUnavailable:
      return "kUnavailable";
    case StatusCode::kEtcdError:
      return "kEtcdError";
    case StatusCode::kNodeIdTaken:
      return "kNodeIdTaken";
    case StatusCode::kNoFreeNodeId:
      return "kNoFreeNodeId";
    case StatusCode::kLeaseLost:
      return "kLeaseLost";
    case StatusCode::kSecondHolder:
      return "kSecondHolder";
    case StatusCode::kBeyondHighWater:
      return "kBeyondHighWater";
  }
  return "StatusCode(?)";
}

inline const char* Name(NextIdOutcome o) {
  switch (o) {
    case NextIdOutcome::kIssued:
      return "kIssued";
    case NextIdOutcome::kSequenceExhausted:
      return "kSequenceExhausted";
    case NextIdOutcome::kNeedsReservation:
      return "kNeedsReservation";
    case NextIdOutcome::kClockTooFarBehind:
      return "kClockTooFarBehind";
    case NextIdOutcome::kTimeRangeExhausted:
      return "kTimeRangeExhausted";
    case NextIdOutcome::kClockBeforeEpoch:
      return "kClockBeforeEpoch";
  }
  return "NextIdOutcome(?)";
}

inline const char* Name(ClockCondition c) {
  switch (c) {
    case ClockCondition::kNormal:
      return "kNormal";
    case ClockCondition::kBorrowing:
      return "kBorrowing";
    case ClockCondition::kTooFarBehind:
      return "kTooFarBehind";
  }
  return "ClockCondition(?)";
}

inline void PrintTo(StatusCode c, std::ostream* os) { *os << Name(c); }
inline void PrintTo(NextIdOutcome o, std::ostream* os) { *os << Name(o); }
inline void PrintTo(ClockCondition c, std::ostream* os) { *os << Name(c); }

}  // namespace snowflake

#endif  // SNOWFLAKE_TESTS_CORE_PRINTERS_H
