// clock.cpp: the wall clock in layout milliseconds.
#include "clock.h"

#include <ctime>

#include "layout.h"

namespace snowflake {

int64_t SystemClock::NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000 - kEpochUnixMs;
}

}  // namespace snowflake
