// clock_test.cpp: SystemClock reads the wall clock in layout milliseconds.
#include "clock.h"

#include <chrono>
#include <cstdint>

#include <gtest/gtest.h>

#include "layout.h"

namespace snowflake {
namespace {

int64_t ChronoLayoutMs() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() - kEpochUnixMs;
}

TEST(SystemClockTest, AgreesWithTheStandardWallClock) {
  SystemClock clock;
  const int64_t before = ChronoLayoutMs();
  const int64_t now = clock.NowMs();
  const int64_t after = ChronoLayoutMs();
  // Both read CLOCK_REALTIME; allow for a scheduling delay between the reads.
  EXPECT_GE(now, before - 1);
  EXPECT_LE(now, after + 1);
  EXPECT_LE(after - before, 1000) << "the test itself was descheduled too long to judge";
}

TEST(SystemClockTest, IsAfterTheEpochAndInsideTheLayout) {
  SystemClock clock;
  const int64_t now = clock.NowMs();
  EXPECT_GT(now, 0) << "this machine's clock reads before 2024-01-01";
  EXPECT_LT(now, kMaxTimestampMs);
}

TEST(SystemClockTest, MovesForwardInMilliseconds) {
  SystemClock clock;
  const int64_t start = clock.NowMs();
  int64_t now = start;
  // Spin until the clock moves on (well under a second on any machine).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (now == start && std::chrono::steady_clock::now() < give_up) now = clock.NowMs();
  EXPECT_GT(now, start);
  EXPECT_LE(now - start, 1000) << "one step of the clock should be about a millisecond";
}

TEST(SystemClockTest, UsableThroughTheInterface) {
  SystemClock system;
  Clock* clock = &system;
  const int64_t a = clock->NowMs();
  const int64_t b = ChronoLayoutMs();
  EXPECT_LE(a, b + 1);
  EXPECT_GE(a, b - 1000);
}

}  // namespace
}  // namespace snowflake
