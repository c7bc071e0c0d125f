// clock.h: where the generator reads the time.
//
// Owns: the Clock interface and the system clock behind it.
// Threading: SystemClock is stateless and safe from any thread; a test clock
// decides its own rules.
//
// The generator asks for "milliseconds since the layout epoch". Keeping the
// clock behind an interface lets the unit tests step time forwards and
// backwards at will; in PostgreSQL the real clock is read, and the TAP tests
// shift it for the whole server with libfaketime.
#ifndef SNOWFLAKE_CORE_CLOCK_H
#define SNOWFLAKE_CORE_CLOCK_H

#include <cstdint>

namespace snowflake {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since kEpochUnixMs; negative before 2024-01-01.
  virtual int64_t NowMs() = 0;
};

// CLOCK_REALTIME, the wall clock: IDs carry wall-clock time (G5). Reading it
// is a vDSO call, not a real system call, on Linux.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() override;
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_CLOCK_H
