// generator.cpp: the lock-free generator step. See generator.h for the rules.
#include "generator.h"

#include <algorithm>

namespace snowflake {

void InitGeneratorState(GeneratorState* state, int32_t node_id, int64_t floor_ms,
                        ClockCondition initial_condition) {
  // A floor means "every earlier ID had a millisecond <= floor_ms"; marking
  // the floor's last sequence as used makes the next ID land past it.
  uint64_t last = floor_ms >= 0 ? PackLastIssued(floor_ms, kMaxSequence) : 0;
  state->last_issued.store(last, std::memory_order_relaxed);
  state->reserved_until_ms.store(floor_ms >= 0 ? floor_ms : -1, std::memory_order_relaxed);
  state->start_last_issued.store(last, std::memory_order_relaxed);
  state->borrow_step_clock_ms.store(-1, std::memory_order_relaxed);
  state->clock_condition.store(ClockConditionWord(ClockDecisionKey(last, false), initial_condition),
                               std::memory_order_relaxed);
  state->node_id.store(node_id, std::memory_order_relaxed);
  state->borrow_events.store(0, std::memory_order_relaxed);
  state->clock_warnings.store(0, std::memory_order_relaxed);
  state->next_ms_waits.store(0, std::memory_order_relaxed);
  state->clock_behind_errors.store(0, std::memory_order_relaxed);
  state->reservation_writes.store(0, std::memory_order_relaxed);
  state->reservation_failures.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

void SetNodeId(GeneratorState* state, int32_t node_id, int64_t start_after_ms) {
  if (start_after_ms >= 0) RaiseFloor(state, -1, start_after_ms);
  state->node_id.store(node_id, std::memory_order_release);
}

void RaiseFloor(GeneratorState* state, int64_t floor_ms, int64_t start_after_ms) {
  // last_issued first: once it is past the floor, no caller can issue inside
  // the floor's milliseconds, whatever reserved_until says meanwhile.
  // No floor at all (-1): nothing to raise.
  if (std::max(floor_ms, start_after_ms) < 0) return;
  const uint64_t wanted = PackLastIssued(std::max(floor_ms, start_after_ms), kMaxSequence);
  uint64_t last = state->last_issued.load(std::memory_order_acquire);
  while (last < wanted &&
         !state->last_issued.compare_exchange_weak(last, wanted, std::memory_order_acq_rel)) {
  }
  // A raised floor is not activity: the renewer still waits for an ID.
  if (last < wanted) state->start_last_issued.store(wanted, std::memory_order_relaxed);
  int64_t reserved = state->reserved_until_ms.load(std::memory_order_acquire);
  while (reserved < floor_ms && !state->reserved_until_ms.compare_exchange_weak(
                                    reserved, floor_ms, std::memory_order_acq_rel)) {
  }
}

Plan PlanNext(uint64_t last_packed, int64_t now_ms, int64_t reserved_until_ms, int64_t max_drift_ms,
              int64_t borrow_step_clock_ms) {
  Plan plan{};
  if (now_ms < 0) {
    plan.outcome = NextIdOutcome::kClockBeforeEpoch;
    return plan;
  }
  const int64_t last_ms = LastIssuedMs(last_packed);
  const int32_t last_seq = LastIssuedSequence(last_packed);

  int64_t next_ms;
  int32_t next_seq;
  if (now_ms > last_ms) {
    // A new millisecond: the common case at moderate rates.
    next_ms = now_ms;
    next_seq = 0;
  } else if (last_seq < kMaxSequence) {
    // The same millisecond, or the clock is behind and we continue from the
    // last issued ID (borrowing).
    next_ms = last_ms;
    next_seq = last_seq + 1;
  } else if (now_ms == last_ms) {
    if (last_ms >= kMaxTimestampMs) {
      // The last millisecond of the layout is full: there is none to wait for.
      plan.outcome = NextIdOutcome::kTimeRangeExhausted;
      plan.candidate_ms = last_ms + 1;
      return plan;
    }
    // 4096 IDs in this millisecond: the caller waits for the clock to move,
    // so that IDs keep carrying the wall-clock time.
    plan.outcome = NextIdOutcome::kSequenceExhausted;
    plan.candidate_ms = last_ms + 1;
    return plan;
  } else if (now_ms == borrow_step_clock_ms) {
    // Borrowing, the borrowed millisecond is full, and the clock has not
    // moved since borrowing last moved on: wait for it to tick, as in the
    // normal case, so that demand cannot run IDs further ahead of the clock.
    // (A clock that moved back since counts as moved: never wait on it.)
    plan.outcome = NextIdOutcome::kSequenceExhausted;
    plan.candidate_ms = last_ms + 1;
    return plan;
  } else {
    // Borrowing and the borrowed millisecond is full: borrow the next one.
    // Waiting for a clock that is behind could take as long as it is behind.
    next_ms = last_ms + 1;
    next_seq = 0;
  }

  plan.candidate_ms = next_ms;
  plan.lead_ms = next_ms - now_ms;
  if (plan.lead_ms > max_drift_ms) {
    plan.outcome = NextIdOutcome::kClockTooFarBehind;
    return plan;
  }
  if (next_ms > kMaxTimestampMs) {
    plan.outcome = NextIdOutcome::kTimeRangeExhausted;
    return plan;
  }
  if (next_ms > reserved_until_ms) {
    plan.outcome = NextIdOutcome::kNeedsReservation;
    return plan;
  }
  plan.outcome = NextIdOutcome::kIssued;
  plan.next_packed = PackLastIssued(next_ms, next_seq);
  return plan;
}

bool NoteClockCondition(GeneratorState* state, uint64_t decision_key, ClockCondition condition) {
  uint64_t seen = state->clock_condition.load(std::memory_order_relaxed);
  const uint64_t wanted = ClockConditionWord(decision_key, condition);
  for (;;) {
    // Same condition: nothing to report (and no write on the hot path).
    // An older decision: a newer one is already recorded; reporting this
    // one would flip the condition back.
    if (ClockConditionOf(seen) == condition || ClockDecisionKeyOf(seen) >= decision_key) {
      return false;
    }
    if (state->clock_condition.compare_exchange_weak(seen, wanted, std::memory_order_relaxed)) {
      break;
    }
  }
  if (condition == ClockCondition::kBorrowing) {
    state->borrow_events.fetch_add(1, std::memory_order_relaxed);
  }
  if (condition != ClockCondition::kNormal) {
    state->clock_warnings.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

namespace {

// The step shared by NextId() and NextIdRun(): one clock read, one plan, and
// one compare-and-swap that claims up to max_count sequence numbers of the
// planned millisecond (a run never crosses into another millisecond, which
// PlanNext() did not check). Inlined with max_count 1 for NextId(), so the
// one-ID hot path does no run arithmetic. *count: IDs claimed (kIssued only).
__attribute__((always_inline)) inline NextIdResult Step(GeneratorState* state, Clock* clock,
                                                        int64_t max_drift_ms, int32_t max_count,
                                                        int32_t* count) {
  NextIdResult result{};
  // The node id before last_issued: a node id assigned by etcd can change
  // (SetNodeId), which raises the floor above the new id's high-water mark
  // first, so a caller that sees the new id also sees that floor. A caller
  // that loaded the old id is not stopped by its compare-and-swap alone: it
  // fails only if the floor moved last_issued, and a mark below the last
  // issued ID moves nothing. The node id is read again after the
  // compare-and-swap, below, and that check is what drops such a claim.
  int32_t node_id = state->node_id.load(std::memory_order_acquire);
  uint64_t last = state->last_issued.load(std::memory_order_acquire);
  for (;;) {
    // The clock is read after last_issued is loaded, so a competing caller's
    // newer millisecond is never mistaken for the clock going backwards.
    const int64_t now_ms = clock->NowMs();
    const int64_t reserved = state->reserved_until_ms.load(std::memory_order_acquire);
    const Plan plan = PlanNext(last, now_ms, reserved, max_drift_ms,
                               state->borrow_step_clock_ms.load(std::memory_order_relaxed));
    result.outcome = plan.outcome;
    result.candidate_ms = plan.candidate_ms;
    result.now_ms = now_ms;
    result.lead_ms = plan.lead_ms;

    if (plan.outcome == NextIdOutcome::kIssued) {
      const int32_t first_seq = LastIssuedSequence(plan.next_packed);
      const int32_t left = kMaxSequence - first_seq + 1;
      const int32_t wanted = max_count < 1 ? 1 : max_count;
      const int32_t claimed = wanted < left ? wanted : left;
      const uint64_t claim_end = PackLastIssued(plan.candidate_ms, first_seq + claimed - 1);
      if (!state->last_issued.compare_exchange_weak(last, claim_end, std::memory_order_acq_rel,
                                                    std::memory_order_acquire)) {
        continue;  // another caller won; `last` now holds its value
      }
      // Claimed under the node id loaded before? If it changed meanwhile,
      // `reserved` may belong to the new id (renewals under it come after
      // the change, so having read such a value we read the new id here):
      // drop the claim (those IDs are never returned) and start over.
      const int32_t node_id_now = state->node_id.load(std::memory_order_acquire);
      if (node_id_now != node_id) {
        node_id = node_id_now;
        last = state->last_issued.load(std::memory_order_acquire);
        continue;
      }
      if (plan.lead_ms > 0 && plan.candidate_ms != LastIssuedMs(last)) {
        state->borrow_step_clock_ms.store(now_ms, std::memory_order_relaxed);
      }
      result.id = ComposeId(plan.candidate_ms, node_id, first_seq);
      *count = claimed;
      result.condition = plan.lead_ms > 0 ? ClockCondition::kBorrowing : ClockCondition::kNormal;
      // The decision key of the first ID claimed: a run records what as many
      // single calls would.
      result.condition_changed =
          NoteClockCondition(state, ClockDecisionKey(plan.next_packed, false), result.condition);
    } else if (plan.outcome == NextIdOutcome::kClockTooFarBehind) {
      state->clock_behind_errors.fetch_add(1, std::memory_order_relaxed);
      result.condition = ClockCondition::kTooFarBehind;
      result.condition_changed =
          NoteClockCondition(state, ClockDecisionKey(last, true), result.condition);
    }
    // Any other outcome makes no statement about the clock.
    return result;
  }
}

}  // namespace

NextIdResult NextId(GeneratorState* state, Clock* clock, int64_t max_drift_ms) {
  int32_t count = 0;
  return Step(state, clock, max_drift_ms, 1, &count);
}

NextIdRunResult NextIdRun(GeneratorState* state, Clock* clock, int64_t max_drift_ms,
                          int32_t max_count) {
  NextIdRunResult run{};
  run.first = Step(state, clock, max_drift_ms, max_count, &run.count);
  return run;
}

}  // namespace snowflake
