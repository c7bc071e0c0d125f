// generator_test.cpp: the generator step (NextId, PlanNext, InitGeneratorState)
// against a fake clock.
#include "generator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "printers.h"

#include "fake_clock.h"

namespace snowflake {
namespace {

using snowflake_test::FakeClock;

constexpr int32_t kNode = 617;
constexpr int64_t kStart = 1'000'000;  // an arbitrary clock reading after the epoch
constexpr int64_t kDrift = 100;

DecodedId Decode(int64_t id) {
  DecodedId d{-1, -1, -1};
  EXPECT_TRUE(DecodeId(id, &d).ok()) << id;
  return d;
}

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitGeneratorState(&state_, kNode, -1, ClockCondition::kNormal);
    state_.reserved_until_ms.store(kMaxTimestampMs);
    clock_.Set(kStart);
  }

  NextIdResult Next(int64_t max_drift_ms = kDrift) {
    return NextId(&state_, &clock_, max_drift_ms);
  }

  // Issues one ID and checks that it was issued with the expected parts.
  int64_t ExpectIssued(int64_t ms, int32_t seq, int64_t max_drift_ms = kDrift) {
    const NextIdResult r = Next(max_drift_ms);
    EXPECT_EQ(r.outcome, NextIdOutcome::kIssued);
    const DecodedId d = Decode(r.id);
    EXPECT_EQ(d.timestamp_ms, ms);
    EXPECT_EQ(d.node_id, kNode);
    EXPECT_EQ(d.sequence, seq);
    EXPECT_EQ(r.candidate_ms, ms);
    EXPECT_EQ(r.now_ms, clock_.Get());
    EXPECT_EQ(r.lead_ms, ms - clock_.Get());
    return r.id;
  }

  // Fills the rest of the millisecond of the last issued ID at the current clock.
  void FillCurrentMillisecond(std::vector<int64_t>* ids = nullptr) {
    for (;;) {
      const uint64_t last = state_.last_issued.load();
      if (LastIssuedSequence(last) == kMaxSequence) return;
      const NextIdResult r = Next();
      ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
      if (ids != nullptr) ids->push_back(r.id);
    }
  }

  GeneratorState state_;
  FakeClock clock_;
};

TEST(GeneratorInitTest, InitialisesEveryField) {
  GeneratorState state;
  // Dirty every field first, so the test sees that Init writes them.
  state.last_issued.store(~uint64_t{0});
  state.reserved_until_ms.store(12345);
  state.clock_condition.store(ClockConditionWord(99, ClockCondition::kTooFarBehind));
  state.node_id = -7;
  state.borrow_events.store(9);
  state.clock_warnings.store(9);
  state.next_ms_waits.store(9);
  state.clock_behind_errors.store(9);
  state.reservation_writes.store(9);
  state.reservation_failures.store(9);

  InitGeneratorState(&state, 3, -1, ClockCondition::kNormal);
  EXPECT_EQ(state.node_id, 3);
  EXPECT_EQ(state.reserved_until_ms.load(), -1);
  EXPECT_EQ(ClockConditionOf(state.clock_condition.load()), ClockCondition::kNormal);
  EXPECT_EQ(state.borrow_events.load(), 0u);
  EXPECT_EQ(state.clock_warnings.load(), 0u);
  EXPECT_EQ(state.next_ms_waits.load(), 0u);
  EXPECT_EQ(state.clock_behind_errors.load(), 0u);
  EXPECT_EQ(state.reservation_writes.load(), 0u);
  EXPECT_EQ(state.reservation_failures.load(), 0u);

  InitGeneratorState(&state, 1023, 777, ClockCondition::kBorrowing);
  EXPECT_EQ(state.node_id, 1023);
  EXPECT_EQ(state.reserved_until_ms.load(), 777);
  EXPECT_EQ(LastIssuedMs(state.last_issued.load()), 777);
  EXPECT_EQ(LastIssuedSequence(state.last_issued.load()), kMaxSequence);
  EXPECT_EQ(ClockConditionOf(state.clock_condition.load()), ClockCondition::kBorrowing);
}

TEST(GeneratorInitTest, PackedLastIssuedRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, kStart, kMaxTimestampMs}) {
    for (int32_t seq : {0, 1, kMaxSequence}) {
      const uint64_t packed = PackLastIssued(ms, seq);
      EXPECT_EQ(LastIssuedMs(packed), ms);
      EXPECT_EQ(LastIssuedSequence(packed), seq);
    }
  }
  // Packed order is (ms, seq) order.
  EXPECT_LT(PackLastIssued(5, kMaxSequence), PackLastIssued(6, 0));
  EXPECT_LT(PackLastIssued(5, 0), PackLastIssued(5, 1));
}

TEST_F(GeneratorTest, RaiseFloorMakesTheNextIdNeedAReservationAboveIt) {
  // A replayed reservation of another server (the old primary) at kStart + 500.
  InitGeneratorState(&state_, kNode, kStart - 10, ClockCondition::kNormal);
  RaiseFloor(&state_, kStart + 500, kStart + 500);
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart + 500);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart + 500, kMaxSequence));
  EXPECT_EQ(state_.start_last_issued.load(), state_.last_issued.load())
      << "a raised floor is not activity";
  // The next ID must be above the floor and needs a reservation first.
  const NextIdResult r = Next(1000);
  EXPECT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.candidate_ms, kStart + 501);
}

TEST_F(GeneratorTest, RaiseFloorWithAMarginAndNeverLowers) {
  InitGeneratorState(&state_, kNode, kStart + 100, ClockCondition::kNormal);
  RaiseFloor(&state_, kStart + 200, kStart + 3200);  // promotion margin 3000
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart + 200);
  EXPECT_EQ(LastIssuedMs(state_.last_issued.load()), kStart + 3200);
  RaiseFloor(&state_, kStart + 50, kStart + 60);  // older record: no effect
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart + 200);
  EXPECT_EQ(LastIssuedMs(state_.last_issued.load()), kStart + 3200);
  state_.reserved_until_ms.store(kMaxTimestampMs);
  clock_.Set(kStart);
  const NextIdResult r = Next(5000);
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 3201);
}

// etcd assigns a node id (node_lease.h): the floor goes above the node id's
// high-water mark before the id is published; a node id with no mark yet
// (-1) changes nothing but the id.
TEST_F(GeneratorTest, SetNodeIdRaisesTheFloorToTheHighWaterMarkFirst) {
  InitGeneratorState(&state_, -1, kStart - 10, ClockCondition::kNormal);
  const uint64_t before = state_.last_issued.load();
  SetNodeId(&state_, 7, -1);
  EXPECT_EQ(state_.node_id.load(), 7);
  EXPECT_EQ(state_.last_issued.load(), before) << "no mark: no floor";
  SetNodeId(&state_, 8, kStart + 700);
  EXPECT_EQ(state_.node_id.load(), 8);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart + 700, kMaxSequence));
  state_.reserved_until_ms.store(kMaxTimestampMs);
  clock_.Set(kStart);
  const NextIdResult r = Next(5000);
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 701);
  EXPECT_EQ(Decode(r.id).node_id, 8);
}

// A clock whose first read, inside the step, assigns another node id: the
// step has loaded the old node id and last_issued by then.
class NodeIdChangingClock final : public Clock {
 public:
  NodeIdChangingClock(GeneratorState* state, int32_t node_id, int64_t start_after_ms, int64_t now)
      : state_(state), node_id_(node_id), start_after_ms_(start_after_ms), now_(now) {}
  int64_t NowMs() override {
    if (!changed_) {
      changed_ = true;
      SetNodeId(state_, node_id_, start_after_ms_);
    }
    return now_;
  }

 private:
  GeneratorState* state_;
  int32_t node_id_;
  int64_t start_after_ms_;
  int64_t now_;
  bool changed_ = false;
};

// A node id assigned while a call is between its loads and its
// compare-and-swap, with a mark below the last issued ID: the floor does not
// move last_issued, so the stale compare-and-swap succeeds. The node id read
// after it is what keeps the claim from being returned under the old id.
TEST_F(GeneratorTest, ANodeIdChangedDuringTheStepIsNeverIssuedUnderTheOldId) {
  InitGeneratorState(&state_, 7, kStart + 50, ClockCondition::kNormal);
  state_.reserved_until_ms.store(kMaxTimestampMs);
  NodeIdChangingClock clock(&state_, 8, kStart - 10, kStart + 100);
  const NextIdResult r = NextId(&state_, &clock, kDrift);
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).node_id, 8);
  // The first claim was dropped: its sequence number is never issued.
  EXPECT_EQ(Decode(r.id).sequence, 1);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 100);
}

TEST_F(GeneratorTest, RaiseFloorWithoutAFloorChangesNothing) {
  InitGeneratorState(&state_, kNode, kStart, ClockCondition::kNormal);
  const uint64_t before = state_.last_issued.load();
  RaiseFloor(&state_, -1, -1);
  EXPECT_EQ(state_.last_issued.load(), before);
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart);
}

TEST_F(GeneratorTest, NewMillisecondGivesSequenceZero) {
  ExpectIssued(kStart, 0);
  clock_.Advance(1);
  ExpectIssued(kStart + 1, 0);
  clock_.Advance(1000);
  const NextIdResult r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 1001);
  EXPECT_EQ(Decode(r.id).sequence, 0);
  EXPECT_EQ(r.condition, ClockCondition::kNormal);
  EXPECT_FALSE(r.condition_changed);
  EXPECT_EQ(state_.borrow_events.load(), 0u);
}

TEST_F(GeneratorTest, SameMillisecondIncrementsTheSequence) {
  int64_t prev = -1;
  for (int32_t seq = 0; seq < 100; ++seq) {
    const int64_t id = ExpectIssued(kStart, seq);
    EXPECT_GT(id, prev);
    prev = id;
  }
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart, 99));
}

TEST_F(GeneratorTest, SequenceExhaustedAfter4096IdsThenNextMillisecond) {
  int64_t prev = -1;
  for (int32_t seq = 0; seq < kIdsPerMs; ++seq) {
    const int64_t id = ExpectIssued(kStart, seq);
    ASSERT_GT(id, prev);
    prev = id;
  }
  const uint64_t full = state_.last_issued.load();
  EXPECT_EQ(full, PackLastIssued(kStart, kMaxSequence));
  for (int i = 0; i < 3; ++i) {
    const NextIdResult r = Next();
    EXPECT_EQ(r.outcome, NextIdOutcome::kSequenceExhausted);
    EXPECT_EQ(r.candidate_ms, kStart + 1);
    EXPECT_EQ(r.now_ms, kStart);
    EXPECT_FALSE(r.condition_changed);
    EXPECT_EQ(state_.last_issued.load(), full) << "nothing may be consumed";
  }
  clock_.Advance(1);
  const int64_t id = ExpectIssued(kStart + 1, 0);
  EXPECT_GT(id, prev);
}

TEST_F(GeneratorTest, ClockBehindWithinDriftBorrows) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(ExpectIssued(kStart, i));

  clock_.Set(kStart - 10);
  NextIdResult r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart);
  EXPECT_EQ(Decode(r.id).sequence, 3);
  EXPECT_EQ(r.lead_ms, 10);
  EXPECT_EQ(r.now_ms, kStart - 10);
  EXPECT_EQ(r.condition, ClockCondition::kBorrowing);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  EXPECT_EQ(ClockConditionOf(state_.clock_condition.load()), ClockCondition::kBorrowing);
  ids.push_back(r.id);

  // Still borrowing: no new event, whatever the lead.
  for (int64_t behind : {int64_t{10}, int64_t{3}, int64_t{10}, int64_t{1}, kDrift}) {
    clock_.Set(kStart - behind);
    r = Next();
    ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
    EXPECT_EQ(Decode(r.id).timestamp_ms, kStart);
    EXPECT_EQ(r.lead_ms, behind);
    EXPECT_EQ(r.condition, ClockCondition::kBorrowing);
    EXPECT_FALSE(r.condition_changed);
    ids.push_back(r.id);
  }
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);
}

TEST_F(GeneratorTest, ClockBackToNormalIsReportedOnce) {
  ExpectIssued(kStart, 0);
  clock_.Set(kStart - 5);
  NextIdResult r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  ASSERT_TRUE(r.condition_changed);

  // The clock catches up to the borrowed millisecond: lead 0 is normal.
  clock_.Set(kStart);
  r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.lead_ms, 0);
  EXPECT_EQ(r.condition, ClockCondition::kNormal);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(ClockConditionOf(state_.clock_condition.load()), ClockCondition::kNormal);

  clock_.Advance(1);
  r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.condition, ClockCondition::kNormal);
  EXPECT_FALSE(r.condition_changed);
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  EXPECT_EQ(state_.clock_warnings.load(), 1u) << "the return to normal is no warning";

  // A second, separate step back is a second event.
  clock_.Set(kStart - 50);
  r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(state_.borrow_events.load(), 2u);
  EXPECT_EQ(state_.clock_warnings.load(), 2u);
}

TEST_F(GeneratorTest, BorrowingWithAFullMillisecondBorrowsTheNextOne) {
  std::vector<int64_t> ids;
  ids.push_back(ExpectIssued(kStart, 0));
  FillCurrentMillisecond(&ids);
  ASSERT_EQ(state_.last_issued.load(), PackLastIssued(kStart, kMaxSequence));

  // Behind: do not wait for the clock, take kStart + 1.
  clock_.Set(kStart - 20);
  NextIdResult r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 1);
  EXPECT_EQ(Decode(r.id).sequence, 0);
  EXPECT_EQ(r.lead_ms, 21);
  EXPECT_EQ(r.candidate_ms, kStart + 1);
  EXPECT_TRUE(r.condition_changed);
  ids.push_back(r.id);

  // While the clock stands still, a full borrowed millisecond waits for it
  // to tick: demand alone never runs IDs further ahead of the clock.
  FillCurrentMillisecond(&ids);
  r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kSequenceExhausted);
  EXPECT_EQ(r.candidate_ms, kStart + 2);
  // Each tick of the clock lets borrowing take one more millisecond, so the
  // lead stays where it was.
  for (int tick = 1; tick <= 5; ++tick) {
    clock_.Advance(1);
    r = Next();
    ASSERT_EQ(r.outcome, NextIdOutcome::kIssued) << tick;
    EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 1 + tick);
    EXPECT_EQ(Decode(r.id).sequence, 0);
    EXPECT_EQ(r.lead_ms, 21);
    EXPECT_FALSE(r.condition_changed);
    ids.push_back(r.id);
    FillCurrentMillisecond(&ids);
    EXPECT_EQ(Next().outcome, NextIdOutcome::kSequenceExhausted) << tick;
  }
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
  // Every millisecond from kStart to kStart + 6 was filled.
  EXPECT_EQ(ids.size(), static_cast<size_t>(kIdsPerMs) * 7);
}

TEST_F(GeneratorTest, BorrowingMovesOnWhenTheClockStepsBackAgain) {
  std::vector<int64_t> ids;
  ids.push_back(ExpectIssued(kStart, 0));
  FillCurrentMillisecond(&ids);
  state_.reserved_until_ms.store(kStart + 10'000);
  clock_.Set(kStart - 20);
  ASSERT_EQ(Next().outcome, NextIdOutcome::kIssued);  // borrows kStart + 1
  FillCurrentMillisecond(&ids);
  // The clock goes back once more: that is not "the clock did not move", and
  // waiting for it to pass its old reading could take as long as the step.
  clock_.Set(kStart - 30);
  const NextIdResult r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.id).timestamp_ms, kStart + 2);
}

TEST_F(GeneratorTest, ClockBehindBeyondDriftFails) {
  ExpectIssued(kStart, 0);
  const uint64_t before = state_.last_issued.load();

  clock_.Set(kStart - kDrift - 1);
  NextIdResult r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kClockTooFarBehind);
  EXPECT_EQ(r.candidate_ms, kStart);
  EXPECT_EQ(r.lead_ms, kDrift + 1);
  EXPECT_EQ(r.now_ms, kStart - kDrift - 1);
  EXPECT_EQ(r.condition, ClockCondition::kTooFarBehind);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(state_.clock_behind_errors.load(), 1u);
  EXPECT_EQ(ClockConditionOf(state_.clock_condition.load()), ClockCondition::kTooFarBehind);

  for (uint64_t n = 2; n <= 5; ++n) {
    clock_.Set(kStart - 100000 * static_cast<int64_t>(n));
    r = Next();
    EXPECT_EQ(r.outcome, NextIdOutcome::kClockTooFarBehind);
    EXPECT_FALSE(r.condition_changed);
    EXPECT_EQ(state_.clock_behind_errors.load(), n);
  }
  EXPECT_EQ(state_.last_issued.load(), before) << "a failed call consumes nothing";
  EXPECT_EQ(state_.borrow_events.load(), 0u);
  EXPECT_EQ(state_.clock_warnings.load(), 1u) << "one warning for five refused calls";

  // Exactly at the limit is allowed again: too-far-behind -> borrowing.
  clock_.Set(kStart - kDrift);
  r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.lead_ms, kDrift);
  EXPECT_EQ(r.condition, ClockCondition::kBorrowing);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  EXPECT_EQ(state_.clock_warnings.load(), 2u);

  // And back to normal.
  clock_.Set(kStart + 1);
  r = Next();
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.condition, ClockCondition::kNormal);
  EXPECT_TRUE(r.condition_changed);
  EXPECT_EQ(state_.clock_behind_errors.load(), 5u);
  EXPECT_EQ(state_.clock_warnings.load(), 2u);
}

TEST_F(GeneratorTest, ZeroDriftAllowsNoBorrowing) {
  ExpectIssued(kStart, 0, 0);
  ExpectIssued(kStart, 1, 0);  // the same millisecond is not borrowing
  clock_.Set(kStart - 1);
  EXPECT_EQ(Next(0).outcome, NextIdOutcome::kClockTooFarBehind);
}

TEST_F(GeneratorTest, NextMillisecondPastReservationNeedsRenewal) {
  state_.reserved_until_ms.store(kStart);
  ExpectIssued(kStart, 0);
  const uint64_t before = state_.last_issued.load();

  clock_.Set(kStart + 1);
  NextIdResult r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.candidate_ms, kStart + 1);
  EXPECT_EQ(r.now_ms, kStart + 1);
  EXPECT_FALSE(r.condition_changed);
  EXPECT_EQ(state_.last_issued.load(), before);

  clock_.Set(kStart + 500);
  r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.candidate_ms, kStart + 500);

  // Once reserved, the same call issues.
  state_.reserved_until_ms.store(kStart + 500);
  ExpectIssued(kStart + 500, 0);
}

TEST_F(GeneratorTest, BorrowingIntoAnUnreservedMillisecondNeedsRenewal) {
  state_.reserved_until_ms.store(kStart);
  ExpectIssued(kStart, 0);
  FillCurrentMillisecond();
  clock_.Set(kStart - 3);
  const NextIdResult r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.candidate_ms, kStart + 1);
  EXPECT_EQ(r.lead_ms, 4);
  EXPECT_EQ(LastIssuedMs(state_.last_issued.load()), kStart);
}

TEST_F(GeneratorTest, FreshStateWithoutReservationNeedsOne) {
  InitGeneratorState(&state_, kNode, -1, ClockCondition::kNormal);
  const NextIdResult r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.candidate_ms, kStart);
}

TEST_F(GeneratorTest, LastMillisecondOfTheLayoutIsUsableAndNothingPastIt) {
  InitGeneratorState(&state_, kNode, kMaxTimestampMs - 1, ClockCondition::kNormal);
  state_.reserved_until_ms.store(kMaxTimestampMs);
  clock_.Set(kMaxTimestampMs);
  int64_t prev = -1;
  for (int32_t seq = 0; seq < kIdsPerMs; ++seq) {
    const int64_t id = ExpectIssued(kMaxTimestampMs, seq);
    ASSERT_GT(id, prev);
    prev = id;
  }
  EXPECT_EQ(prev, ComposeId(kMaxTimestampMs, kNode, kMaxSequence));

  // Clock beyond the layout.
  for (int64_t now : {kMaxTimestampMs + 1, kMaxTimestampMs + 1000, INT64_MAX / 2}) {
    clock_.Set(now);
    const NextIdResult r = Next();
    EXPECT_EQ(r.outcome, NextIdOutcome::kTimeRangeExhausted) << now;
    EXPECT_GT(r.candidate_ms, kMaxTimestampMs);
  }
  // Borrowing cannot go past it either.
  clock_.Set(kMaxTimestampMs - 5);
  EXPECT_EQ(Next().outcome, NextIdOutcome::kTimeRangeExhausted);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kMaxTimestampMs, kMaxSequence));
}

// The last millisecond is full and the clock reads it: there is no next
// millisecond to wait for, so this is the end of the range, not a wait.
TEST_F(GeneratorTest, FullLastMillisecondIsTimeRangeExhausted) {
  InitGeneratorState(&state_, kNode, kMaxTimestampMs, ClockCondition::kNormal);
  clock_.Set(kMaxTimestampMs);
  const NextIdResult r = Next();
  EXPECT_EQ(r.outcome, NextIdOutcome::kTimeRangeExhausted)
      << "got " << Name(r.outcome) << " with candidate_ms " << r.candidate_ms
      << " (kMaxTimestampMs=" << kMaxTimestampMs << ")";
}

TEST_F(GeneratorTest, ClockBeforeEpoch) {
  ExpectIssued(kStart, 0);
  const uint64_t before = state_.last_issued.load();
  for (int64_t now : {int64_t{-1}, int64_t{-kStart}, INT64_MIN}) {
    clock_.Set(now);
    const NextIdResult r = Next(INT64_MAX);
    EXPECT_EQ(r.outcome, NextIdOutcome::kClockBeforeEpoch) << now;
    EXPECT_EQ(r.now_ms, now);
    EXPECT_FALSE(r.condition_changed);
  }
  EXPECT_EQ(state_.last_issued.load(), before);
  EXPECT_EQ(state_.clock_behind_errors.load(), 0u);
  clock_.Set(0);  // the epoch itself is fine (borrowing from kStart)
  EXPECT_EQ(Next(INT64_MAX).outcome, NextIdOutcome::kIssued);
}

TEST_F(GeneratorTest, FloorWithClockBehindIt) {
  const int64_t floor = kStart + 3'600'000;  // the clock is an hour behind the floor
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  EXPECT_EQ(state_.reserved_until_ms.load(), floor);

  // Only the floor is reserved: the first call asks for a millisecond past it.
  NextIdResult r = Next(int64_t{2} * 3'600'000);
  ASSERT_EQ(r.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_GT(r.candidate_ms, floor);

  state_.reserved_until_ms.store(floor + 10'000);
  r = Next(int64_t{2} * 3'600'000);
  ASSERT_EQ(r.outcome, NextIdOutcome::kIssued);
  EXPECT_GT(Decode(r.id).timestamp_ms, floor);
  EXPECT_EQ(Decode(r.id).timestamp_ms, floor + 1);
  EXPECT_EQ(Decode(r.id).sequence, 0);
  EXPECT_EQ(r.lead_ms, floor + 1 - kStart);
  EXPECT_EQ(r.condition, ClockCondition::kBorrowing);
  EXPECT_TRUE(r.condition_changed);
  int64_t any_id_at_floor = -1;
  ASSERT_TRUE(EncodeId(floor, kMaxNodeId, kMaxSequence, &any_id_at_floor).ok());
  EXPECT_GT(r.id, any_id_at_floor);

  // With too small a drift limit the restart fails closed instead.
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  state_.reserved_until_ms.store(floor + 10'000);
  r = Next(kDrift);
  EXPECT_EQ(r.outcome, NextIdOutcome::kClockTooFarBehind);
}

TEST_F(GeneratorTest, FloorWithClockAheadOfIt) {
  const int64_t floor = kStart - 5000;
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  state_.reserved_until_ms.store(kStart + 10'000);
  const int64_t id = ExpectIssued(kStart, 0);
  EXPECT_GT(Decode(id).timestamp_ms, floor);
}

TEST_F(GeneratorTest, FloorEqualToTheClock) {
  const int64_t floor = kStart;
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  state_.reserved_until_ms.store(kStart + 10'000);
  // The floor's millisecond counts as used up: wait for the next.
  EXPECT_EQ(Next().outcome, NextIdOutcome::kSequenceExhausted);
  clock_.Advance(1);
  const int64_t id = ExpectIssued(floor + 1, 0);
  EXPECT_GT(Decode(id).timestamp_ms, floor);
}

TEST_F(GeneratorTest, ConditionChangeIsReportedByExactlyOneThread) {
  ExpectIssued(kStart, 0);
  clock_.Set(kStart - 50);  // every call from now on borrows
  constexpr int kThreads = 4;
  // Two borrowed milliseconds' worth at a frozen clock (a third would wait
  // for the clock to tick).
  constexpr int kPerThread = 1000;
  std::atomic<int> changed{0};
  std::atomic<int> not_issued{0};
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const NextIdResult r = NextId(&state_, &clock_, 1'000'000);
        if (r.outcome != NextIdOutcome::kIssued) {
          not_issued.fetch_add(1);
          continue;
        }
        if (r.condition_changed) changed.fetch_add(1);
        ids[t].push_back(r.id);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(not_issued.load(), 0);
  EXPECT_EQ(changed.load(), 1);
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  std::vector<int64_t> all;
  for (const auto& v : ids) {
    for (size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]);
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

// PlanNext is pure: a table of (last, now, reserved, drift) -> plan.
TEST(PlanNextTest, Table) {
  struct Case {
    const char* name;
    uint64_t last;
    int64_t now;
    int64_t reserved;
    int64_t drift;
    NextIdOutcome outcome;
    int64_t candidate;
    int32_t seq;  // of next_packed, when issued
    int64_t lead;
  };
  const int64_t t = kStart;
  const int64_t R = t + 1000;
  const Case cases[] = {
      {"new ms", PackLastIssued(t - 1, 7), t, R, 10, NextIdOutcome::kIssued, t, 0, 0},
      {"far newer ms", PackLastIssued(t - 900, 4095), t, R, 10, NextIdOutcome::kIssued, t, 0, 0},
      {"same ms", PackLastIssued(t, 7), t, R, 10, NextIdOutcome::kIssued, t, 8, 0},
      {"same ms last seq", PackLastIssued(t, 4094), t, R, 10, NextIdOutcome::kIssued, t, 4095, 0},
      {"same ms full", PackLastIssued(t, 4095), t, R, 10, NextIdOutcome::kSequenceExhausted, t + 1,
       0, 0},
      {"behind", PackLastIssued(t, 7), t - 4, R, 10, NextIdOutcome::kIssued, t, 8, 4},
      {"behind full", PackLastIssued(t, 4095), t - 4, R, 10, NextIdOutcome::kIssued, t + 1, 0, 5},
      {"behind at limit", PackLastIssued(t, 1), t - 10, R, 10, NextIdOutcome::kIssued, t, 2, 10},
      {"behind past limit", PackLastIssued(t, 1), t - 11, R, 10, NextIdOutcome::kClockTooFarBehind,
       t, 0, 11},
      {"behind full past limit", PackLastIssued(t, 4095), t - 10, R, 10,
       NextIdOutcome::kClockTooFarBehind, t + 1, 0, 11},
      {"at reservation", PackLastIssued(R - 1, 4095), R, R, 10, NextIdOutcome::kIssued, R, 0, 0},
      {"past reservation", PackLastIssued(R, 3), R + 1, R, 10, NextIdOutcome::kNeedsReservation,
       R + 1, 0, 0},
      {"borrow past reservation", PackLastIssued(R, 4095), R - 1, R, 10,
       NextIdOutcome::kNeedsReservation, R + 1, 0, 2},
      {"no reservation", 0, t, -1, 10, NextIdOutcome::kNeedsReservation, t, 0, 0},
      {"past layout", PackLastIssued(t, 0), kMaxTimestampMs + 1, kMaxTimestampMs, 10,
       NextIdOutcome::kTimeRangeExhausted, kMaxTimestampMs + 1, 0, 0},
      {"borrow past layout", PackLastIssued(kMaxTimestampMs, 4095), kMaxTimestampMs - 1,
       kMaxTimestampMs, 10, NextIdOutcome::kTimeRangeExhausted, kMaxTimestampMs + 1, 0, 2},
      {"last ms", PackLastIssued(kMaxTimestampMs - 1, 4095), kMaxTimestampMs, kMaxTimestampMs, 10,
       NextIdOutcome::kIssued, kMaxTimestampMs, 0, 0},
      {"epoch", 0, 0, R, 10, NextIdOutcome::kIssued, 0, 1, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Plan p = PlanNext(c.last, c.now, c.reserved, c.drift);
    EXPECT_EQ(p.outcome, c.outcome);
    EXPECT_EQ(p.candidate_ms, c.candidate);
    EXPECT_EQ(p.lead_ms, c.lead);
    if (c.outcome == NextIdOutcome::kIssued) {
      EXPECT_EQ(p.next_packed, PackLastIssued(c.candidate, c.seq));
      EXPECT_GT(p.next_packed, c.last) << "issued IDs always move forward";
    }
  }
  for (int64_t now : {int64_t{-1}, INT64_MIN}) {
    EXPECT_EQ(PlanNext(PackLastIssued(t, 0), now, R, INT64_MAX).outcome,
              NextIdOutcome::kClockBeforeEpoch);
  }
}

// Whatever the inputs, an issued plan is strictly after last, within the
// reservation and the layout, and its lead is within the drift limit.
TEST(PlanNextTest, InvariantsOverAGrid) {
  const int64_t base = kStart;
  for (int64_t last_ms = base - 3; last_ms <= base + 3; ++last_ms) {
    for (int32_t seq : {0, 1, kMaxSequence - 1, kMaxSequence}) {
      for (int64_t now = base - 6; now <= base + 6; ++now) {
        for (int64_t reserved : {base - 10, base - 1, base, base + 1, base + 4, base + 100}) {
          for (int64_t drift : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{1000}}) {
            const uint64_t last = PackLastIssued(last_ms, seq);
            const Plan p = PlanNext(last, now, reserved, drift);
            if (p.outcome != NextIdOutcome::kIssued) continue;
            ASSERT_GT(p.next_packed, last);
            ASSERT_EQ(LastIssuedMs(p.next_packed), p.candidate_ms);
            ASSERT_LE(p.candidate_ms, reserved);
            ASSERT_LE(p.candidate_ms, kMaxTimestampMs);
            ASSERT_LE(p.lead_ms, drift);
            ASSERT_EQ(p.lead_ms, p.candidate_ms - now);
            ASSERT_GE(p.candidate_ms, now) << "an ID never carries a time before the clock";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace snowflake
