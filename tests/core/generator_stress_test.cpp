// generator_stress_test.cpp: many threads on one GeneratorState with the real
// clock; no duplicate, strictly increasing per thread (G1, G2 within a run).
// The second test mixes single IDs (NextId) with runs (NextIdRun), as
// snowflake_next_id() and snowflake_next_ids() do in concurrent backends.
#include "generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "printers.h"

namespace snowflake {
namespace {

constexpr int32_t kNode = 42;
constexpr int64_t kIdsPerThread = 1'000'000;
constexpr int64_t kMaxDriftMs = 10'000;

struct ThreadResult {
  std::vector<int64_t> ids;
  int bad_outcome = -1;  // -1: none;  // the first outcome other than kIssued / kSequenceExhausted
  uint64_t exhausted_spins = 0;
};

class GeneratorStressTest : public ::testing::TestWithParam<int> {};

TEST_P(GeneratorStressTest, ThreadsNeverCollideAndEachSeesIncreasingIds) {
  const int threads = GetParam();
  GeneratorState state;
  InitGeneratorState(&state, kNode, -1, ClockCondition::kNormal);
  state.reserved_until_ms.store(kMaxTimestampMs);
  SystemClock clock;

  std::vector<ThreadResult> results(threads);
  for (ThreadResult& r : results) r.ids.reserve(kIdsPerThread);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};

  const int64_t clock_before = clock.NowMs();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ThreadResult& mine = results[t];
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (static_cast<int64_t>(mine.ids.size()) < kIdsPerThread) {
        const NextIdResult r = NextId(&state, &clock, kMaxDriftMs);
        if (r.outcome == NextIdOutcome::kIssued) {
          mine.ids.push_back(r.id);
        } else if (r.outcome == NextIdOutcome::kSequenceExhausted) {
          ++mine.exhausted_spins;  // spin until the clock moves on
        } else {
          mine.bad_outcome = static_cast<int>(r.outcome);
          return;
        }
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int64_t clock_after = clock.NowMs();

  uint64_t spins = 0;
  std::vector<int64_t> all;
  all.reserve(static_cast<size_t>(threads) * kIdsPerThread);
  for (int t = 0; t < threads; ++t) {
    const ThreadResult& r = results[t];
    ASSERT_EQ(r.bad_outcome, -1) << "thread " << t << " got "
                                 << Name(static_cast<NextIdOutcome>(r.bad_outcome));
    ASSERT_EQ(static_cast<int64_t>(r.ids.size()), kIdsPerThread);
    for (size_t i = 1; i < r.ids.size(); ++i) {
      ASSERT_LT(r.ids[i - 1], r.ids[i]) << "thread " << t << " index " << i;
    }
    spins += r.exhausted_spins;
    all.insert(all.end(), r.ids.begin(), r.ids.end());
  }

  std::sort(all.begin(), all.end());
  const auto dup = std::adjacent_find(all.begin(), all.end());
  ASSERT_TRUE(dup == all.end()) << "duplicate ID " << *dup;
  ASSERT_EQ(all.size(), static_cast<size_t>(threads) * kIdsPerThread);

  // Every ID is well formed, carries this node, and a time from this run
  // (allowing for the drift bound, should the wall clock step meanwhile).
  DecodedId first{}, last{};
  ASSERT_TRUE(DecodeId(all.front(), &first).ok());
  ASSERT_TRUE(DecodeId(all.back(), &last).ok());
  EXPECT_GE(first.timestamp_ms, clock_before - kMaxDriftMs);
  EXPECT_LE(last.timestamp_ms, clock_after + kMaxDriftMs);
  for (size_t i = 0; i < all.size(); i += 4099) {
    DecodedId d{};
    ASSERT_TRUE(DecodeId(all[i], &d).ok());
    ASSERT_EQ(d.node_id, kNode);
  }
  // The layout caps a node at 4096 IDs per millisecond.
  EXPECT_GE(last.timestamp_ms - first.timestamp_ms + 1,
            static_cast<int64_t>(all.size() / kIdsPerMs));
  EXPECT_EQ(LastIssuedMs(state.last_issued.load()), last.timestamp_ms);

  RecordProperty("ids", static_cast<int>(all.size()));
  RecordProperty("seconds_x1000", static_cast<int>(seconds * 1000));
  std::printf(
      "%d threads: %zu IDs in %.2f s (%.0f IDs/s), %llu exhausted spins, %llu borrow "
      "events\n",
      threads, all.size(), seconds, static_cast<double>(all.size()) / seconds,
      static_cast<unsigned long long>(spins),
      static_cast<unsigned long long>(state.borrow_events.load()));
}

// Half the threads take runs of 1..5000 IDs, half take single IDs: no
// duplicate, every thread's IDs strictly increase, and a run is consecutive.
TEST(GeneratorRunStressTest, RunsAndSingleIdsNeverCollide) {
  constexpr int kThreads = 4;
  constexpr int64_t kIds = 1'000'000;
  GeneratorState state;
  InitGeneratorState(&state, kNode, -1, ClockCondition::kNormal);
  state.reserved_until_ms.store(kMaxTimestampMs);
  SystemClock clock;

  std::vector<ThreadResult> results(kThreads);
  std::vector<uint64_t> runs(kThreads, 0);
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      ThreadResult& mine = results[t];
      mine.ids.reserve(kIds);
      uint32_t rng = 2654435761u * static_cast<uint32_t>(t + 1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (static_cast<int64_t>(mine.ids.size()) < kIds) {
        if (t % 2 == 0) {
          rng = rng * 1664525u + 1013904223u;
          const int32_t want = static_cast<int32_t>(1 + (rng >> 8) % 5000);
          const NextIdRunResult r = NextIdRun(&state, &clock, kMaxDriftMs, want);
          if (r.first.outcome == NextIdOutcome::kIssued) {
            ++runs[t];
            if (r.count < 1 || r.count > want) {
              mine.bad_outcome = 100;
              return;
            }
            for (int32_t i = 0; i < r.count; ++i) mine.ids.push_back(r.first.id + i);
          } else if (r.first.outcome == NextIdOutcome::kSequenceExhausted) {
            ++mine.exhausted_spins;
          } else {
            mine.bad_outcome = static_cast<int>(r.first.outcome);
            return;
          }
        } else {
          const NextIdResult r = NextId(&state, &clock, kMaxDriftMs);
          if (r.outcome == NextIdOutcome::kIssued) {
            mine.ids.push_back(r.id);
          } else if (r.outcome == NextIdOutcome::kSequenceExhausted) {
            ++mine.exhausted_spins;
          } else {
            mine.bad_outcome = static_cast<int>(r.outcome);
            return;
          }
        }
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();

  std::vector<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    const ThreadResult& r = results[t];
    ASSERT_EQ(r.bad_outcome, -1) << "thread " << t;
    for (size_t i = 1; i < r.ids.size(); ++i) {
      ASSERT_LT(r.ids[i - 1], r.ids[i]) << "thread " << t << " index " << i;
    }
    all.insert(all.end(), r.ids.begin(), r.ids.end());
  }
  std::sort(all.begin(), all.end());
  const auto dup = std::adjacent_find(all.begin(), all.end());
  ASSERT_TRUE(dup == all.end()) << "duplicate ID " << *dup;
  for (size_t i = 0; i < all.size(); i += 4099) {
    DecodedId d{};
    ASSERT_TRUE(DecodeId(all[i], &d).ok());
    ASSERT_EQ(d.node_id, kNode);
  }
  // Runs took far fewer compare-and-swaps than IDs.
  EXPECT_GT(runs[0], 0u);
  EXPECT_LT(runs[0], static_cast<uint64_t>(kIds) / 100);
  std::printf("runs and single IDs: %zu IDs; thread 0 took %llu runs for %lld IDs\n", all.size(),
              static_cast<unsigned long long>(runs[0]), static_cast<long long>(kIds));
}

INSTANTIATE_TEST_SUITE_P(Threads, GeneratorStressTest, ::testing::Values(4, 8),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Threads";
                         });

}  // namespace
}  // namespace snowflake
