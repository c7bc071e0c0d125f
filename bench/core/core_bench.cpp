// core_bench.cpp: Google Benchmark micro-benchmarks of the generator step.
//
// Owns: the benchmarks that bench/run.sh reports as "core". Each one issues
// IDs with snowflake::NextId() on one GeneratorState shared by all threads of
// the benchmark, as PostgreSQL shares it between backends, with the
// reservation set to the end of the layout (no renewals: they are the
// background worker's job in the server) and a huge drift limit.
//
//   BM_NextId_StepFakeClock  the raw step: a per-thread fake clock that moves
//                            one millisecond every 4096 reads, so one thread
//                            never waits. With two threads the CAS line
//                            bounces between cores and the IDs run ahead of
//                            each thread's clock (borrowing): still no wait.
//                            threads:2 is this thread plus one helper thread
//                            contending on the same state (see IssueLoop).
//   BM_NextId_SystemClock    the real thing: CLOCK_REALTIME, and a call that
//                            gets kSequenceExhausted spins until the next
//                            millisecond, as snowflake_next_id() does. At the
//                            cap this is 1e9 / 4,096,000 = 244.14 ns per ID.
//   BM_SystemClockNowMs      one clock read, the floor under every call.
//   BM_PlanNext              the pure decision, without atomics or clock.
//
// Every benchmark counts one iteration per issued ID; ns per ID is
// 1e9 / items_per_second (for two threads: the aggregate of both).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include "clock.h"
#include "generator.h"
#include "layout.h"

namespace {

using snowflake::NextIdOutcome;

// Far beyond any lead the benchmarks build up: the drift check never fires.
constexpr int64_t kHugeDriftMs = int64_t{1} << 40;

// 2026-01-01 in layout milliseconds: a realistic timestamp.
constexpr int64_t kFakeStartMs = 63158400000LL;

// Moves one millisecond every kIdsPerMs reads. Not shared between threads.
class StepClock final : public snowflake::Clock {
 public:
  int64_t NowMs() override { return kFakeStartMs + static_cast<int64_t>(reads_++ >> 12); }

 private:
  uint64_t reads_ = 0;
};
static_assert(snowflake::kIdsPerMs == 4096, "StepClock shifts by the sequence bits");

snowflake::GeneratorState g_state;

void ResetState() {
  snowflake::InitGeneratorState(&g_state, /*node_id=*/1, /*floor_ms=*/-1,
                                snowflake::ClockCondition::kNormal);
  g_state.reserved_until_ms.store(snowflake::kMaxTimestampMs, std::memory_order_release);
}

// Issues one ID per iteration on the calling thread, spinning on
// kSequenceExhausted, while threads-1 helper threads issue IDs on the same
// state for as long as the timed loop runs. Items are the IDs of all threads,
// and the time is the wall time of the loop, so items_per_second is the
// aggregate rate. (Google Benchmark's ->Threads(n) gives every thread the same
// number of iterations and averages their times: when one thread wins the CAS
// more often it finishes first, the other then runs alone, and the "aggregate"
// comes out above the 4,096,000/s cap. Hence helpers, not ->Threads(2).)
template <class ClockType>
void IssueLoop(benchmark::State& state) {
  const int64_t helpers = state.range(0) - 1;
  ResetState();
  enum : int { kWarming, kMeasuring, kStopping };
  std::atomic<int> phase{kWarming};
  std::atomic<uint64_t> helper_ids{0};
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < helpers; ++i) {
    threads.emplace_back([&] {
      ClockType clock;
      uint64_t issued = 0;
      int seen;
      while ((seen = phase.load(std::memory_order_relaxed)) != kStopping) {
        const snowflake::NextIdResult r = snowflake::NextId(&g_state, &clock, kHugeDriftMs);
        if (r.outcome == NextIdOutcome::kIssued && seen == kMeasuring) ++issued;
      }
      helper_ids.fetch_add(issued, std::memory_order_relaxed);
    });
  }

  ClockType clock;
  uint64_t spins = 0;
  phase.store(kMeasuring, std::memory_order_relaxed);
  for (auto _ : state) {
    for (;;) {
      const snowflake::NextIdResult r = snowflake::NextId(&g_state, &clock, kHugeDriftMs);
      if (r.outcome == NextIdOutcome::kIssued) {
        benchmark::DoNotOptimize(r.id);
        break;
      }
      if (r.outcome != NextIdOutcome::kSequenceExhausted) {
        state.SkipWithError("unexpected NextId outcome");
        break;
      }
      ++spins;
    }
  }
  phase.store(kStopping, std::memory_order_relaxed);
  for (std::thread& t : threads) t.join();

  const uint64_t total = state.iterations() + helper_ids.load(std::memory_order_relaxed);
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["spins_per_id"] =
      benchmark::Counter(static_cast<double>(spins), benchmark::Counter::kAvgIterations);
  // How far the last ID runs ahead of the wall clock (borrowing): 0 when the
  // generator waits for the clock as it must.
  if constexpr (std::is_same_v<ClockType, snowflake::SystemClock>) {
    const int64_t lead = snowflake::LastIssuedMs(g_state.last_issued.load()) - clock.NowMs();
    state.counters["lead_ms"] = static_cast<double>(lead > 0 ? lead : 0);
  }
}

void BM_NextId_StepFakeClock(benchmark::State& state) { IssueLoop<StepClock>(state); }
void BM_NextId_SystemClock(benchmark::State& state) {
  IssueLoop<snowflake::SystemClock>(state);
}

void BM_SystemClockNowMs(benchmark::State& state) {
  snowflake::SystemClock clock;
  for (auto _ : state) benchmark::DoNotOptimize(clock.NowMs());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_PlanNext(benchmark::State& state) {
  uint64_t last = snowflake::PackLastIssued(kFakeStartMs, 0);
  int64_t now = kFakeStartMs;
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(last);
    const snowflake::Plan plan =
        snowflake::PlanNext(last, now, snowflake::kMaxTimestampMs, kHugeDriftMs);
    last = plan.next_packed;
    now = kFakeStartMs + static_cast<int64_t>(++n >> 12);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

double MinOf(const std::vector<double>& v) {
  double m = v.empty() ? 0 : v[0];
  for (double x : v) m = x < m ? x : m;
  return m;
}
double MaxOf(const std::vector<double>& v) {
  double m = v.empty() ? 0 : v[0];
  for (double x : v) m = x > m ? x : m;
  return m;
}

// Real time for every benchmark (with two threads: the wall time of the loop).
#define SNOWFLAKE_BENCH(fn)                                                   \
  BENCHMARK(fn)->UseRealTime()->ComputeStatistics("min", MinOf)->ComputeStatistics( \
      "max", MaxOf)

SNOWFLAKE_BENCH(BM_NextId_StepFakeClock)->ArgName("threads")->Arg(1)->Arg(2);
SNOWFLAKE_BENCH(BM_NextId_SystemClock)->ArgName("threads")->Arg(1)->Arg(2);
SNOWFLAKE_BENCH(BM_SystemClockNowMs);
SNOWFLAKE_BENCH(BM_PlanNext);

}  // namespace

BENCHMARK_MAIN();
