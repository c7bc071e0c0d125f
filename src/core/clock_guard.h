// clock_guard.h: the clock IDs are stamped with, guarded against forward
// jumps of the wall clock.
//
// Owns: ClockGuardState (one per server, in shared memory) and GuardedClock
// (the clock the generator reads).
//
// Why: a wall clock set far forward by mistake (a typo in `date`, a bad NTP
// source, a VM restored with a wrong time) would stamp IDs, and reserve a
// floor, in the future; once the clock is corrected, every call fails until
// real time reaches that floor. CLOCK_BOOTTIME never jumps (NTP slews it
// like the wall clock, but never steps it), so wall - monotonic is constant
// while nothing steps the wall clock. The guard remembers the largest value
// it has trusted (max_offset_ms) and reads the wall clock as it is unless it
// lies more than kClockJumpToleranceMs beyond monotonic + max_offset: a
// forward jump to somewhere the clock has never been. Such a jump is held:
// the time read is monotonic + max_offset (the pace from before the jump),
// so IDs keep real time and nothing is reserved into the jump, until the
// jump has lasted hold_ms (then it is trusted and followed) or the wall
// clock comes back (then nothing happened). Steps backwards are read as they
// are (the generator's borrowing handles them), and a later correction
// forward to where the clock had been is no jump.
//
// Locking rules: lock-free. Every reader may update the state by
// compare-and-swap: max_offset_ms only grows, held_since_ms goes from 0 to
// the time a jump was first seen and back to 0. The counters are statistics
// for the log (the reservation writer reports changes).
#ifndef SNOWFLAKE_CORE_CLOCK_GUARD_H
#define SNOWFLAKE_CORE_CLOCK_GUARD_H

#include <atomic>
#include <cstdint>

#include "clock.h"

namespace snowflake {

// Forward steps up to this much are followed at once: reading two clocks is
// not instantaneous, and NTP corrects the wall clock by steps below it.
inline constexpr int64_t kClockJumpToleranceMs = 1000;

struct ClockGuardState {
  std::atomic<int64_t> max_offset_ms;    // the largest wall - monotonic trusted
  std::atomic<int64_t> held_since_ms;    // monotonic time a held jump was first seen; 0: none
  std::atomic<int64_t> held_jump_ms;     // its size when first seen
  std::atomic<uint64_t> jumps_held;      // jumps seen and held
  std::atomic<uint64_t> jumps_followed;  // held jumps trusted after hold_ms
  std::atomic<uint64_t> jumps_reverted;  // held jumps the wall clock came back from
};

static_assert(std::atomic<int64_t>::is_always_lock_free, "max_offset_ms must be lock-free");

// Starts trusting the wall clock as it reads now.
void InitClockGuard(ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms);

// Starts with what an earlier guard on the same monotonic clock trusted (its
// max_offset_ms; PostgreSQL: the postmaster's across a crash restart), not
// with the wall clock as it reads now: a jump that guard held is held again,
// and a correction back to where the clock had been is still no jump. A jump
// held when the earlier guard went is held anew, from the first reading.
void RestoreClockGuard(ClockGuardState* state, int64_t max_offset_ms);

// The decision for one pair of clock readings; updates the state. hold_ms:
// how long a forward jump is held; 0 follows at once, negative holds until
// the wall clock comes back. Returns the time to use.
int64_t GuardedTime(ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms, int64_t hold_ms);

// The same reading without deciding anything: the wall clock, or, beyond
// the trusted range, the pace from before the jump. For a watcher that must
// not start, end or trust a hold (the reservation writer renews against it).
int64_t PeekGuardedTime(const ClockGuardState* state, int64_t wall_ms, int64_t monotonic_ms);

// CLOCK_BOOTTIME in milliseconds: monotonic (never stepped, slewed by NTP
// like the wall clock) and, unlike CLOCK_MONOTONIC, counting time spent
// suspended, so a resume is not mistaken for a jump. Its own origin (boot).
class MonotonicClock final : public Clock {
 public:
  int64_t NowMs() override;
};

// The guarded wall clock. Without a guard attached, the wall clock as it is.
// hold_ms points at the caller's setting (PostgreSQL: a GUC variable).
class GuardedClock final : public Clock {
 public:
  GuardedClock(Clock* wall, Clock* monotonic, const int* hold_ms)
      : wall_(wall), monotonic_(monotonic), hold_ms_(hold_ms) {}
  void Attach(ClockGuardState* state) { state_ = state; }
  // A reading that changes nothing (PeekGuardedTime).
  int64_t PeekMs() {
    const int64_t wall = wall_->NowMs();
    const ClockGuardState* state = state_;
    if (state == nullptr) return wall;
    return PeekGuardedTime(state, wall, monotonic_->NowMs());
  }
  int64_t NowMs() override {
    const int64_t wall = wall_->NowMs();
    ClockGuardState* state = state_;
    if (state == nullptr) return wall;
    return GuardedTime(state, wall, monotonic_->NowMs(), *hold_ms_);
  }

 private:
  Clock* wall_;
  Clock* monotonic_;
  const int* hold_ms_;
  ClockGuardState* state_ = nullptr;
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_CLOCK_GUARD_H
