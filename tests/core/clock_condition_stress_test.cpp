// clock_condition_stress_test.cpp: reports of a clock-condition change stay in
// ID order when callers are pre-empted (issue 8, item 7).
//
// Many threads issue IDs while a test thread moves a fake clock back and
// forth, so the condition flips between kBorrowing and kNormal thousands of
// times. A caller pre-empted between issuing its ID and recording the
// condition must not flip the condition back to what an older ID saw: that
// gave a spurious WARNING/LOG pair and an extra borrow_events. The check:
// the changes reported (condition_changed), ordered by the ID that reported
// them, alternate: never two reports of the same condition in a row.
#include "generator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "printers.h"

namespace snowflake {
namespace {

using snowflake_test::FakeClock;

constexpr int32_t kNode = 5;
constexpr int64_t kStart = 1'000'000;
constexpr int64_t kDriftMs = 1'000;
constexpr int kThreads = 4;
constexpr int kClockCycles = 20'000;
// IDs issued in each phase of a cycle before the clock moves on.
constexpr uint64_t kIdsPerPhase = 40;

struct Report {
  int64_t id;
  ClockCondition condition;
};

TEST(ClockConditionStressTest, ReportedChangesAlternateInIdOrder) {
  GeneratorState state;
  InitGeneratorState(&state, kNode, -1, ClockCondition::kNormal);
  state.reserved_until_ms.store(kMaxTimestampMs);
  FakeClock clock(kStart);

  std::vector<std::vector<Report>> reports(kThreads);
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> issued{0};
  // Workers pause at this many IDs until the clock thread moves on, so a
  // starved clock thread does not make the run long.
  std::atomic<uint64_t> phase_limit{kIdsPerPhase};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (!stop.load(std::memory_order_acquire)) {
        if (issued.load(std::memory_order_relaxed) >= phase_limit.load(std::memory_order_relaxed)) {
          std::this_thread::yield();
          continue;
        }
        const NextIdResult r = NextId(&state, &clock, kDriftMs);
        if (r.outcome != NextIdOutcome::kIssued) continue;  // a full millisecond
        ids[t].push_back(r.id);
        if (r.condition_changed) reports[t].push_back({r.id, r.condition});
        issued.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  // The clock: on time (IDs follow it), then 3 ms behind the IDs
  // (borrowing), then on to a new millisecond ahead of them, and so on;
  // each phase lasts until the workers have issued a few IDs in it.
  auto wait_for_ids = [&] {
    const uint64_t target = issued.load(std::memory_order_relaxed) + kIdsPerPhase;
    phase_limit.store(target, std::memory_order_relaxed);
    while (issued.load(std::memory_order_relaxed) < target) std::this_thread::yield();
  };
  go.store(true, std::memory_order_release);
  int64_t t = kStart;
  for (int cycle = 0; cycle < kClockCycles; ++cycle) {
    clock.Set(t);
    wait_for_ids();
    clock.Set(t - 3);
    wait_for_ids();
    t += 5;
  }
  stop.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();

  std::vector<Report> all_reports;
  std::vector<int64_t> all_ids;
  for (int i = 0; i < kThreads; ++i) {
    all_reports.insert(all_reports.end(), reports[i].begin(), reports[i].end());
    all_ids.insert(all_ids.end(), ids[i].begin(), ids[i].end());
  }
  std::sort(all_ids.begin(), all_ids.end());
  ASSERT_TRUE(std::adjacent_find(all_ids.begin(), all_ids.end()) == all_ids.end());
  std::sort(all_reports.begin(), all_reports.end(),
            [](const Report& a, const Report& b) { return a.id < b.id; });
  // The run must have flipped the condition often, or it tested nothing.
  ASSERT_GT(all_reports.size(), static_cast<size_t>(kClockCycles))
      << "the clock never moved the condition";

  int repeated = 0;
  ClockCondition previous = ClockCondition::kNormal;  // the initial condition
  for (const Report& r : all_reports) {
    if (r.condition == previous) ++repeated;
    previous = r.condition;
  }
  EXPECT_EQ(repeated, 0) << repeated << " of " << all_reports.size()
                         << " reported changes repeat the condition before them in ID order: "
                            "a pre-empted caller flipped the condition back";
  uint64_t borrow_reports = 0;
  for (const Report& r : all_reports) borrow_reports += r.condition == ClockCondition::kBorrowing;
  EXPECT_EQ(state.borrow_events.load(), borrow_reports);
  uint64_t warning_reports = 0;
  for (const Report& r : all_reports) warning_reports += r.condition != ClockCondition::kNormal;
  EXPECT_EQ(state.clock_warnings.load(), warning_reports) << "one count per report, not per call";
  std::printf("%zu IDs, %zu reported changes, %llu borrow events, %d repeats\n", all_ids.size(),
              all_reports.size(), static_cast<unsigned long long>(state.borrow_events.load()),
              repeated);
}

// The interleaving the stress test finds, step by step: caller A issues a
// borrowed ID and is pre-empted before it records the condition; B borrows
// after it and reports the event; the clock catches up and C reports the
// return to normal; then A records its (older) decision.
TEST(ClockConditionTest, AStaleDecisionChangesNothing) {
  GeneratorState state;
  InitGeneratorState(&state, kNode, -1, ClockCondition::kNormal);
  const uint64_t a = ClockDecisionKey(PackLastIssued(kStart, 1), false);
  const uint64_t b = ClockDecisionKey(PackLastIssued(kStart, 2), false);
  const uint64_t c = ClockDecisionKey(PackLastIssued(kStart + 1, 0), false);

  EXPECT_TRUE(NoteClockCondition(&state, b, ClockCondition::kBorrowing));
  EXPECT_TRUE(NoteClockCondition(&state, c, ClockCondition::kNormal));
  EXPECT_FALSE(NoteClockCondition(&state, a, ClockCondition::kBorrowing));
  EXPECT_EQ(ClockConditionOf(state.clock_condition.load()), ClockCondition::kNormal);
  EXPECT_EQ(state.borrow_events.load(), 1u);

  // A refusal decided after the ID it saw is newer than that ID ...
  const uint64_t refused = ClockDecisionKey(PackLastIssued(kStart + 1, 0), true);
  EXPECT_TRUE(NoteClockCondition(&state, refused, ClockCondition::kTooFarBehind));
  // ... and older than the next ID issued.
  EXPECT_FALSE(NoteClockCondition(&state, c, ClockCondition::kNormal));
  EXPECT_TRUE(NoteClockCondition(&state, ClockDecisionKey(PackLastIssued(kStart + 1, 1), false),
                                 ClockCondition::kBorrowing));
  EXPECT_EQ(state.borrow_events.load(), 2u);
  // The same condition again is no change, however new.
  EXPECT_FALSE(NoteClockCondition(&state, ClockDecisionKey(PackLastIssued(kStart + 9, 0), false),
                                  ClockCondition::kBorrowing));
}

}  // namespace
}  // namespace snowflake
