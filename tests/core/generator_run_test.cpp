// generator_run_test.cpp: runs of IDs (NextIdRun) against a fake clock, and
// what snowflake_advance_past() relies on: IDs after RaiseFloor(). Each rule of NextId() is checked
// for runs too, mostly by comparing a run with the same number of NextId()
// calls on a copy of the same state.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "generator.h"
#include "printers.h"

namespace snowflake {
namespace {

using snowflake_test::FakeClock;

constexpr int32_t kNode = 99;
constexpr int64_t kStart = 2'000'000;
constexpr int64_t kDrift = 100;

DecodedId Decode(int64_t id) {
  DecodedId d{-1, -1, -1};
  EXPECT_TRUE(DecodeId(id, &d).ok()) << id;
  return d;
}

class GeneratorRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitGeneratorState(&state_, kNode, -1, ClockCondition::kNormal);
    state_.reserved_until_ms.store(kMaxTimestampMs);
    clock_.Set(kStart);
  }

  NextIdRunResult Run(int32_t n, int64_t drift = kDrift) {
    return NextIdRun(&state_, &clock_, drift, n);
  }

  GeneratorState state_;
  FakeClock clock_;
};

TEST_F(GeneratorRunTest, ARunIsConsecutiveIdsOfOneMillisecond) {
  const NextIdRunResult r = Run(10);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.count, 10);
  const DecodedId first = Decode(r.first.id);
  EXPECT_EQ(first.timestamp_ms, kStart);
  EXPECT_EQ(first.node_id, kNode);
  EXPECT_EQ(first.sequence, 0);
  const DecodedId last = Decode(r.first.id + r.count - 1);
  EXPECT_EQ(last.timestamp_ms, kStart);
  EXPECT_EQ(last.node_id, kNode);
  EXPECT_EQ(last.sequence, 9);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart, 9));

  // The next ID, by either function, follows the run.
  const NextIdResult one = NextId(&state_, &clock_, kDrift);
  ASSERT_EQ(one.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(one.id, r.first.id + 10);
  const NextIdRunResult again = Run(3);
  ASSERT_EQ(again.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(again.first.id, one.id + 1);
}

TEST_F(GeneratorRunTest, ARunStopsAtTheEndOfItsMillisecond) {
  ASSERT_EQ(Run(4000).count, 4000);
  NextIdRunResult r = Run(1000);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.count, kIdsPerMs - 4000) << "only what is left of the millisecond";
  EXPECT_EQ(Decode(r.first.id + r.count - 1).sequence, kMaxSequence);

  // The millisecond is full and the clock has not moved: wait, as NextId() does.
  const uint64_t full = state_.last_issued.load();
  r = Run(1000);
  EXPECT_EQ(r.first.outcome, NextIdOutcome::kSequenceExhausted);
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(r.first.candidate_ms, kStart + 1);
  EXPECT_EQ(state_.last_issued.load(), full) << "nothing may be consumed";

  clock_.Advance(1);
  r = Run(kIdsPerMs + 5);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.count, kIdsPerMs) << "a run never spans two milliseconds";
  EXPECT_EQ(Decode(r.first.id).timestamp_ms, kStart + 1);
}

TEST_F(GeneratorRunTest, ACountBelowOneTakesOneId) {
  for (int32_t n : {0, -1, INT32_MIN}) {
    const NextIdRunResult r = Run(n);
    ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued) << n;
    EXPECT_EQ(r.count, 1) << n;
  }
}

// The same situation, once with k calls of NextId() and once with one run of
// k: the same IDs and the same state afterwards, whatever the situation.
TEST_F(GeneratorRunTest, ARunEqualsTheSameNumberOfSingleCalls) {
  struct Case {
    const char* name;
    uint64_t last;       // last_issued before
    int64_t now;         // the clock
    int64_t reserved;    // reserved_until
    int64_t step_clock;  // borrow_step_clock_ms
    int32_t k;
  };
  const Case cases[] = {
      {"new millisecond", PackLastIssued(kStart - 5, 7), kStart, kMaxTimestampMs, -1, 50},
      {"same millisecond", PackLastIssued(kStart, 7), kStart, kMaxTimestampMs, -1, 50},
      {"borrowing, clock behind", PackLastIssued(kStart, 7), kStart - 20, kMaxTimestampMs, -1, 50},
      {"borrowing, full ms, clock moved", PackLastIssued(kStart, kMaxSequence), kStart - 20,
       kMaxTimestampMs, kStart - 21, 50},
      {"end of the layout", PackLastIssued(kMaxTimestampMs, 4000), kMaxTimestampMs, kMaxTimestampMs,
       -1, 95},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    GeneratorState singles;
    InitGeneratorState(&singles, kNode, -1, ClockCondition::kNormal);
    singles.last_issued.store(c.last);
    singles.reserved_until_ms.store(c.reserved);
    singles.borrow_step_clock_ms.store(c.step_clock);
    GeneratorState runs;
    InitGeneratorState(&runs, kNode, -1, ClockCondition::kNormal);
    runs.last_issued.store(c.last);
    runs.reserved_until_ms.store(c.reserved);
    runs.borrow_step_clock_ms.store(c.step_clock);
    clock_.Set(c.now);

    std::vector<int64_t> expected;
    for (int32_t i = 0; i < c.k; ++i) {
      const NextIdResult r = NextId(&singles, &clock_, kDrift);
      ASSERT_EQ(r.outcome, NextIdOutcome::kIssued) << i;
      expected.push_back(r.id);
    }
    const NextIdRunResult run = NextIdRun(&runs, &clock_, kDrift, c.k);
    ASSERT_EQ(run.first.outcome, NextIdOutcome::kIssued);
    ASSERT_EQ(run.count, c.k);
    for (int32_t i = 0; i < c.k; ++i) EXPECT_EQ(run.first.id + i, expected[i]) << i;
    EXPECT_EQ(runs.last_issued.load(), singles.last_issued.load());
    EXPECT_EQ(runs.borrow_step_clock_ms.load(), singles.borrow_step_clock_ms.load());
    EXPECT_EQ(runs.clock_condition.load(), singles.clock_condition.load());
    EXPECT_EQ(runs.borrow_events.load(), singles.borrow_events.load());
  }
}

TEST_F(GeneratorRunTest, BorrowingRunsArePacedByTheClock) {
  ASSERT_EQ(Run(kIdsPerMs).count, kIdsPerMs);
  clock_.Set(kStart - 20);
  NextIdRunResult r = Run(kIdsPerMs);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.first.id).timestamp_ms, kStart + 1);
  EXPECT_EQ(r.count, kIdsPerMs);
  EXPECT_EQ(r.first.lead_ms, 21);
  EXPECT_TRUE(r.first.condition_changed);
  EXPECT_EQ(r.first.condition, ClockCondition::kBorrowing);
  EXPECT_EQ(state_.borrow_events.load(), 1u);
  // The clock has not ticked: demand does not grow the lead.
  r = Run(kIdsPerMs);
  EXPECT_EQ(r.first.outcome, NextIdOutcome::kSequenceExhausted);
  clock_.Advance(1);
  r = Run(kIdsPerMs);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(r.first.id).timestamp_ms, kStart + 2);
  EXPECT_EQ(r.first.lead_ms, 21);
  EXPECT_FALSE(r.first.condition_changed);
}

TEST_F(GeneratorRunTest, ARunRespectsTheDriftBound) {
  ASSERT_EQ(Run(1).count, 1);
  const uint64_t before = state_.last_issued.load();
  clock_.Set(kStart - kDrift - 1);
  const NextIdRunResult r = Run(100);
  EXPECT_EQ(r.first.outcome, NextIdOutcome::kClockTooFarBehind);
  EXPECT_EQ(r.first.lead_ms, kDrift + 1);
  EXPECT_EQ(r.count, 0);
  EXPECT_TRUE(r.first.condition_changed);
  EXPECT_EQ(state_.clock_behind_errors.load(), 1u);
  EXPECT_EQ(state_.last_issued.load(), before);
}

TEST_F(GeneratorRunTest, ARunNeedsTheReservation) {
  state_.reserved_until_ms.store(kStart - 1);
  const NextIdRunResult r = Run(100);
  EXPECT_EQ(r.first.outcome, NextIdOutcome::kNeedsReservation);
  EXPECT_EQ(r.first.candidate_ms, kStart);
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(state_.last_issued.load(), 0u);
  state_.reserved_until_ms.store(kStart);
  EXPECT_EQ(Run(100).count, 100);
}

TEST_F(GeneratorRunTest, ARunEndsWithTheLayout) {
  InitGeneratorState(&state_, kNode, kMaxTimestampMs - 1, ClockCondition::kNormal);
  state_.reserved_until_ms.store(kMaxTimestampMs);
  clock_.Set(kMaxTimestampMs);
  NextIdRunResult r = Run(kIdsPerMs);
  ASSERT_EQ(r.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(r.count, kIdsPerMs);
  EXPECT_EQ(r.first.id + r.count - 1, ComposeId(kMaxTimestampMs, kNode, kMaxSequence));
  r = Run(1);
  EXPECT_EQ(r.first.outcome, NextIdOutcome::kTimeRangeExhausted);
  clock_.Set(kMaxTimestampMs + 10);
  EXPECT_EQ(Run(5).first.outcome, NextIdOutcome::kTimeRangeExhausted);
}

TEST_F(GeneratorRunTest, ARunBeforeTheEpochFails) {
  clock_.Set(-1);
  EXPECT_EQ(Run(5).first.outcome, NextIdOutcome::kClockBeforeEpoch);
}

// snowflake_advance_past(): after the renewal, RaiseFloor(floor, floor).
TEST_F(GeneratorRunTest, AfterRaisingTheFloorIdsArePastIt) {
  ASSERT_EQ(Run(3).count, 3);
  // Behind what was issued: nothing changes.
  RaiseFloor(&state_, kStart - 1, kStart - 1);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart, 2));
  // The same millisecond: its remaining sequence numbers are given up.
  RaiseFloor(&state_, kStart, kStart);
  EXPECT_EQ(state_.last_issued.load(), PackLastIssued(kStart, kMaxSequence));

  // Ahead of the clock, within the drift bound: the next ID (one or a run)
  // is past every ID of the floor's millisecond, of any node, and borrowed.
  const int64_t floor_ms = kStart + 50;
  RaiseFloor(&state_, floor_ms, floor_ms);
  const NextIdRunResult next = Run(10);
  ASSERT_EQ(next.first.outcome, NextIdOutcome::kIssued);
  EXPECT_EQ(Decode(next.first.id).timestamp_ms, floor_ms + 1);
  EXPECT_GT(next.first.id, ComposeId(floor_ms, kMaxNodeId, kMaxSequence));
  EXPECT_EQ(next.first.lead_ms, 51);
  EXPECT_EQ(next.first.condition, ClockCondition::kBorrowing);
}

}  // namespace
}  // namespace snowflake
