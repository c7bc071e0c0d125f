// generator.h: the ID generator step, lock-free over one 64-bit word.
//
// Owns: GeneratorState (the per-server generator state that PostgreSQL keeps
// in shared memory and the unit tests keep in a plain object) and the step
// that turns (last issued, clock, reservation) into the next ID.
//
// Locking rules:
//   - last_issued is advanced only by compare-and-swap, in NextId() (one ID),
//     NextIdRun() (a run of IDs of one millisecond) and RaiseFloor(); any
//     number of threads or processes may call them at once, without a lock.
//   - reserved_until_ms only grows, and only after the new value is durable;
//     it is written by RenewReservation() (reservation.h) under the caller's
//     renewal lock, and read here with acquire ordering.
//   - node_id is written by InitGeneratorState() before any call and, when
//     etcd assigns it, by SetNodeId(), which raises the floor first (release);
//     the step loads it (acquire) before last_issued.
//   - RaiseFloor() (WAL replay, promotion) only raises last_issued and
//     reserved_until, by compare-and-swap, so it is safe beside NextId().
//   - The counters are relaxed atomics: statistics, never used to decide an ID.
//   - clock_condition is one word: the condition and the ID it was decided
//     for (see ClockConditionWord). A change is recorded by compare-and-swap
//     only if it was decided for a newer ID than the recorded one, so a
//     caller pre-empted after issuing its ID cannot flip the condition back
//     to what an older ID saw. It is a "log this once" flag, never used to
//     decide an ID.
#ifndef SNOWFLAKE_CORE_GENERATOR_H
#define SNOWFLAKE_CORE_GENERATOR_H

#include <atomic>
#include <cstdint>

#include "clock.h"
#include "layout.h"

namespace snowflake {

// What the wall clock looks like to the generator, for log-once messages.
enum class ClockCondition : int32_t {
  kNormal = 0,        // IDs carry the wall-clock millisecond
  kBorrowing = 1,     // the clock is behind the last issued ID; we continue from it
  kTooFarBehind = 2,  // ... by more than the allowed drift; calls fail
};

inline constexpr int kCacheLine = 64;

struct GeneratorState {
  // (milliseconds << kSequenceBits) | sequence of the last issued ID.
  alignas(kCacheLine) std::atomic<uint64_t> last_issued;

  // Read-mostly line.
  // Highest millisecond that is durably reserved; -1 when nothing is.
  alignas(kCacheLine) std::atomic<int64_t> reserved_until_ms;
  // last_issued as start-up (or WAL replay, RaiseFloor) left it: the
  // renewer's and the status view's way to tell whether any ID was issued
  // since (an idle server writes nothing).
  std::atomic<uint64_t> start_last_issued;
  // The clock reading when borrowing last moved on to a new millisecond; while
  // borrowing, a full millisecond is left only once the clock has moved, so
  // demand above 4096 IDs/ms cannot push IDs further ahead of the clock.
  // A hint for pacing, not for uniqueness: a lost update costs at most one
  // extra millisecond of lead.
  std::atomic<int64_t> borrow_step_clock_ms;
  std::atomic<uint64_t> clock_condition;  // a ClockConditionWord
  // Fixed at start-up, or assigned by etcd and changed only by SetNodeId().
  std::atomic<int32_t> node_id;

  // Statistics for snowflake_status().
  // (The cross-process atomics must not fall back to a per-process lock.)
  alignas(kCacheLine) std::atomic<uint64_t> borrow_events;
  // Clock conditions reported by calls (NextIdResult::condition_changed to
  // borrowing or too far behind): each one is a line in the server log.
  std::atomic<uint64_t> clock_warnings;
  std::atomic<uint64_t> next_ms_waits;
  std::atomic<uint64_t> clock_behind_errors;
  std::atomic<uint64_t> reservation_writes;
  std::atomic<uint64_t> reservation_failures;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free, "last_issued must be lock-free");
static_assert(std::atomic<int64_t>::is_always_lock_free, "reserved_until must be lock-free");

constexpr uint64_t PackLastIssued(int64_t timestamp_ms, int32_t sequence) {
  return (static_cast<uint64_t>(timestamp_ms) << kSequenceBits) | static_cast<uint64_t>(sequence);
}
constexpr int64_t LastIssuedMs(uint64_t packed) {
  return static_cast<int64_t>(packed >> kSequenceBits);
}
constexpr int32_t LastIssuedSequence(uint64_t packed) {
  return static_cast<int32_t>(packed & kMaxSequence);
}

// The clock-condition word: (decision key << 2) | condition. The key orders
// decisions: 2 * packed ID for an ID issued, 2 * packed last ID + 1 for a call
// refused after that ID (it was decided later than the ID it saw). The packed
// ID has 53 bits, so the key fits with room to spare.
constexpr uint64_t ClockDecisionKey(uint64_t packed, bool refused) {
  return packed * 2 + (refused ? 1 : 0);
}
constexpr uint64_t ClockConditionWord(uint64_t decision_key, ClockCondition condition) {
  return (decision_key << 2) | static_cast<uint64_t>(condition);
}
constexpr ClockCondition ClockConditionOf(uint64_t word) {
  return static_cast<ClockCondition>(word & 3);
}
constexpr uint64_t ClockDecisionKeyOf(uint64_t word) { return word >> 2; }

// Records the condition decided for decision_key. True for exactly one
// caller per change: the one whose compare-and-swap recorded it, which also
// counts it (borrow_events, clock_warnings). A decision for a key at or below
// the recorded one is stale and changes nothing.
bool NoteClockCondition(GeneratorState* state, uint64_t decision_key, ClockCondition condition);

// Prepares a state for use. floor_ms is the reserved_until read from the
// state file at start (every earlier ID has a millisecond <= floor_ms), or -1
// on a first start: the first ID will have a millisecond > floor_ms.
void InitGeneratorState(GeneratorState* state, int32_t node_id, int64_t floor_ms,
                        ClockCondition initial_condition);

// Raises the floor after start: every later ID gets a millisecond above
// start_after_ms (>= floor_ms), and reserved_until becomes at least floor_ms,
// which the caller has made durable (a replayed WAL record is). Never lowers
// either. Used by WAL replay on a standby and in crash recovery, where the
// floor can come from another server (the old primary), and by
// snowflake_advance_past() after its renewal made floor_ms durable.
void RaiseFloor(GeneratorState* state, int64_t floor_ms, int64_t start_after_ms);

// Starts issuing as node_id (assigned by etcd, node_lease.h): every later ID
// gets a millisecond above start_after_ms (the node id's high-water mark),
// raised before the new node id is published.
void SetNodeId(GeneratorState* state, int32_t node_id, int64_t start_after_ms);

enum class NextIdOutcome {
  kIssued,              // id is valid and unique
  kSequenceExhausted,   // the current millisecond is full: wait for the clock to move
  kNeedsReservation,    // the next millisecond is past reserved_until: renew, then retry
  kClockTooFarBehind,   // the clock is behind the last issued ID by more than max drift
  kTimeRangeExhausted,  // the next millisecond is past 2093-09-06T15:47:35.551Z
  kClockBeforeEpoch,    // the clock reads before 2024-01-01
};

struct NextIdResult {
  NextIdOutcome outcome;
  int64_t id;            // kIssued only
  int64_t candidate_ms;  // the millisecond the next ID needs (or got)
  int64_t now_ms;        // the clock reading used
  int64_t lead_ms;       // candidate_ms - now_ms: > 0 while borrowing
  // True for exactly one caller when the clock condition changes; that caller
  // logs the change, so an event is logged once, not per call.
  bool condition_changed;
  ClockCondition condition;
};

// The pure decision, without atomics: what follows last_issued at now_ms.
// Exposed for tests; NextId() is the real entry point.
struct Plan {
  NextIdOutcome outcome;
  uint64_t next_packed;
  int64_t candidate_ms;
  int64_t lead_ms;
};
// borrow_step_clock_ms: see GeneratorState; -1 lets borrowing move on at once.
Plan PlanNext(uint64_t last_packed, int64_t now_ms, int64_t reserved_until_ms, int64_t max_drift_ms,
              int64_t borrow_step_clock_ms = -1);

// The hot path: one clock read, one compare-and-swap, no lock, no allocation.
NextIdResult NextId(GeneratorState* state, Clock* clock, int64_t max_drift_ms);

// A run of consecutive IDs: first_id, first_id + 1, ..., first_id + count - 1,
// all of one millisecond (the sequence numbers next_seq .. next_seq + count - 1).
struct NextIdRunResult {
  NextIdResult first;  // outcome, first.id (kIssued only) and the clock facts
  int32_t count;       // 1..max_count when kIssued, else 0
};

// Claims up to max_count (>= 1) IDs with one compare-and-swap: as many as are
// left in the millisecond NextId() would use now, so a run never crosses a
// millisecond. Every rule of NextId() holds for the whole run: the run's
// millisecond is the one NextId() would pick (the clock, or borrowing with its
// pacing), within max_drift_ms of the clock, reserved, inside the layout; a
// full millisecond is kSequenceExhausted (wait for the clock) as in NextId().
// The run is greater than every ID issued before it.
NextIdRunResult NextIdRun(GeneratorState* state, Clock* clock, int64_t max_drift_ms,
                          int32_t max_count);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_GENERATOR_H
