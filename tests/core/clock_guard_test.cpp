// clock_guard_test.cpp: reading the wall clock but not into a forward jump
// (GuardedTime, GuardedClock) with fake wall and monotonic clocks.
#include "clock_guard.h"

#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_clock.h"

namespace snowflake {
namespace {

using snowflake_test::FakeClock;

constexpr int64_t kWall = 90'000'000'000;  // layout ms, late 2026
constexpr int64_t kMono = 5'000'000;       // an arbitrary monotonic reading
constexpr int64_t kHour = 3'600'000;

class ClockGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitClockGuard(&state_, kWall, kMono);
    wall_.Set(kWall);
    mono_.Set(kMono);
    clock_.Attach(&state_);
  }
  // Both clocks move on by ms (time passing).
  void Pass(int64_t ms) {
    wall_.Advance(ms);
    mono_.Advance(ms);
  }
  // What the clock reads after time passes: a reader at each step.
  int64_t PassReading(int64_t ms, int64_t step = 50) {
    int64_t now = 0;
    for (int64_t t = 0; t < ms; t += step) {
      Pass(step);
      now = clock_.NowMs();
    }
    return now;
  }

  int hold_ms_ = 60'000;
  ClockGuardState state_;
  FakeClock wall_;
  FakeClock mono_;
  GuardedClock clock_{&wall_, &mono_, &hold_ms_};
};

TEST_F(ClockGuardTest, ReadsTheWallClockWhenNothingJumps) {
  EXPECT_EQ(clock_.NowMs(), kWall);
  for (int i = 0; i < 100; ++i) {
    Pass(50);
    EXPECT_EQ(clock_.NowMs(), wall_.Get());
  }
  EXPECT_EQ(state_.jumps_held.load(), 0u);
}

TEST_F(ClockGuardTest, FollowsSmallStepsForwardAtOnce) {
  Pass(50);
  wall_.Advance(kClockJumpToleranceMs);  // an NTP step within the tolerance
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
  EXPECT_EQ(state_.max_offset_ms.load(), kWall - kMono + kClockJumpToleranceMs);
  wall_.Advance(kClockJumpToleranceMs);  // and another: tolerance counts from the new position
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
}

TEST_F(ClockGuardTest, ReadsStepsBackwardsAsTheyAre) {
  Pass(50);
  wall_.Advance(-kHour);  // set back an hour: the generator borrows
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
}

TEST_F(ClockGuardTest, HoldsAForwardJumpAtThePaceOfTheMonotonicClock) {
  Pass(50);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.NowMs(), kWall + 50) << "the time from before the jump";
  EXPECT_EQ(state_.jumps_held.load(), 1u);
  EXPECT_EQ(state_.held_jump_ms.load(), kHour);
  const int64_t later = PassReading(20'000);
  EXPECT_EQ(later, kWall + 50 + 20'000) << "advancing with the monotonic clock";
  EXPECT_EQ(state_.jumps_held.load(), 1u) << "one jump, one hold";
}

TEST_F(ClockGuardTest, AJumpThatComesBackLeavesNoTrace) {
  Pass(50);
  wall_.Advance(kHour);
  clock_.NowMs();
  PassReading(5000);
  wall_.Advance(-kHour);  // corrected
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
  EXPECT_EQ(state_.held_since_ms.load(), 0);
  EXPECT_EQ(state_.jumps_reverted.load(), 1u);
  EXPECT_EQ(state_.max_offset_ms.load(), kWall - kMono) << "the jump was never trusted";
}

TEST_F(ClockGuardTest, AJumpThatLastsIsFollowedAfterTheHold) {
  Pass(50);
  wall_.Advance(kHour);
  clock_.NowMs();
  const int64_t held = PassReading(hold_ms_ - 100);
  EXPECT_LT(held, wall_.Get());
  Pass(100);
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
  EXPECT_EQ(state_.jumps_followed.load(), 1u);
  EXPECT_EQ(state_.held_since_ms.load(), 0);
  const int64_t later = PassReading(1000);
  EXPECT_EQ(later, wall_.Get()) << "and then read as it is";
}

TEST_F(ClockGuardTest, HoldZeroFollowsAtOnceAndNegativeHoldsUntilItComesBack) {
  hold_ms_ = 0;
  Pass(50);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.NowMs(), wall_.Get());

  hold_ms_ = -1;
  InitClockGuard(&state_, wall_.Get(), mono_.Get());
  Pass(50);
  wall_.Advance(kHour);
  const int64_t before = wall_.Get() - kHour;
  EXPECT_EQ(clock_.NowMs(), before);
  const int64_t later = PassReading(10 * 60'000, 1000);
  EXPECT_EQ(later, before + 10 * 60'000);
}

TEST_F(ClockGuardTest, ACorrectionAfterASetBackIsNoJump) {
  // Set back an hour (IDs borrow); ten minutes later the clock is corrected:
  // it goes where it would have been, not somewhere new.
  Pass(50);
  wall_.Advance(-kHour);
  PassReading(10 * 60'000, 1000);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
  EXPECT_EQ(state_.jumps_held.load(), 0u);
}

TEST_F(ClockGuardTest, ARestoredGuardHoldsAJumpTheEarlierOneHeld) {
  // A jump is held; the guard is made anew (a crash restart) while the wall
  // clock still reads the jump. InitClockGuard would trust it; a guard
  // restored with the earlier one's trust holds it again.
  Pass(50);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.NowMs(), kWall + 50);
  const int64_t trusted = state_.max_offset_ms.load();
  Pass(1000);
  RestoreClockGuard(&state_, trusted);
  EXPECT_EQ(state_.jumps_held.load(), 0u) << "a new guard starts with new counters";
  EXPECT_EQ(clock_.NowMs(), kWall + 1050) << "still the pace from before the jump";
  EXPECT_EQ(state_.jumps_held.load(), 1u);
  EXPECT_EQ(state_.held_jump_ms.load(), kHour);
}

TEST_F(ClockGuardTest, ARestoredGuardTakesACorrectionAfterASetBackAsNoJump) {
  // Set back an hour, the guard made anew (a crash restart), then the clock
  // corrected: where it had been before the restart is no jump.
  Pass(50);
  wall_.Advance(-kHour);
  PassReading(60'000, 1000);
  const int64_t trusted = state_.max_offset_ms.load();
  RestoreClockGuard(&state_, trusted);
  PassReading(60'000, 1000);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.NowMs(), wall_.Get());
  EXPECT_EQ(state_.jumps_held.load(), 0u);
  // What the restart would have done with the wall clock as it read then.
  InitClockGuard(&state_, wall_.Get() - kHour, mono_.Get());
  EXPECT_EQ(clock_.NowMs(), wall_.Get() - kHour) << "InitClockGuard takes the correction as a jump";
  EXPECT_EQ(state_.jumps_held.load(), 1u);
}

TEST_F(ClockGuardTest, ManyReadersHoldOneJumpOnce) {
  Pass(50);
  wall_.Advance(kHour);
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([this] {
      for (int i = 0; i < 10000; ++i) {
        const int64_t now = clock_.NowMs();
        ASSERT_LT(now, wall_.Get());
      }
    });
  }
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(state_.jumps_held.load(), 1u);
}

TEST_F(ClockGuardTest, PeekDecidesNothing) {
  Pass(50);
  wall_.Advance(kHour);
  EXPECT_EQ(clock_.PeekMs(), kWall + 50) << "a jump reads as the time before it";
  EXPECT_EQ(state_.jumps_held.load(), 0u) << "but is not held by a peek";
  clock_.NowMs();
  EXPECT_EQ(state_.jumps_held.load(), 1u);
  wall_.Advance(-kHour);
  EXPECT_EQ(clock_.PeekMs(), wall_.Get());
  EXPECT_EQ(state_.jumps_reverted.load(), 0u) << "nor ended by one";
}

TEST(GuardedClockTest, WithoutAGuardItIsTheWallClock) {
  FakeClock wall(1234);
  FakeClock mono(99);
  int hold = 60'000;
  GuardedClock clock(&wall, &mono, &hold);
  EXPECT_EQ(clock.NowMs(), 1234);
}

TEST(MonotonicClockTest, NeverGoesBack) {
  MonotonicClock mono;
  int64_t last = mono.NowMs();
  for (int i = 0; i < 100000; ++i) {
    const int64_t now = mono.NowMs();
    ASSERT_GE(now, last);
    last = now;
  }
}

}  // namespace
}  // namespace snowflake
