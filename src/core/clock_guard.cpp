// clock_guard.cpp: reading the wall clock, but not into a forward jump.
// See clock_guard.h for the rules.
#include "clock_guard.h"

#include <ctime>

namespace snowflake {

void InitClockGuard(ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms) {
  RestoreClockGuard(state, wall_ms - monotonic_ms);
}

void RestoreClockGuard(ClockGuardState* state, int64_t max_offset_ms) {
  state->max_offset_ms.store(max_offset_ms, std::memory_order_relaxed);
  state->held_since_ms.store(0, std::memory_order_relaxed);
  state->held_jump_ms.store(0, std::memory_order_relaxed);
  state->jumps_held.store(0, std::memory_order_relaxed);
  state->jumps_followed.store(0, std::memory_order_relaxed);
  state->jumps_reverted.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

namespace {

// Raises max_offset_ms to at least offset.
void RaiseMaxOffset(ClockGuardState* state, int64_t offset) {
  int64_t seen = state->max_offset_ms.load(std::memory_order_relaxed);
  while (seen < offset &&
         !state->max_offset_ms.compare_exchange_weak(seen, offset, std::memory_order_relaxed)) {
  }
}

// Ends a held jump (if one is held) and counts how it ended.
void EndHold(ClockGuardState* state, std::atomic<uint64_t>* counter) {
  int64_t since = state->held_since_ms.load(std::memory_order_relaxed);
  if (since != 0 &&
      state->held_since_ms.compare_exchange_strong(since, 0, std::memory_order_relaxed)) {
    counter->fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

int64_t GuardedTime(ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms,
                    int64_t hold_ms) {
  const int64_t offset = wall_ms - monotonic_ms;
  const int64_t max_offset = state->max_offset_ms.load(std::memory_order_relaxed);
  if (offset <= max_offset + kClockJumpToleranceMs) {
    // The common case: the wall clock is where the guard expects it, or
    // behind (set back), or a little ahead (a small step, read jitter).
    if (offset > max_offset) RaiseMaxOffset(state, offset);
    if (state->held_since_ms.load(std::memory_order_relaxed) != 0) {
      EndHold(state, &state->jumps_reverted);
    }
    return wall_ms;
  }

  // A forward jump beyond anywhere the clock has been.
  if (hold_ms == 0) {
    RaiseMaxOffset(state, offset);
    EndHold(state, &state->jumps_followed);
    return wall_ms;
  }
  int64_t since = state->held_since_ms.load(std::memory_order_relaxed);
  if (since == 0) {
    // The first reader to see it starts the hold (0 is never a reading:
    // monotonic time starts at boot, and a reading of 0 is taken as 1).
    const int64_t now = monotonic_ms != 0 ? monotonic_ms : 1;
    if (state->held_since_ms.compare_exchange_strong(since, now, std::memory_order_relaxed)) {
      state->held_jump_ms.store(offset - max_offset, std::memory_order_relaxed);
      state->jumps_held.fetch_add(1, std::memory_order_relaxed);
      since = now;
    }
  }
  if (hold_ms > 0 && monotonic_ms - since >= hold_ms) {
    // Held long enough: trust it.
    RaiseMaxOffset(state, offset);
    EndHold(state, &state->jumps_followed);
    return wall_ms;
  }
  return monotonic_ms + max_offset;
}

int64_t PeekGuardedTime(const ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms) {
  const int64_t max_offset = state->max_offset_ms.load(std::memory_order_relaxed);
  if (wall_ms - monotonic_ms <= max_offset + kClockJumpToleranceMs) return wall_ms;
  return monotonic_ms + max_offset;
}

int64_t MonotonicClock::NowMs() {
  struct timespec ts;
  // BOOTTIME, not MONOTONIC: it keeps counting while the system is
  // suspended, so the wall clock's correct jump after a resume is no jump.
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace snowflake
